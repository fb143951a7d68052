package sinch

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

// clock is a settable clock for token expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// oauthSinch is a fake Sinch with its token endpoint at /oauth2/token. It
// issues tok-1, tok-2, … valid for an hour, refuses faxes sent with a token
// in rejected (every token when rejectAll is set), and otherwise answers
// with send-ok.json.
type oauthSinch struct {
	*providertest.Fake
	mu        sync.Mutex
	issued    int
	rejected  map[string]bool
	rejectAll bool
}

func newOAuthSinch(t *testing.T) *oauthSinch {
	t.Helper()
	s := &oauthSinch{rejected: map[string]bool{}}
	ok := providertest.AnswerJSON(t, http.StatusOK, "send-ok.json")
	s.Fake = providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/oauth2/token":
			user, pass, _ := r.BasicAuth()
			if r.Method != http.MethodPost || user != testKeyID || pass != testKeySecret || r.FormValue("grant_type") != "client_credentials" {
				providertest.AnswerJSON(t, http.StatusUnauthorized, "token-refused.json")(w, r)
				return
			}
			s.mu.Lock()
			s.issued++
			n := s.issued
			s.mu.Unlock()
			providertest.AnswerJSON(t, http.StatusOK, fmt.Sprintf(`{"access_token":"tok-%d","expires_in":3600,"token_type":"bearer"}`, n))(w, r)
		case strings.HasPrefix(r.URL.Path, faxesPath):
			token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			s.mu.Lock()
			bad := s.rejectAll || s.rejected[token] || !strings.HasPrefix(token, "tok-")
			s.mu.Unlock()
			if bad {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="expired"`)
				providertest.AnswerJSON(t, http.StatusUnauthorized, "error-unauthenticated.json")(w, r)
				return
			}
			ok(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	return s
}

func (s *oauthSinch) provider(tb testing.TB, now func() time.Time) *Provider {
	tb.Helper()
	cfg := sendConfig(s.URL(testBasePath), nil)
	cfg.OAuth = true
	cfg.AuthURL = s.URL("/oauth2/token")
	if now != nil {
		cfg.Now = now
	}
	return mustNew(tb, cfg)
}

// counts returns the token requests and the fax API requests so far, and
// the bearer tokens the latter carried.
func (s *oauthSinch) counts() (tokens, faxes int, bearers []string) {
	for _, r := range s.Requests() {
		if r.Path == "/oauth2/token" {
			tokens++
			continue
		}
		faxes++
		bearers = append(bearers, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}
	return tokens, faxes, bearers
}

func TestOAuthGolden(t *testing.T) {
	s := newOAuthSinch(t)
	p := s.provider(t, nil)
	if _, err := p.Send(context.Background(), testJob(), []byte(testPDF)); err != nil {
		t.Fatalf("Send: got %v, want nil", err)
	}
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want a token request and a send", len(reqs))
	}
	checkGolden(t, "oauth-token", providertest.RenderRequest(t, reqs[0]))
	checkGolden(t, "send-oauth", providertest.RenderRequest(t, reqs[1]))
}

func TestOAuthTokenShared(t *testing.T) {
	s := newOAuthSinch(t)
	p := s.provider(t, nil)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			if _, err := p.Send(context.Background(), testJob(), []byte(testPDF)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Send: got %v, want nil", err)
	}
	tokens, faxes, bearers := s.counts()
	if tokens != 1 || faxes != n {
		t.Errorf("got %d token requests and %d sends, want 1 and %d", tokens, faxes, n)
	}
	for _, b := range bearers {
		if b != "tok-1" {
			t.Errorf("got bearer %q, want tok-1", b)
		}
	}
}

func TestOAuthTokenExpiry(t *testing.T) {
	s := newOAuthSinch(t)
	c := &clock{t: testNow()}
	p := s.provider(t, c.Now)
	send := func() {
		t.Helper()
		if _, err := p.Send(context.Background(), testJob(), []byte(testPDF)); err != nil {
			t.Fatalf("Send: got %v, want nil", err)
		}
	}
	send()
	c.Add(58 * time.Minute) // still valid: renewed a minute before expiry
	send()
	c.Add(2 * time.Minute)
	send()
	send()
	tokens, _, bearers := s.counts()
	if want := []string{"tok-1", "tok-1", "tok-2", "tok-2"}; tokens != 2 || strings.Join(bearers, ",") != strings.Join(want, ",") {
		t.Errorf("got %d token requests, bearers %v; want 2 and %v", tokens, bearers, want)
	}
}

func TestOAuthRefreshOn401(t *testing.T) {
	s := newOAuthSinch(t)
	s.rejected["tok-1"] = true // revoked before it expired
	p := s.provider(t, nil)
	id, err := p.Send(context.Background(), testJob(), []byte(testPDF))
	if err != nil || id == "" {
		t.Fatalf("Send: got %q, %v, want an id", id, err)
	}
	tokens, faxes, bearers := s.counts()
	if tokens != 2 || faxes != 2 || strings.Join(bearers, ",") != "tok-1,tok-2" {
		t.Errorf("got %d token requests, %d sends with %v; want 2, 2 with tok-1,tok-2", tokens, faxes, bearers)
	}
	// The refreshed token is kept.
	if _, err := p.Send(context.Background(), testJob(), []byte(testPDF)); err != nil {
		t.Fatal(err)
	}
	if tokens, _, _ := s.counts(); tokens != 2 {
		t.Errorf("got %d token requests after a further send, want 2", tokens)
	}
}

func TestOAuth401Twice(t *testing.T) {
	s := newOAuthSinch(t)
	s.rejectAll = true
	p := s.provider(t, nil)
	_, err := p.Send(context.Background(), testJob(), []byte(testPDF))
	se := providertest.SendError(t, err)
	if se.Outcome != fax.SendPermanent || se.Failure == nil || !strings.Contains(se.Failure.Message, "SINCH_KEY_SECRET") {
		t.Fatalf("got %+v (%v), want a permanent failure naming SINCH_KEY_SECRET", se, err)
	}
	if tokens, faxes, _ := s.counts(); tokens != 2 || faxes != 2 {
		t.Errorf("got %d token requests and %d sends, want one refresh: 2 and 2", tokens, faxes)
	}
	checkNoSecrets(t, err)
}

func TestOAuthTokenFailures(t *testing.T) {
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		outcome    fax.SendOutcome
		retryAfter time.Duration
		message    string
	}{
		{"refused", providertest.AnswerJSON(t, 401, "token-refused.json"), fax.SendPermanent, 0, "check SINCH_KEY_ID and SINCH_KEY_SECRET"},
		{"bad request", providertest.AnswerJSON(t, 400, `{"error":"unsupported_grant_type"}`), fax.SendPermanent, 0, "check SINCH_KEY_ID and SINCH_KEY_SECRET"},
		{"wrong url", providertest.AnswerText(404, "text/html", "nope"), fax.SendPermanent, 0, "check SINCH_AUTH_URL"},
		{"unavailable", providertest.WithHeader("Retry-After", "60", providertest.AnswerJSON(t, 503, `{}`)), fax.SendRetryable, time.Minute, ""},
		{"unparseable", providertest.AnswerText(200, "text/html", "<html>"), fax.SendRetryable, 0, ""},
		{"no token", providertest.AnswerJSON(t, 200, `{"expires_in":3600}`), fax.SendRetryable, 0, ""},
		{"token with spaces", providertest.AnswerJSON(t, 200, `{"access_token":"a b"}`), fax.SendRetryable, 0, ""},
		{"closed", providertest.CloseAfterRead, fax.SendRetryable, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/oauth2/token" {
					t.Errorf("got %s %s, want only token requests", r.Method, r.URL.Path)
				}
				tt.answer(w, r)
			})
			cfg := sendConfig(fc.URL(testBasePath), nil)
			cfg.OAuth, cfg.AuthURL = true, fc.URL("/oauth2/token")
			p := mustNew(t, cfg)
			_, err := p.Send(context.Background(), testJob(), []byte(testPDF))
			se := providertest.SendError(t, err)
			if se.Outcome != tt.outcome || se.RetryAfter != tt.retryAfter {
				t.Fatalf("got outcome %d after %v (%v), want %d after %v", se.Outcome, se.RetryAfter, err, tt.outcome, tt.retryAfter)
			}
			if tt.message != "" && (se.Failure == nil || !strings.Contains(se.Failure.Message, tt.message)) {
				t.Errorf("got failure %+v, want a message containing %q", se.Failure, tt.message)
			}
			checkNoSecrets(t, err)
		})
	}
}

func TestReadToken(t *testing.T) {
	tests := []struct {
		body string
		life time.Duration
		ok   bool
	}{
		{`{"access_token":"abc","expires_in":3600}`, time.Hour, true},
		{`{"access_token":"abc","expires_in":"120"}`, 2 * time.Minute, true},
		{`{"access_token":"abc"}`, defaultTokenLife, true},
		{`{"access_token":"abc","expires_in":-1}`, defaultTokenLife, true},
		{`{"access_token":"abc","expires_in":99999999999}`, 24 * time.Hour, true},
		{`{"access_token":""}`, 0, false},
		{`{"access_token":"a\nb"}`, 0, false},
		{`[]`, 0, false},
	}
	for _, tt := range tests {
		token, life, err := readToken([]byte(tt.body))
		if (err == nil) != tt.ok || (tt.ok && (token != "abc" || life != tt.life)) {
			t.Errorf("readToken(%s): got %q, %v, %v; want ok %v, life %v", tt.body, token, life, err, tt.ok, tt.life)
		}
	}
}
