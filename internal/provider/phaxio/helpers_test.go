package phaxio

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testToken     = "whtok-7d3f9a2c41e8"
	testSecret    = "apisec-0b8e61f5c3d2"
	testPublicURL = "https://fax.example.com"
	testJobID     = "fax_01JD5Q8W7ZK3M2N4P6R8T0V2XB"
	callbackPath  = "/phaxio-callback?job_id=" + testJobID
	inboundPath   = "/phaxio-inbound"
)

// fixture is one webhook body in testdata: name.body holds the raw body and
// name.ct its Content-Type. Names starting "inbound-" go to /phaxio-inbound,
// the others to /phaxio-callback.
type fixture struct {
	name        string
	contentType string
	body        []byte
}

func (fx fixture) inbound() bool { return strings.HasPrefix(fx.name, "inbound-") }

func (fx fixture) target() string {
	if fx.inbound() {
		return inboundPath
	}
	return callbackPath
}

func loadFixtures(tb testing.TB) []fixture {
	tb.Helper()
	names, err := filepath.Glob("testdata/*.body")
	if err != nil || len(names) == 0 {
		tb.Fatalf("no fixtures: %v", err)
	}
	var out []fixture
	for _, n := range names {
		body, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		base := strings.TrimSuffix(n, ".body")
		ct, err := os.ReadFile(base + ".ct")
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, fixture{filepath.Base(base), strings.TrimSpace(string(ct)), body})
	}
	return out
}

// newRequest builds a webhook request as a server sees it. Its Host is not
// the public URL's, and its Body fails the test if read: the provider must
// use the body it is given.
func newRequest(tb testing.TB, target, contentType string) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, target, nil)
	r.Host = "10.0.0.7:8080"
	r.Header.Set("Content-Type", contentType)
	r.Body = bodyGuard{tb}
	return r
}

type bodyGuard struct{ tb testing.TB }

func (g bodyGuard) Read([]byte) (int, error) {
	g.tb.Error("r.Body was read")
	return 0, io.EOF
}

func (g bodyGuard) Close() error { return nil }

func mustNew(tb testing.TB, cfg Config) *Provider {
	tb.Helper()
	p, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return p
}

func testProvider(tb testing.TB) *Provider {
	return mustNew(tb, Config{APISecrets: []string{testSecret}, WebhookTokens: []string{testToken}, PublicURL: testPublicURL})
}

func sha256Sig(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// sha1Sig signs a form body with Sign, reading the form with the standard
// library rather than the package's own parser, so the two cross-check.
// It returns "" for bodies that are not forms.
func sha1Sig(tb testing.TB, token, callbackURL, contentType string, body []byte) string {
	tb.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		tb.Fatal(err)
	}
	fields, files := map[string][]string{}, map[string][][]byte{}
	switch mt {
	case "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			tb.Fatal(err)
		}
		fields = q
	case "multipart/form-data":
		mf, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(1 << 20)
		if err != nil {
			tb.Fatal(err)
		}
		fields = mf.Value
		for name, fhs := range mf.File {
			for _, fh := range fhs {
				f, err := fh.Open()
				if err != nil {
					tb.Fatal(err)
				}
				b, _ := io.ReadAll(f)
				f.Close()
				files[name] = append(files[name], b)
			}
		}
	default:
		return ""
	}
	return Sign(token, callbackURL, fields, files)
}
