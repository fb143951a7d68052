package blob

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// ParseS3URL reads the one-setting form of an S3 store,
//
//	FAXGATE_BLOB_URL=s3://ACCESS:SECRET@host:port/bucket/prefix?region=eu-west-1&tls=false&sse=AES256
//
// with the parameters region (default ""), tls (default true), sse ("",
// AES256 or aws:kms), kms_key_id and create_bucket (default false). Reserved
// characters in the keys, such as "/" in a secret key, are percent-encoded.
// Its errors never repeat the URL, which holds the secret key.
func ParseS3URL(raw string) (S3Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the URL: say what to check instead.
		return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL is not a valid URL; percent-encode reserved characters such as / @ : ? # in the access and secret keys")
	}
	if u.Scheme != "s3" {
		return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL must start with s3:// for object storage (file:// or empty for a local directory)")
	}
	if u.Opaque != "" || u.Host == "" || !validEndpoint(u.Host) {
		return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL needs a host[:port] after s3://ACCESS:SECRET@")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL must not contain '#'; percent-encode it in the keys as %23")
	}
	cfg := S3Config{Endpoint: u.Host, UseTLS: true}
	if u.User != nil {
		cfg.AccessKey = u.User.Username()
		cfg.SecretKey, _ = u.User.Password()
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL needs the access and secret keys: s3://ACCESS:SECRET@host/bucket")
	}
	cfg.Bucket, cfg.Prefix, _ = strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if cfg.Bucket == "" {
		return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL needs a bucket: s3://ACCESS:SECRET@host/bucket")
	}
	if s3utils.CheckValidBucketNameStrict(cfg.Bucket) != nil {
		return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL: the bucket name must be 3 to 63 lowercase letters, digits, dots and hyphens")
	}
	if cfg.Prefix != "" && cleanPrefix(cfg.Prefix) == "" {
		return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL: the prefix after the bucket must be a path without \"..\", \"//\", backslashes or NULs")
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL: the query string is malformed")
	}
	for name, values := range q {
		if len(values) != 1 {
			return S3Config{}, fmt.Errorf("blob: FAXGATE_BLOB_URL: parameter %s is given %d times", paramName(name), len(values))
		}
		v := values[0]
		switch name {
		case "region":
			cfg.Region = v
		case "tls":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL: tls must be true or false")
			}
			cfg.UseTLS = b
		case "sse":
			if v != SSES3 && v != SSEKMS {
				return S3Config{}, fmt.Errorf("blob: FAXGATE_BLOB_URL: sse must be %s or %s", SSES3, SSEKMS)
			}
			cfg.SSE = v
		case "kms_key_id":
			cfg.KMSKeyID = v
		case "create_bucket":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return S3Config{}, errors.New("blob: FAXGATE_BLOB_URL: create_bucket must be true or false")
			}
			cfg.CreateBucket = b
		default:
			return S3Config{}, fmt.Errorf("blob: FAXGATE_BLOB_URL: unknown parameter %s (known: region, tls, sse, kms_key_id, create_bucket)", paramName(name))
		}
	}
	if cfg.KMSKeyID != "" && cfg.SSE != SSEKMS {
		return S3Config{}, fmt.Errorf("blob: FAXGATE_BLOB_URL: kms_key_id needs sse=%s", SSEKMS)
	}
	if err := cfg.validate(); err != nil {
		// Unreachable after the checks above; kept so that the two never
		// drift apart silently. validate's errors omit the secret key.
		return S3Config{}, fmt.Errorf("blob: FAXGATE_BLOB_URL: %w", err)
	}
	return cfg, nil
}

// paramName quotes a query parameter's name for an error when it looks like
// a name, and hides it otherwise: a pasted secret must not reach a log.
func paramName(name string) string {
	if len(name) == 0 || len(name) > 20 {
		return "(hidden)"
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && r != '_' {
			return "(hidden)"
		}
	}
	return strconv.Quote(name)
}
