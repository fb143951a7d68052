package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/faxgate/faxgate/internal/fax"
)

// Server-side encryption modes S3Config.SSE accepts.
const (
	SSENone = ""
	SSES3   = "AES256"  // keys managed by the storage service (SSE-S3)
	SSEKMS  = "aws:kms" // keys held in a key management service (SSE-KMS)
)

// S3Config says where an S3 store keeps documents. Every instance of a
// faxgate cluster pointed at the same bucket and prefix sees the same
// documents.
type S3Config struct {
	// Endpoint is host or host:port, without scheme or path, e.g.
	// "s3.amazonaws.com" or "127.0.0.1:7070" (FAXGATE_S3_ENDPOINT; required).
	Endpoint string
	// Bucket holds the documents (FAXGATE_S3_BUCKET; required).
	Bucket string
	// Prefix is prepended, with a "/", to every key so that several
	// deployments can share one bucket (FAXGATE_S3_PREFIX; default none).
	Prefix string
	// Region signs requests; "" lets the client discover it
	// (FAXGATE_S3_REGION; default "").
	Region string
	// AccessKey and SecretKey are the static credentials
	// (FAXGATE_S3_ACCESS_KEY, FAXGATE_S3_SECRET_KEY; both required).
	AccessKey string
	SecretKey string
	// UseTLS selects https (FAXGATE_S3_TLS; the URL form defaults it to true).
	UseTLS bool
	// SSE asks the service to encrypt objects at rest: "" (none),
	// "AES256" (SSE-S3) or "aws:kms" (SSE-KMS) (FAXGATE_S3_SSE; default "").
	SSE string
	// KMSKeyID names the KMS key for SSE "aws:kms"; "" uses the service's
	// default key (FAXGATE_S3_KMS_KEY_ID; default "").
	KMSKeyID string
	// CreateBucket creates the bucket when it is missing, for tests and
	// first runs (FAXGATE_S3_CREATE_BUCKET; default false).
	CreateBucket bool
}

// String prints the configuration without the secret key, so that the value
// can be logged or shown in an error.
func (c S3Config) String() string {
	secret := ""
	if c.SecretKey != "" {
		secret = "REDACTED"
	}
	return fmt.Sprintf("{Endpoint:%s Bucket:%s Prefix:%s Region:%s AccessKey:%s SecretKey:%s UseTLS:%t SSE:%s KMSKeyID:%s CreateBucket:%t}",
		c.Endpoint, c.Bucket, c.Prefix, c.Region, c.AccessKey, secret, c.UseTLS, c.SSE, c.KMSKeyID, c.CreateBucket)
}

// validate checks cfg without the network. Its errors name the setting to
// fix and never contain the secret key.
func (c S3Config) validate() error {
	switch {
	case c.Endpoint == "":
		return errors.New("blob: FAXGATE_S3_ENDPOINT is required")
	case !validEndpoint(c.Endpoint):
		return errors.New("blob: FAXGATE_S3_ENDPOINT must be host or host:port, without scheme or path")
	case c.Bucket == "":
		return errors.New("blob: FAXGATE_S3_BUCKET is required")
	case s3utils.CheckValidBucketNameStrict(c.Bucket) != nil:
		return fmt.Errorf("blob: FAXGATE_S3_BUCKET %q is not a valid bucket name", c.Bucket)
	case c.Prefix != "" && cleanPrefix(c.Prefix) == "":
		return errors.New("blob: FAXGATE_S3_PREFIX must be a relative path without \"..\", backslashes or NULs")
	case c.AccessKey == "":
		return errors.New("blob: FAXGATE_S3_ACCESS_KEY is required")
	case c.SecretKey == "":
		return errors.New("blob: FAXGATE_S3_SECRET_KEY is required")
	case c.SSE != SSENone && c.SSE != SSES3 && c.SSE != SSEKMS:
		return fmt.Errorf("blob: FAXGATE_S3_SSE must be %q, %q or empty, not %q", SSES3, SSEKMS, c.SSE)
	case c.KMSKeyID != "" && c.SSE != SSEKMS:
		return fmt.Errorf("blob: FAXGATE_S3_KMS_KEY_ID needs FAXGATE_S3_SSE=%s", SSEKMS)
	}
	return nil
}

func validEndpoint(e string) bool {
	return !strings.Contains(e, "://") && !strings.ContainsAny(e, "/?#@ \\\x00")
}

// cleanPrefix returns p without surrounding slashes and with one trailing
// "/", or "" when p is empty or breaks the key rules.
func cleanPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" || checkKey(p) != nil || strings.Contains(p, "//") {
		return ""
	}
	return p + "/"
}

// S3 stores blobs as objects in an S3-compatible bucket, so that documents
// are reachable from every faxgate instance. Its methods are Dir's.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or ends with "/"
	sse    encrypt.ServerSide
}

// NewS3 validates cfg and checks that the bucket is reachable (creating it
// when cfg.CreateBucket is set), so that a wrong setting fails at start-up.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	return newS3(ctx, cfg, nil)
}

