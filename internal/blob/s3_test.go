package blob

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestS3 runs the store behaviour and the S3-only checks against one real
// Versity S3 gateway on loopback.
func TestS3(t *testing.T) {
	gw := MustStartGateway(t)
	ctx := context.Background()

	// Each subtest gets its own prefix in one bucket, which also exercises
	// prefixes throughout.
	testStore(t, func(t *testing.T) Store {
		cfg := gw.config("faxgate-store")
		cfg.Prefix = t.Name()
		return MustNewS3(t, cfg)
	})

	t.Run("Multipart", func(t *testing.T) {
		// Past minio-go's 16 MiB part size, so the upload is multipart.
		cfg := gw.config("faxgate-store")
		cfg.Prefix = t.Name()
		s := MustNewS3(t, cfg)
		want := randomBytes(17 << 20)
		info, err := s.Put(ctx, "in/big.pdf", want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "in/big.pdf")
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != int64(len(want)) || int64(len(got)) != info.Size || sha256Hex(got) != info.SHA256 || info.SHA256 != sha256Hex(want) {
			t.Errorf("got %d bytes, sha256 %s (info %+v), want %d bytes, sha256 %s", len(got), sha256Hex(got), info, len(want), sha256Hex(want))
		}
	})

	t.Run("ContentType", func(t *testing.T) {
		s := MustNewS3(t, gw.config("faxgate-types"))
		for key, want := range map[string]string{
			"out/a.pdf":  "application/pdf",
			"in/b.tif":   "image/tiff",
			"in/c.TIFF":  "image/tiff",
			"out/d.txt":  "text/plain; charset=utf-8",
			"out/e.bin":  "application/octet-stream",
			"out/no-ext": "application/octet-stream",
		} {
			if _, err := s.Put(ctx, key, []byte("x")); err != nil {
				t.Fatal(err)
			}
			st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if st.ContentType != want {
				t.Errorf("%s: got Content-Type %q, want %q", key, st.ContentType, want)
			}
		}
	})

	t.Run("Prefix", func(t *testing.T) {
		a := gw.config("faxgate-shared")
		a.Prefix = "tenant-a"
		b := gw.config("faxgate-shared")
		b.Prefix = "/tenant-b/" // surrounding slashes are dropped
		sa, sb, root := MustNewS3(t, a), MustNewS3(t, b), MustNewS3(t, gw.config("faxgate-shared"))

		if _, err := sa.Put(ctx, "doc.pdf", []byte("A")); err != nil {
			t.Fatal(err)
		}
		if _, err := sb.Put(ctx, "doc.pdf", []byte("B")); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			s    *S3
			key  string
			want string
		}{
			{sa, "doc.pdf", "A"},
			{sb, "doc.pdf", "B"},
			{root, "tenant-a/doc.pdf", "A"},
			{root, "tenant-b/doc.pdf", "B"},
		} {
			if got, err := c.s.Get(ctx, c.key); err != nil || string(got) != c.want {
				t.Errorf("prefix %q, Get(%q): got %q, %v, want %q", c.s.prefix, c.key, got, err, c.want)
			}
		}
		if _, err := root.Get(ctx, "doc.pdf"); fax.ErrorCode(err) != fax.ECodeNotFound {
			t.Errorf("no prefix, Get(doc.pdf): got %v, want not_found", err)
		}
		if err := sa.Delete(ctx, "doc.pdf"); err != nil {
			t.Fatal(err)
		}
		if _, err := sa.Get(ctx, "doc.pdf"); fax.ErrorCode(err) != fax.ECodeNotFound {
			t.Errorf("tenant-a after Delete: got %v, want not_found", err)
		}
		if got, err := sb.Get(ctx, "doc.pdf"); err != nil || string(got) != "B" {
			t.Errorf("tenant-b after tenant-a's Delete: got %q, %v, want %q", got, err, "B")
		}
	})

	t.Run("SSE", func(t *testing.T) {
		// versitygw v1.8.0's posix backend accepts both SSE headers and
		// ignores them: objects are stored in the clear and HEAD reports no
		// encryption. So this checks what faxgate controls, that every object
		// PUT asks for the configured encryption, by recording the requests;
		// honouring it is the service's part.
		for _, c := range []struct{ name, sse, kmsKey string }{
			{"AES256", SSES3, ""},
			{"KMS", SSEKMS, "alias/faxgate"},
			{"KMSDefaultKey", SSEKMS, ""},
			{"None", SSENone, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				cfg := gw.config("faxgate-sse")
				cfg.SSE, cfg.KMSKeyID = c.sse, c.kmsKey
				rec := &recorder{next: http.DefaultTransport}
				s, err := newS3(ctx, cfg, rec)
				if err != nil {
					t.Fatal(err)
				}
				for _, size := range []int{15, 17 << 20} { // single PUT, then multipart
					want := randomBytes(size)
					if _, err := s.Put(ctx, "out/enc.pdf", want); err != nil {
						t.Fatalf("Put %d bytes with SSE %q: %v", size, c.sse, err)
					}
					if got, err := s.Get(ctx, "out/enc.pdf"); err != nil || sha256Hex(got) != sha256Hex(want) {
						t.Errorf("Get: got %d bytes, %v, want %d bytes", len(got), err, size)
					}
				}
				// The single PUT and the POST that starts the multipart upload
				// carry the SSE headers; its parts and completion need none.
				var sent []http.Header
				for _, q := range rec.all() {
					if strings.HasSuffix(q.path, "/out/enc.pdf") &&
						(q.method == http.MethodPut && !q.query.Has("uploadId") || q.method == http.MethodPost && q.query.Has("uploads")) {
						sent = append(sent, q.header)
					}
				}
				if len(sent) != 2 {
					t.Fatalf("got %d object PUT or multipart-start requests, want 2", len(sent))
				}
				for _, h := range sent {
					if got := h.Get("X-Amz-Server-Side-Encryption"); got != c.sse {
						t.Errorf("X-Amz-Server-Side-Encryption: got %q, want %q", got, c.sse)
					}
					if got := h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"); got != c.kmsKey {
						t.Errorf("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id: got %q, want %q", got, c.kmsKey)
					}
				}
			})
		}
	})

	t.Run("NewS3Errors", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		missing := gw.config("faxgate-missing")
		missing.CreateBucket = false
		badSecret := gw.config("faxgate-store")
		badSecret.SecretKey = "XYZ-wrong-secret"
		badAccess := gw.config("faxgate-store")
		badAccess.AccessKey = "nobody"
		badAccess.SecretKey = "XYZ-wrong-secret"
		for _, c := range []struct {
			name    string
			cfg     S3Config
			setting string
		}{
			{"MissingBucket", missing, "FAXGATE_S3_BUCKET"},
			{"WrongSecret", badSecret, "FAXGATE_S3_SECRET_KEY"},
			{"WrongAccessKey", badAccess, "FAXGATE_S3_ACCESS_KEY"},
		} {
			_, err := NewS3(ctx, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.setting) {
				t.Errorf("%s: got %v, want an error naming %s", c.name, err, c.setting)
				continue
			}
			if strings.Contains(err.Error(), "XYZ") || strings.Contains(err.Error(), gw.SecretKey) {
				t.Errorf("%s: error %q shows a secret key", c.name, err)
			}
		}
	})

	t.Run("OpenURL", func(t *testing.T) {
		u := url.URL{
			Scheme:   "s3",
			User:     url.UserPassword(gw.AccessKey, gw.SecretKey), // "/" and "+" in the secret
			Host:     gw.Endpoint,
			Path:     "/faxgate-url/docs",
			RawQuery: "tls=false&region=us-east-1&create_bucket=true",
		}
		s, err := Open(ctx, u.String(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		s3, ok := s.(*S3)
		if !ok {
			t.Fatalf("got %T, want *S3", s)
		}
		if _, err := s.Put(ctx, "a.pdf", []byte("%PDF")); err != nil {
			t.Fatal(err)
		}
		if _, err := s3.client.StatObject(ctx, "faxgate-url", "docs/a.pdf", minio.StatObjectOptions{}); err != nil {
			t.Errorf("object docs/a.pdf: %v", err)
		}
	})
}

// TestNewS3Unreachable checks that a dead endpoint fails start-up naming
// FAXGATE_S3_ENDPOINT; it needs no gateway.
func TestNewS3Unreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := NewS3(ctx, S3Config{Endpoint: freePort(t), Bucket: "faxes", AccessKey: "ak", SecretKey: "XYZ-secret"})
	if err == nil || !strings.Contains(err.Error(), "FAXGATE_S3_ENDPOINT") || strings.Contains(err.Error(), "XYZ") {
		t.Errorf("got %v, want an error naming FAXGATE_S3_ENDPOINT without the secret", err)
	}
}

