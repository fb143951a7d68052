package providertest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider"
)

// Run runs the contract every carrier meets on c, built with webhook
// verification configured and nothing listening where it sends:
//
//   - Name is the carrier's name in settings (name).
//   - Its routes are POST patterns, distinct, each with a pre-body check,
//     a verifier and a parser.
//   - A request without credentials is refused with code unauthorized,
//     before its body is read when the pre-body check can tell.
//   - Parse never panics, whatever the body.
//   - Send on an ended context fails without giving a carrier id.
//
// A carrier's own tests say what it sends and accepts; this says what
// Main and ingest may count on from any of them.
func Run(t *testing.T, c provider.Carrier, name string) {
	t.Helper()
	t.Run("name", func(t *testing.T) {
		if got := c.Name(); got != name {
			t.Errorf("got Name %q, want %q", got, name)
		}
	})
	t.Run("routes", func(t *testing.T) {
		seen := map[string]bool{}
		for _, rt := range c.Routes() {
			if !strings.HasPrefix(rt.Pattern, "POST /") {
				t.Errorf("route %q: want a POST pattern", rt.Pattern)
			}
			if seen[rt.Pattern] {
				t.Errorf("route %q listed twice", rt.Pattern)
			}
			seen[rt.Pattern] = true
			if rt.Preverify == nil || rt.Verify == nil || rt.Parse == nil {
				t.Errorf("route %q: got a nil Preverify, Verify or Parse", rt.Pattern)
			}
		}
	})
	t.Run("unauthenticated refused", func(t *testing.T) {
		for _, rt := range c.Routes() {
			if rt.Preverify == nil || rt.Verify == nil {
				continue
			}
			r := unsigned(t, rt.Pattern)
			authenticated, err := rt.Preverify(r)
			if err == nil {
				if authenticated {
					t.Errorf("route %q: a request without credentials passed as authenticated", rt.Pattern)
					continue
				}
				err = rt.Verify(r, []byte(`{"id":"1"}`))
			}
			if fax.ErrorCode(err) != fax.ECodeUnauthorized {
				t.Errorf("route %q: got %v, want code unauthorized", rt.Pattern, err)
			}
		}
	})
	t.Run("parse never panics", func(t *testing.T) {
		bodies := []string{"", "{", "null", "[]", `{"fax":null}`, "a=b&c", "\x00\xff", strings.Repeat("[", 4096)}
		for _, rt := range c.Routes() {
			if rt.Parse == nil {
				continue
			}
			for _, b := range bodies {
				for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
					r := unsigned(t, rt.Pattern)
					r.Header.Set("Content-Type", ct)
					rt.Parse(r, []byte(b)) // a panic fails the test
				}
			}
		}
	})
	t.Run("send on an ended context", func(t *testing.T) {
		id, err := c.Send(Canceled(), Job(), []byte(PDF))
		if err == nil || id != "" {
			t.Errorf("got id %q and error %v, want an error and no id", id, err)
		}
	})
}

// unsigned is a request to pattern from outside, without credentials,
// whose body fails the test if read: a refusal must not need it.
func unsigned(t *testing.T, pattern string) *http.Request {
	t.Helper()
	_, path, _ := strings.Cut(pattern, " ")
	r := httptest.NewRequestWithContext(context.Background(), http.MethodPost, path, nil)
	r.RemoteAddr = "203.0.113.9:40000"
	r.Body = bodyGuard{t}
	return r
}

// bodyGuard fails the test when read.
type bodyGuard struct{ t *testing.T }

func (g bodyGuard) Read([]byte) (int, error) {
	g.t.Errorf("the body was read before the sender was verified")
	return 0, io.EOF
}

func (g bodyGuard) Close() error { return nil }

// PDF is a small document; only its first bytes matter to a carrier.
const PDF = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

// Job is a fax ready to send.
func Job() *fax.DispatchJob {
	now := time.Date(2026, 3, 15, 2, 0, 0, 0, time.UTC)
	return &fax.DispatchJob{Attempt: 1, Fax: &fax.Fax{
		ID:           "fax_01JPA3Z9Q3T7CONTRACT00000",
		Direction:    fax.Outbound,
		Status:       fax.StatusSending,
		To:           "+15551230007",
		From:         "+15559870002",
		DocumentType: "application/pdf",
		Pages:        1,
		CreatedAt:    now.Add(-3 * time.Minute),
	}}
}
