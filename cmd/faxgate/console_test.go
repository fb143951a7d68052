package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser is a cookie-holding client that does not follow redirects, so
// that tests see where the console sends it.
type browser struct {
	t      *testing.T
	g      *gateway
	cookie *http.Cookie
}

func (b *browser) req(method, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.g.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.Name == "faxgate_console" {
			if ck.MaxAge < 0 {
				b.cookie = nil
			} else {
				b.cookie = ck
			}
		}
	}
	return resp, string(out)
}

func (b *browser) signIn(key string) *http.Response {
	b.t.Helper()
	resp, _ := b.req("POST", "/console/sign-in", url.Values{"key": {key}}, nil)
	return resp
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)

func (b *browser) csrf() string {
	b.t.Helper()
	_, body := b.req("GET", "/console/health", nil, nil)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF token on the health page")
	}
	return m[1]
}

func TestConsoleHeaders(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	b := &browser{t: t, g: g}
	for _, path := range []string{"/console/sign-in", "/console/faxes", "/console/nope"} {
		resp, body := b.req("GET", path, nil, nil)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows inline script", path, csp)
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q, want DENY", path, got)
		}
		if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(body) {
			t.Errorf("%s: page has inline script", path)
		}
	}
}

func TestConsoleSessionAndCSRF(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	b := &browser{t: t, g: g}
	if resp, _ := b.req("GET", "/console/faxes", nil, nil); resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/console/sign-in") {
		t.Fatalf("anonymous: got %d to %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := b.signIn("wrong-key-0123456789"); resp.StatusCode != http.StatusUnauthorized || b.cookie != nil {
		t.Fatalf("bad key: got %d (cookie %v), want 401 and no session", resp.StatusCode, b.cookie)
	}
	if resp := b.signIn(adminKey); resp.StatusCode != http.StatusSeeOther || b.cookie == nil {
		t.Fatalf("sign-in: got %d, want 303 with a session", resp.StatusCode)
	}
	ck := b.cookie
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" || len(ck.Value) != 64 || strings.Contains(ck.Value, adminKey) {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/console, a random token", ck)
	}
	token := b.csrf()
	form := url.Values{"name": {"desk"}, "scopes": {"fax:read"}}
	if resp, _ := b.req("POST", "/console/keys", form, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("post without CSRF token: got %d, want 403", resp.StatusCode)
	}
	form.Set("csrf", strings.Repeat("0", 64))
	if resp, _ := b.req("POST", "/console/keys", form, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("post with a wrong CSRF token: got %d, want 403", resp.StatusCode)
	}
	form.Set("csrf", token)
	if resp, _ := b.req("POST", "/console/keys", form, map[string]string{"Origin": "https://evil.example"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: got %d, want 403", resp.StatusCode)
	}
	resp, body := b.req("POST", "/console/keys", form, nil)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, "fgk_") {
		t.Fatalf("post with the CSRF token: got %d, want 201 showing the key", resp.StatusCode)
	}
	// The console's action is in the audit trail under the signed-in key.
	var audit struct {
		Data []struct{ Actor, Action string }
	}
	g.do("GET", "/v1/audit?action=api_key.create", nil, &audit)
	if len(audit.Data) != 1 || audit.Data[0].Actor != "admin" {
		t.Errorf("audit of the console's key creation: got %+v, want one row by admin", audit.Data)
	}

	if resp, _ := b.req("POST", "/console/sign-out", url.Values{"csrf": {token}}, nil); resp.StatusCode != http.StatusSeeOther || b.cookie != nil {
		t.Fatalf("sign-out: got %d (cookie %v), want 303 clearing the cookie", resp.StatusCode, b.cookie)
	}
	b.cookie = ck
	if resp, _ := b.req("GET", "/console/faxes", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the signed-out session's cookie: got %d, want a redirect to sign in", resp.StatusCode)
	}
}

func TestConsoleExpiry(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	g := startGateway(t, withClock(clock), withEnv("FAXGATE_CONSOLE_IDLE_TIMEOUT", "30m"), withEnv("FAXGATE_CONSOLE_SESSION_MAX_AGE", "2h"))
	b := &browser{t: t, g: g}
	live := func() bool {
		resp, _ := b.req("GET", "/console/health", nil, nil)
		return resp.StatusCode == http.StatusOK
	}
	b.signIn(adminKey)
	clock.Advance(29 * time.Minute)
	if !live() {
		t.Fatalf("session ended before its idle timeout")
	}
	clock.Advance(31 * time.Minute)
	if live() {
		t.Fatalf("session idle 31m outlived its 30m idle timeout")
	}
	b.signIn(adminKey)
	for i := 0; i < 7; i++ { // active every 20 minutes for 2h20m
		clock.Advance(20 * time.Minute)
		if ok := live(); ok != (i < 5) {
			t.Fatalf("after %v of activity: live %v, want %v (absolute expiry 2h)", time.Duration(i+1)*20*time.Minute, ok, i < 5)
		}
		if i >= 5 {
			break
		}
	}
}