func TestS3ConfigValidate(t *testing.T) {
	good := S3Config{Endpoint: "127.0.0.1:7070", Bucket: "faxes", AccessKey: "ak", SecretKey: "XYZ-secret"}
	if err := good.validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, c := range []struct {
		name    string
		edit    func(*S3Config)
		setting string
	}{
		{"NoEndpoint", func(c *S3Config) { c.Endpoint = "" }, "FAXGATE_S3_ENDPOINT"},
		{"EndpointScheme", func(c *S3Config) { c.Endpoint = "https://s3.amazonaws.com" }, "FAXGATE_S3_ENDPOINT"},
		{"EndpointPath", func(c *S3Config) { c.Endpoint = "s3.amazonaws.com/faxes" }, "FAXGATE_S3_ENDPOINT"},
		{"NoBucket", func(c *S3Config) { c.Bucket = "" }, "FAXGATE_S3_BUCKET"},
		{"BadBucket", func(c *S3Config) { c.Bucket = "Faxes_1" }, "FAXGATE_S3_BUCKET"},
		{"BadPrefix", func(c *S3Config) { c.Prefix = "a/../b" }, "FAXGATE_S3_PREFIX"},
		{"SlashesPrefix", func(c *S3Config) { c.Prefix = "//" }, "FAXGATE_S3_PREFIX"},
		{"NoAccessKey", func(c *S3Config) { c.AccessKey = "" }, "FAXGATE_S3_ACCESS_KEY"},
		{"NoSecretKey", func(c *S3Config) { c.SecretKey = "" }, "FAXGATE_S3_SECRET_KEY"},
		{"BadSSE", func(c *S3Config) { c.SSE = "aes256" }, "FAXGATE_S3_SSE"},
		{"KMSKeyWithoutKMS", func(c *S3Config) { c.SSE, c.KMSKeyID = SSES3, "k" }, "FAXGATE_S3_KMS_KEY_ID"},
	} {
		cfg := good
		c.edit(&cfg)
		err := cfg.validate()
		if err == nil || !strings.Contains(err.Error(), c.setting) {
			t.Errorf("%s: got %v, want an error naming %s", c.name, err, c.setting)
		} else if strings.Contains(err.Error(), "XYZ") {
			t.Errorf("%s: error %q shows the secret key", c.name, err)
		}
	}
	for _, sse := range []string{SSENone, SSES3, SSEKMS} {
		cfg := good
		cfg.SSE = sse
		if err := cfg.validate(); err != nil {
			t.Errorf("SSE %q: got %v, want nil", sse, err)
		}
	}
	if s := (S3Config{SecretKey: "XYZ-secret"}).String(); strings.Contains(s, "XYZ") {
		t.Errorf("String: got %q, want the secret key redacted", s)
	}
}

