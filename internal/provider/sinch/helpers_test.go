package sinch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testUser     = "sinch-hook"
	testPass     = "pw-4b7e19c0d2"
	testSecret   = "sinch-hmac-5e1f0a9b"
	testJobID    = "fax_01JPA3Z1MB7S0A9TQ4W2C6E8GK"
	callbackPath = "/sinch-callback?job_id=" + testJobID
	inboundPath  = "/sinch-inbound"
)

// fixture is one webhook body in testdata: name.body holds the raw body and
// name.ct its Content-Type. Names starting "inbound-" go to /sinch-inbound,
// the others to /sinch-callback.
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
		out = append(out, readFixture(tb, strings.TrimSuffix(filepath.Base(n), ".body")))
	}
	return out
}

func readFixture(tb testing.TB, name string) fixture {
	tb.Helper()
	body, err := os.ReadFile("testdata/" + name + ".body")
	if err != nil {
		tb.Fatal(err)
	}
	ct, err := os.ReadFile("testdata/" + name + ".ct")
	if err != nil {
		tb.Fatal(err)
	}
	return fixture{name, strings.TrimSpace(string(ct)), body}
}

// newRequest builds a webhook request as a server sees it; its Body fails
// the test if read: the provider must use the body it is given.
func newRequest(tb testing.TB, target, contentType string) *http.Request {
	tb.Helper()
	r := httptest.NewRequest(http.MethodPost, target, nil)
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

// testProvider enforces both Basic auth and the HMAC signature.
func testProvider(tb testing.TB) *Provider {
	return mustNew(tb, Config{InboundBasicUser: testUser, InboundBasicPass: []string{testPass}, HMACSecrets: []string{testSecret}})
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
