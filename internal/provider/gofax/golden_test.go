package gofax

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// Test secrets, as the fixtures in testdata use them.
const (
	testUser     = "gofax-hooks"
	testPass     = "Tq7-current-2026"
	testPassOld  = "Lx2-previous-2025"
	testAPIToken = "9b2f6c1e-4d7a-4e88-a3c5-0f1d2e3c4b5a"
	faxA         = "fax_01JCWZ8Q4T6H2M9R3V5X7YB0DE"
	tokenA       = "cbt_5oQb2kP8vN3xR7tY1zW4mA6cE9gJ"
	faxB         = "fax_01JCX0A1B2C3D4E5F6G7H8J9KM"
	tokenB       = "cbt_Hd83kLq0ZpX2vB7nM5sW9rT1yU4e"
	faxNoToken   = "fax_01JCX0ZZZZZZZZZZZZZZZZZZZZ"
)

// storedTokens plays the store's CallbackTokenFunc.
func storedTokens(ctx context.Context, faxID string) (string, error) {
	switch faxID {
	case faxA:
		return tokenA, nil
	case faxB:
		return tokenB, nil
	case faxNoToken:
		return "", nil
	}
	return "", fax.Errorf(fax.ECodeNotFound, "fax %s not found", faxID)
}

// testConfig is the configuration the fixtures were written for.
func testConfig() Config {
	return Config{
		Tokens:            []string{testAPIToken},
		WebhookUser:       testUser,
		WebhookPass:       []string{testPass, testPassOld},
		PublicURL:         "https://fax.example.com.au",
		CallbackTokenFunc: storedTokens,
	}
}

func mustNew(t testing.TB, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// readFixture reads an HTTP request written as text: optional "#" comment
// lines, the request line, headers, a blank line and the body. Content-Length
// is computed, so fixtures stay hand-editable. A body not ending in CRLF loses
// its final newline, as `curl --data @file` would send it.
func readFixture(t testing.TB, path string) (*http.Request, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parseFixture(t, string(b))
}

func parseFixture(t testing.TB, s string) (*http.Request, []byte) {
	t.Helper()
	for strings.HasPrefix(s, "#") {
		_, s, _ = strings.Cut(s, "\n")
	}
	head, body, ok := strings.Cut(s, "\n\n")
	if !ok {
		head, body = strings.TrimSuffix(s, "\n"), ""
	}
	var kept []string
	for _, line := range strings.Split(head, "\n") {
		if !strings.HasPrefix(strings.ToLower(line), "content-length:") {
			kept = append(kept, strings.TrimSuffix(line, "\r"))
		}
	}
	if !strings.HasSuffix(body, "\r\n") {
		body = strings.TrimSuffix(body, "\n")
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(strings.Join(kept, "\r\n") + "\r\n\r\n")))
	if err != nil {
		t.Fatalf("fixture request: %v", err)
	}
	r.ContentLength = int64(len(body))
	r.Body = http.NoBody
	r.RemoteAddr = "203.0.113.80:43122"
	return r, []byte(body)
}

// wireError is an error as a golden file records it.
type wireError struct {
	Code    string
	Message string
}

func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	var fe *fax.Error
	if errors.As(err, &fe) {
		return &wireError{Code: fe.Code, Message: fe.Message}
	}
	return &wireError{Code: fax.ECodeInternal, Message: err.Error()}
}

// result is what a golden file holds: the verification error, or the parse
// error, or the updates.
type result struct {
	VerifyError *wireError   `json:",omitempty"`
	ParseError  *wireError   `json:",omitempty"`
	Updates     []fax.Update `json:",omitempty"`
}

// handle routes a request as the ingest layer does: verify, then parse.
func handle(p *Provider, r *http.Request, body []byte) result {
	var verify func(*http.Request, []byte) error
	var parse func(*http.Request, []byte) ([]fax.Update, error)
	switch r.URL.Path {
	case CallbackPath:
		verify, parse = p.VerifyCallback, p.ParseCallback
	case SMSCallbackPath:
		verify, parse = p.VerifyCallback, p.ParseSMSCallback
	case InboundPath:
		verify, parse = p.VerifyInbound, p.ParseInbound
	default:
		return result{VerifyError: &wireError{Code: fax.ECodeNotFound, Message: "no route " + r.URL.Path}}
	}
	if err := verify(r, body); err != nil {
		return result{VerifyError: toWire(err)}
	}
	ups, err := parse(r, body)
	if err != nil {
		return result{ParseError: toWire(err)}
	}
	return result{Updates: ups}
}

func TestGolden(t *testing.T) {
	p := mustNew(t, testConfig())
	files, err := filepath.Glob("testdata/*.http")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".http")
		t.Run(name, func(t *testing.T) {
			r, body := readFixture(t, file)
			got := handle(p, r, body)
			golden := strings.TrimSuffix(file, ".http") + ".golden.json"
			if *update {
				b, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			var want result
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatalf("golden %s: %v", golden, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: mismatch (-want +got):\n%s", name, diff)
			}
			// Whatever happened, no secret is echoed.
			for _, secret := range []string{testPass, testPassOld, tokenA, tokenB, testAPIToken} {
				if strings.Contains(string(mustJSON(t, got)), secret) {
					t.Errorf("%s: output contains a secret", name)
				}
			}
		})
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