func TestParseS3URL(t *testing.T) {
	good := []struct {
		raw  string
		want S3Config
	}{
		{"s3://AK:SK@127.0.0.1:7070/faxes", S3Config{Endpoint: "127.0.0.1:7070", Bucket: "faxes", AccessKey: "AK", SecretKey: "SK", UseTLS: true}},
		{"S3://AK:SK@s3.amazonaws.com/faxes", S3Config{Endpoint: "s3.amazonaws.com", Bucket: "faxes", AccessKey: "AK", SecretKey: "SK", UseTLS: true}},
		{
			"s3://AK:s%2Fk+1%40%3A@s3.eu-west-1.amazonaws.com/faxes/prod/docs?region=eu-west-1&sse=AES256",
			S3Config{Endpoint: "s3.eu-west-1.amazonaws.com", Bucket: "faxes", Prefix: "prod/docs", Region: "eu-west-1", AccessKey: "AK", SecretKey: "s/k+1@:", UseTLS: true, SSE: SSES3},
		},
		{
			"s3://AK:SK@minio:9000/b-1.x/?tls=false&create_bucket=true",
			S3Config{Endpoint: "minio:9000", Bucket: "b-1.x", AccessKey: "AK", SecretKey: "SK", CreateBucket: true},
		},
		{
			"s3://AK:SK@[::1]:7070/faxes?sse=aws:kms&kms_key_id=arn%3Aaws%3Akms%3Aeu-west-1%3A1%3Akey%2Fabc",
			S3Config{Endpoint: "[::1]:7070", Bucket: "faxes", AccessKey: "AK", SecretKey: "SK", UseTLS: true, SSE: SSEKMS, KMSKeyID: "arn:aws:kms:eu-west-1:1:key/abc"},
		},
		{"s3://AK:SK@host/faxes?sse=aws:kms", S3Config{Endpoint: "host", Bucket: "faxes", AccessKey: "AK", SecretKey: "SK", UseTLS: true, SSE: SSEKMS}},
	}
	for _, c := range good {
		got, err := ParseS3URL(c.raw)
		if err != nil {
			t.Errorf("ParseS3URL(%q): %v", c.raw, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseS3URL(%q):\ngot  %+v\nwant %+v", c.raw, got, c.want)
		}
	}

	// Every secret key below contains XYZ, which must never reach an error.
	bad := []string{
		"",
		"file:///var/lib/faxgate",
		"http://AK:XYZsecret@host/faxes",
		"XYZak:XYZsecret@host/faxes",
		"s3:XYZopaque",
		"s3://AK:XYZsecret@/faxes",
		"s3://AK:XYZsecret@host",
		"s3://AK:XYZsecret@host/",
		"s3://host/faxes",
		"s3://AK@host/faxes",
		"s3://AK:@host/faxes",
		"s3://:XYZsecret@host/faxes",
		"s3://AK:XYZse/XYZcret@host/faxes",   // unencoded "/" in the secret
		"s3://AK:XYZse/XYZcret@host:1/faxes", // same, the rest parsing as a port
		"s3://AK:1/XYZcret@host/faxes",       // same, "1" parsing as a port
		"s3://AK:XYZse#XYZcret@host/faxes",   // unencoded "#"
		"s3://AK:XYZse?XYZcret@host/faxes",   // unencoded "?"
		"s3://AK:XYZsecret@host:port/faxes",
		"s3://AK:XYZsecret@host/Faxes_XYZ",
		"s3://AK:XYZsecret@host/ab",
		"s3://AK:XYZsecret@host/faxes/../XYZ",
		"s3://AK:XYZsecret@host/faxes/a//b",
		"s3://AK:XYZsecret@host/faxes/a\\b",
		"s3://AK:XYZsecret@host/faxes?tls=maybe",
		"s3://AK:XYZsecret@host/faxes?create_bucket=XYZ",
		"s3://AK:XYZsecret@host/faxes?sse=aes256",
		"s3://AK:XYZsecret@host/faxes?sse=XYZ",
		"s3://AK:XYZsecret@host/faxes?kms_key_id=k",
		"s3://AK:XYZsecret@host/faxes?regoin=eu",
		"s3://AK:XYZsecret@host/faxes?XYZsecret",
		"s3://AK:XYZsecret@host/faxes?region=a&region=b",
		"s3://AK:XYZsecret@host/faxes?region=%zz",
		"s3://AK:XYZsecret@host/faxes#XYZ",
	}
	for _, raw := range bad {
		_, err := ParseS3URL(raw)
		if err == nil {
			t.Errorf("ParseS3URL(%q): got nil error, want refusal", raw)
			continue
		}
		if !strings.Contains(err.Error(), "FAXGATE_BLOB_URL") {
			t.Errorf("ParseS3URL(%q): error %q does not name FAXGATE_BLOB_URL", raw, err)
		}
		if strings.Contains(err.Error(), "XYZ") {
			t.Errorf("ParseS3URL(%q): error %q repeats part of the URL", raw, err)
		}
	}
	if _, err := ParseS3URL("s3://AK:SK@host/faxes?regoin=eu"); err == nil || !strings.Contains(err.Error(), `"regoin"`) {
		t.Errorf("unknown parameter: got %v, want its name in the error", err)
	}
}

func FuzzParseS3URL(f *testing.F) {
	for _, s := range []string{
		"s3://AK:SK@127.0.0.1:7070/faxes",
		"s3://AK:s%2Fk@host/faxes/prod?region=eu-west-1&tls=false&sse=AES256",
		"s3://AK:SK@host/faxes?sse=aws:kms&kms_key_id=k&create_bucket=1",
		"s3://AK:XYZ/x@host/faxes",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, err := ParseS3URL(raw)
		if err != nil {
			return
		}
		if err := cfg.validate(); err != nil {
			t.Errorf("ParseS3URL(%q) accepted a config validate refuses: %v", raw, err)
		}
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	local := t.TempDir()
	for _, raw := range []string{"", "file://"} {
		s, err := Open(ctx, raw, local)
		if err != nil {
			t.Fatalf("Open(%q): %v", raw, err)
		}
		if _, ok := s.(*Dir); !ok {
			t.Fatalf("Open(%q): got %T, want *Dir", raw, s)
		}
		if _, err := s.Put(ctx, "k.pdf", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(local, "k.pdf")); err != nil {
			t.Errorf("Open(%q): document not under the local directory: %v", raw, err)
		}
	}
	other := t.TempDir()
	s, err := Open(ctx, "file://"+filepath.ToSlash(other), local)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "k2.pdf", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other, "k2.pdf")); err != nil {
		t.Errorf("file:///path: document not under the path: %v", err)
	}
	for _, raw := range []string{"file://host/x", "file:relative", "ftp://AK:XYZ@host/x", "/var/lib/faxgate", "s3://AK:XYZ@host"} {
		s, err := Open(ctx, raw, local)
		if err == nil || s != nil {
			t.Errorf("Open(%q): got %v, %v, want a nil store and an error", raw, s, err)
		} else if strings.Contains(err.Error(), "XYZ") {
			t.Errorf("Open(%q): error %q repeats the URL", raw, err)
		}
	}
}

// recorder is an http.RoundTripper that keeps each request's method, path,
// query and headers, to check what minio-go sent.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path string
	query        url.Values
	header       http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.URL.Query(), req.Header.Clone()})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// all returns the requests recorded so far.
func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}