func TestConsoleRevokedKeyEndsSession(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	var k struct{ ID, Key string }
	g.do("POST", "/v1/api-keys", map[string]any{"name": "desk", "scopes": []string{"fax:read"}}, &k)
	b := &browser{t: t, g: g}
	b.signIn(k.Key)
	if resp, _ := b.req("GET", "/console/faxes", nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed in: got %d, want 200", resp.StatusCode)
	}
	g.do("DELETE", "/v1/api-keys/"+k.ID, nil, nil)
	resp, _ := b.req("GET", "/console/faxes", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "why=revoked") {
		t.Errorf("after revoking the key: got %d to %q, want the sign-in page saying revoked", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestConsoleSignInRateLimit(t *testing.T) {
	t.Parallel()
	g := startGateway(t, withEnv("FAXGATE_CONSOLE_SIGNIN_LIMIT", "3"))
	b := &browser{t: t, g: g}
	for i := 0; i < 3; i++ {
		if resp := b.signIn("wrong-key-0123456789"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: got %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp := b.signIn(adminKey)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || b.cookie != nil {
		t.Fatalf("4th attempt in a minute: got %d (Retry-After %q), want 429 and no session", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	g.m.Rejections.Flush(t.Context())
	var audit struct {
		Data []struct{ Actor, Outcome, Detail string }
	}
	g.do("GET", "/v1/audit?action=console.sign_in_failed", nil, &audit)
	if len(audit.Data) != 1 || !strings.HasPrefix(audit.Data[0].Detail, "4 refused") {
		t.Errorf("failed sign-ins in the audit trail: got %+v, want one row counting 4", audit.Data)
	}
}

func TestConsoleScopeHiding(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	var ro, hooks struct{ Key string }
	g.do("POST", "/v1/api-keys", map[string]any{"name": "ro", "scopes": []string{"fax:read"}}, &ro)
	g.do("POST", "/v1/api-keys", map[string]any{"name": "hooks", "scopes": []string{"webhooks:manage"}}, &hooks)
	f := g.send("+15551234567", textDoc)
	var ep struct{ ID string }
	g.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "http://127.0.0.1:9/x", "numbers": []string{"+15557654321"}}, &ep)

	b := &browser{t: t, g: g}
	b.signIn(ro.Key)
	_, body := b.req("GET", "/console/faxes/"+f.ID, nil, nil)
	for _, ctl := range []string{"/cancel", "/resend", `href="/console/send"`, "/console/receive", "/console/keys", "/console/endpoints", "15551234567"} {
		if (ctl == "15551234567") != strings.Contains(body, ctl) {
			t.Errorf("read-only key's fax page: %q present %v", ctl, strings.Contains(body, ctl))
		}
	}
	if resp, _ := b.req("GET", "/console/send", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("read-only key's send page: got %d, want 403", resp.StatusCode)
	}

	b = &browser{t: t, g: g}
	b.signIn(hooks.Key)
	_, body = b.req("GET", "/console/endpoints/"+ep.ID, nil, nil)
	// html/template writes "+" as "&#43;": look for the digits.
	if strings.Contains(body, "5557654321") || !strings.Contains(body, "…4321") {
		t.Errorf("a key without fax:read sees an endpoint's number unmasked")
	}
	if strings.Contains(body, `href="/console/faxes`) {
		t.Errorf("a key without fax:read is offered the fax pages")
	}
	_, body = b.req("GET", "/console/health", nil, nil)
	if strings.Contains(body, "<h2>Queues</h2>") || !strings.Contains(body, "ready") {
		t.Errorf("a key without metrics:read: the health page shows queue depths or no readiness")
	}
}

// TestConsoleFaxActions: cancel and send again from a fax's page go
// through the API, and the new fax opens.
func TestConsoleFaxActions(t *testing.T) {
	t.Parallel()
	g := startGateway(t, withEnv("FAXGATE_SIMULATOR_PAGE_DELAY", "1h"), withEnv("FAXGATE_SHUTDOWN_TIMEOUT", "1s"))
	f := g.send("+15551234567", textDoc)
	b := &browser{t: t, g: g}
	b.signIn(adminKey)
	token := b.csrf()
	resp, _ := b.req("POST", "/console/faxes/"+f.ID+"/cancel", url.Values{"csrf": {token}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("cancel: got %d, want 303", resp.StatusCode)
	}
	var got faxObj
	g.do("GET", "/v1/faxes/"+f.ID, nil, &got)
	if got.Status != "canceled" {
		t.Errorf("after cancel: status %q, want canceled", got.Status)
	}
	resp, _ = b.req("POST", "/console/faxes/"+f.ID+"/resend", url.Values{"csrf": {token}}, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/faxes/fax_") || strings.Contains(loc, f.ID) {
		t.Fatalf("send again: got %d to %q, want the new fax's page", resp.StatusCode, loc)
	}
	newID := strings.TrimPrefix(strings.Split(loc, "?")[0], "/console/faxes/")
	g.do("GET", "/v1/faxes/"+newID, nil, &got)
	if got.To != "+15551234567" || got.Direction != "outbound" {
		t.Errorf("the fax sent again: got %+v, want outbound to the same number", got)
	}
	// A second cancel of a final fax gets the API's conflict, shown as such.
	if resp, _ := b.req("POST", "/console/faxes/"+f.ID+"/cancel", url.Values{"csrf": {token}}, nil); resp.StatusCode != http.StatusConflict {
		t.Errorf("cancel of a canceled fax: got %d, want the API's 409", resp.StatusCode)
	}
}

// TestConsoleBadInput: wrong and hostile form posts get the API's 4xx,
// shown on a page, and never a 5xx.
func TestConsoleBadInput(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	b := &browser{t: t, g: g}
	b.signIn(adminKey)
	token := b.csrf()
	long := strings.Repeat("x", 70<<10)
	for _, tc := range []struct {
		path string
		form url.Values
		want int
	}{
		{"/console/send", url.Values{"to": {"+15551234567"}}, http.StatusBadRequest},
		{"/console/endpoints", url.Values{"url": {"not a url"}}, http.StatusBadRequest},
		{"/console/endpoints", url.Values{"url": {"https://example.com/h"}, "events": {"fax.nope"}}, http.StatusBadRequest},
		{"/console/endpoints/we_nope/rotate", nil, http.StatusNotFound},
		{"/console/endpoints/we_nope/bogus", nil, http.StatusNotFound},
		{"/console/endpoints/we_nope/retry-failed", url.Values{"since": {"yesterday"}}, http.StatusBadRequest},
		{"/console/keys", url.Values{"name": {"k"}}, http.StatusBadRequest},
		{"/console/keys", url.Values{"name": {long}, "scopes": {"fax:read"}}, http.StatusRequestEntityTooLarge},
		{"/console/keys/key_nope/revoke", nil, http.StatusNotFound},
		{"/console/deliveries/dlv_nope/retry", nil, http.StatusNotFound},
		{"/console/faxes/fax_nope/cancel", nil, http.StatusNotFound},
		{"/console/faxes/..%2F..%2Fv1%2Fapi-keys/cancel", nil, http.StatusNotFound},
	} {
		form := tc.form
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", token)
		resp, body := b.req("POST", tc.path, form, nil)
		if resp.StatusCode != tc.want || !strings.Contains(body, `class="error"`) {
			t.Errorf("POST %s: got %d, want %d with the error shown", tc.path, resp.StatusCode, tc.want)
		}
	}
}

// TestConsoleSendTooLarge: a document over the limit is refused with 413
// from the console's own bound, before the API sees it.
func TestConsoleSendTooLarge(t *testing.T) {
	t.Parallel()
	g := startGateway(t, withEnv("FAXGATE_MAX_DOCUMENT_BYTES", "2048"))
	b := &browser{t: t, g: g}
	b.signIn(adminKey)
	token := b.csrf()
	mb := multipartSend(map[string]string{"csrf": token, "to": "+15551234567"}, []byte(strings.Repeat("a", 2<<20)))
	req, _ := http.NewRequest("POST", g.url+"/console/send", bytes.NewReader(mb.buf.Bytes()))
	req.Header.Set("Content-Type", mb.ct)
	req.AddCookie(b.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MiB document over a 2 KiB limit: got %d, want 413", resp.StatusCode)
	}
}