// newS3 is NewS3 with an HTTP transport (nil: minio-go's default), for tests
// that watch the requests.
func newS3(ctx context.Context, cfg S3Config, transport http.RoundTripper) (*S3, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &S3{bucket: cfg.Bucket}
	if cfg.Prefix != "" {
		s.prefix = cleanPrefix(cfg.Prefix)
	}
	switch cfg.SSE {
	case SSES3:
		s.sse = encrypt.NewSSE()
	case SSEKMS:
		sse, err := encrypt.NewSSEKMS(cfg.KMSKeyID, nil)
		if err != nil {
			return nil, fmt.Errorf("blob: FAXGATE_S3_KMS_KEY_ID: %w", err)
		}
		s.sse = sse
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    cfg.UseTLS,
		Region:    cfg.Region,
		Transport: transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: FAXGATE_S3_ENDPOINT: %w", err)
	}
	s.client = client

	err = s.checkBucket(ctx)
	if s3Code(err) == "NoSuchBucket" && cfg.CreateBucket {
		err = client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		if err != nil && s3Code(err) != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("blob: create bucket %q: %w", cfg.Bucket, err)
		}
		err = s.checkBucket(ctx)
	}
	if err != nil {
		return nil, reachError(cfg, err)
	}
	return s, nil
}

// checkBucket lists at most one object under the prefix. Unlike HEAD bucket,
// a GET's error carries the service's own code (SignatureDoesNotMatch rather
// than a bare 403), and a listing scoped to the prefix needs no more than a
// policy limited to that prefix grants.
func (s *S3) checkBucket(ctx context.Context) error {
	noOwner := false
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, MaxKeys: 1, FetchOwner: &noOwner}) {
		return obj.Err
	}
	return nil
}

// reachError names the setting most likely to be wrong when the bucket
// cannot be checked.
func reachError(cfg S3Config, err error) error {
	switch s3Code(err) {
	case "":
		return fmt.Errorf("blob: FAXGATE_S3_ENDPOINT: cannot reach %s: %w", cfg.Endpoint, err)
	case "NoSuchBucket":
		return fmt.Errorf("blob: FAXGATE_S3_BUCKET: bucket %q does not exist at %s (FAXGATE_S3_CREATE_BUCKET=true creates it)", cfg.Bucket, cfg.Endpoint)
	case "InvalidAccessKeyId", "XAdminUserNotFound": // the latter is Versity's
		return fmt.Errorf("blob: FAXGATE_S3_ACCESS_KEY: %w", err)
	case "SignatureDoesNotMatch":
		return fmt.Errorf("blob: FAXGATE_S3_SECRET_KEY: %w", err)
	case "AccessDenied":
		return fmt.Errorf("blob: FAXGATE_S3_ACCESS_KEY: may not list bucket %q (the store needs s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject under its prefix): %w", cfg.Bucket, err)
	case "AuthorizationHeaderMalformed", "InvalidRegion", "IllegalLocationConstraintException":
		return fmt.Errorf("blob: FAXGATE_S3_REGION: %w", err)
	}
	return fmt.Errorf("blob: check bucket %q: %w", cfg.Bucket, err)
}

// s3Code returns the S3 error code in err's chain, or "" when the error
// did not come from the service (a network failure, say).
func s3Code(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

// object maps a key to its object name under the prefix.
func (s *S3) object(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	name := s.prefix + key
	if err := s3utils.CheckValidObjectName(name); err != nil {
		return "", fmt.Errorf("blob: invalid key %q: %w", key, err)
	}
	return name, nil
}

// contentType says what a document is from its key's extension, so that
// objects read straight from the bucket open in the right program.
func contentType(key string) string {
	switch strings.ToLower(path.Ext(key)) {
	case ".pdf":
		return "application/pdf"
	case ".tif", ".tiff":
		return "image/tiff"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// Put stores b under key and returns its size and SHA-256. The service checks
// the bytes it received against a Content-MD5, so a corrupted upload fails.
func (s *S3) Put(ctx context.Context, key string, b []byte) (Info, error) {
	name, err := s.object(key)
	if err != nil {
		return Info{}, err
	}
	_, err = s.client.PutObject(ctx, s.bucket, name, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{
		ContentType:          contentType(key),
		ServerSideEncryption: s.sse,
		SendContentMd5:       true,
	})
	if err != nil {
		return Info{}, fmt.Errorf("blob: put: %w", err)
	}
	sum := sha256.Sum256(b)
	return Info{Key: key, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}, nil
}

// Get returns the bytes under key, or a not_found *fax.Error.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	r, size, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("blob: get: %w", err)
	}
	return b, nil
}

// Open returns a reader for key and its size, or a not_found *fax.Error.
// The caller closes the reader, which holds a connection until then.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, 0, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	// Stat sends the GET and keeps its body for reading: one round trip.
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		if s3Code(err) == "NoSuchKey" {
			return nil, 0, fax.Errorf(fax.ECodeNotFound, "document not found")
		}
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	return obj, st.Size, nil
}

// Delete removes key; a missing key is not an error.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	err = s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
	if err != nil && s3Code(err) != "NoSuchKey" {
		return fmt.Errorf("blob: delete: %w", err)
	}
	return nil
}
