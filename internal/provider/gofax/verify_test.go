package gofax

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// callbackRequest builds a fax-sent webhook with fields in the body and the
// given query and Basic credentials (user "" and pass "" mean none).
func callbackRequest(path, query, user, pass string) (*http.Request, []byte) {
	body := []byte("Recipient=61298765432&ID=52873310&Success=True&Message=Fax+successfully+sent")
	r := &http.Request{
		Method:     http.MethodPost,
		URL:        &url.URL{Path: path, RawQuery: query},
		Header:     http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		RemoteAddr: "203.0.113.80:43122",
	}
	r = r.WithContext(context.Background())
	if user != "" || pass != "" {
		r.SetBasicAuth(user, pass)
	}
	return r, body
}

func tokenQuery(faxID, token string) string {
	return url.Values{"job_id": {faxID}, "token": {token}}.Encode()
}

func TestVerifyCallback(t *testing.T) {
	full := testConfig()
	basicOnly := testConfig()
	basicOnly.CallbackTokenFunc = nil
	tokenOnly := testConfig()
	tokenOnly.WebhookUser, tokenOnly.WebhookPass = "", nil
	tokenInsecure := tokenOnly
	tokenInsecure.Insecure = true
	none := Config{Tokens: []string{testAPIToken}}
	noneInsecure := none
	noneInsecure.Insecure = true
	fullInsecure := full
	fullInsecure.Insecure = true
	failing := testConfig()
	failing.CallbackTokenFunc = func(context.Context, string) (string, error) {
		return "", errors.New("database is locked")
	}

	const ok, unauthorized, internal = "", fax.ECodeUnauthorized, fax.ECodeInternal
	tests := []struct {
		name        string
		cfg         Config
		query       string
		user, pass  string
		rawAuthz    string
		wantCode    string
		wantMessage string // a part of the message, when it matters
	}{
		{name: "basic right", cfg: full, user: testUser, pass: testPass, wantCode: ok},
		{name: "basic rotated password", cfg: full, user: testUser, pass: testPassOld, wantCode: ok},
		{name: "basic wrong password", cfg: full, user: testUser, pass: "Tq7-current-2025", wantCode: unauthorized, wantMessage: "do not match"},
		{name: "basic wrong user", cfg: full, user: "gofax-hook", pass: testPass, wantCode: unauthorized, wantMessage: "do not match"},
		{name: "basic swapped", cfg: full, user: testPass, pass: testUser, wantCode: unauthorized},
		{name: "basic empty password", cfg: full, user: testUser, pass: "", wantCode: unauthorized},
		{name: "basic missing", cfg: full, wantCode: unauthorized, wantMessage: "missing"},
		{name: "bearer is not basic", cfg: full, rawAuthz: "Bearer " + testPass, wantCode: unauthorized, wantMessage: "missing"},
		{name: "malformed basic", cfg: full, rawAuthz: "Basic !!!", wantCode: unauthorized},
		{name: "basic only, right", cfg: basicOnly, user: testUser, pass: testPass, wantCode: ok},
		{name: "basic only, token not checkable", cfg: basicOnly, query: tokenQuery(faxA, tokenA), wantCode: unauthorized},

		{name: "token right", cfg: full, query: tokenQuery(faxA, tokenA), wantCode: ok},
		{name: "token right, other fax", cfg: full, query: tokenQuery(faxB, tokenB), wantCode: ok},
		{name: "token right without basic configured", cfg: tokenOnly, query: tokenQuery(faxA, tokenA), wantCode: ok},
		{name: "token wrong", cfg: full, query: tokenQuery(faxA, "cbt_5oQb2kP8vN3xR7tY1zW4mA6cE9gK"), wantCode: unauthorized, wantMessage: "token does not match"},
		{name: "token of another fax", cfg: full, query: tokenQuery(faxB, tokenA), wantCode: unauthorized},
		{name: "token for unknown fax", cfg: full, query: tokenQuery("fax_01JD00000000000000000000", tokenA), wantCode: unauthorized},
		{name: "token empty", cfg: full, query: tokenQuery(faxA, ""), wantCode: unauthorized},
		{name: "empty token for fax without token", cfg: full, query: tokenQuery(faxNoToken, ""), wantCode: unauthorized},
		{name: "token for fax without token", cfg: full, query: tokenQuery(faxNoToken, tokenA), wantCode: unauthorized},
		{name: "token without job_id", cfg: full, query: "token=" + tokenA, wantCode: unauthorized},
		{name: "job_id without token", cfg: tokenOnly, query: "job_id=" + faxA, wantCode: unauthorized, wantMessage: "not configured"},
		{name: "token twice, different", cfg: full, query: tokenQuery(faxA, tokenA) + "&token=x", wantCode: unauthorized},
		{name: "token twice, same", cfg: full, query: tokenQuery(faxA, tokenA) + "&token=" + tokenA, wantCode: ok},
		{name: "token wrong, basic right", cfg: full, query: tokenQuery(faxA, "nope"), user: testUser, pass: testPass, wantCode: ok},
		{name: "token right, basic wrong", cfg: full, query: tokenQuery(faxA, tokenA), user: testUser, pass: "nope", wantCode: ok},
		{name: "token wrong, basic wrong", cfg: full, query: tokenQuery(faxA, "nope"), user: testUser, pass: "nope", wantCode: unauthorized},
		{name: "token lookup fails", cfg: failing, query: tokenQuery(faxA, tokenA), wantCode: internal},

		{name: "nothing configured", cfg: none, wantCode: unauthorized, wantMessage: "GOFAX_WEBHOOK_USER"},
		{name: "nothing configured, basic sent", cfg: none, user: testUser, pass: testPass, wantCode: unauthorized},
		{name: "insecure, nothing sent", cfg: noneInsecure, wantCode: ok},
		{name: "insecure, basic sent", cfg: noneInsecure, user: "any", pass: "thing", wantCode: ok},
		{name: "insecure with token func, nothing sent", cfg: tokenInsecure, wantCode: ok},
		{name: "insecure still checks a presented token", cfg: tokenInsecure, query: tokenQuery(faxA, "nope"), wantCode: unauthorized},
		{name: "insecure ignored when basic configured", cfg: fullInsecure, wantCode: unauthorized},
		{name: "insecure ignored when basic wrong", cfg: fullInsecure, user: testUser, pass: "nope", wantCode: unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.cfg)
			for _, path := range []string{CallbackPath, SMSCallbackPath} {
				r, body := callbackRequest(path, tt.query, tt.user, tt.pass)
				if tt.rawAuthz != "" {
					r.Header.Set("Authorization", tt.rawAuthz)
				}
				err := p.VerifyCallback(r, body)
				checkVerify(t, err, tt.wantCode, tt.wantMessage)
			}
		})
	}
}

func TestVerifyInbound(t *testing.T) {
	full := testConfig()
	none := Config{Tokens: []string{testAPIToken}}
	noneInsecure := none
	noneInsecure.Insecure = true
	fullInsecure := full
	fullInsecure.Insecure = true

	const ok, unauthorized = "", fax.ECodeUnauthorized
	tests := []struct {
		name       string
		cfg        Config
		query      string
		user, pass string
		wantCode   string
	}{
		{name: "right", cfg: full, user: testUser, pass: testPass, wantCode: ok},
		{name: "rotated password", cfg: full, user: testUser, pass: testPassOld, wantCode: ok},
		{name: "wrong password", cfg: full, user: testUser, pass: "wrong", wantCode: unauthorized},
		{name: "wrong user", cfg: full, user: "admin", pass: testPass, wantCode: unauthorized},
		{name: "missing", cfg: full, wantCode: unauthorized},
		{name: "callback token does not count", cfg: full, query: tokenQuery(faxA, tokenA), wantCode: unauthorized},
		{name: "nothing configured", cfg: none, wantCode: unauthorized},
		{name: "nothing configured, credentials sent", cfg: none, user: testUser, pass: testPass, wantCode: unauthorized},
		{name: "insecure", cfg: noneInsecure, wantCode: ok},
		{name: "insecure ignored when configured", cfg: fullInsecure, wantCode: unauthorized},
		{name: "insecure ignored when wrong", cfg: fullInsecure, user: testUser, pass: "wrong", wantCode: unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.cfg)
			r, body := callbackRequest(InboundPath, tt.query, tt.user, tt.pass)
			checkVerify(t, p.VerifyInbound(r, body), tt.wantCode, "")
		})
	}
}

func checkVerify(t *testing.T, err error, wantCode, wantMessage string) {
	t.Helper()
	if got := fax.ErrorCode(err); got != wantCode {
		t.Fatalf("got code %q (%v), want %q", got, err, wantCode)
	}
	if err == nil {
		return
	}
	if wantMessage != "" && !strings.Contains(err.Error(), wantMessage) {
		t.Errorf("got message %q, want it to contain %q", err.Error(), wantMessage)
	}
	for _, secret := range []string{testPass, testPassOld, tokenA, tokenB, testAPIToken} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q echoes a secret", err.Error())
		}
	}
}

// TestVerifyCallbackLookupContext checks that the store lookup gets the
// request's context, so that a client gone away cancels it.
func TestVerifyCallbackLookupContext(t *testing.T) {
	type key struct{}
	cfg := testConfig()
	var seen any
	cfg.CallbackTokenFunc = func(ctx context.Context, faxID string) (string, error) {
		seen = ctx.Value(key{})
		return storedTokens(ctx, faxID)
	}
	p := mustNew(t, cfg)
	r, body := callbackRequest(CallbackPath, tokenQuery(faxA, tokenA), "", "")
	r = r.WithContext(context.WithValue(r.Context(), key{}, "request"))
	if err := p.VerifyCallback(r, body); err != nil {
		t.Fatalf("VerifyCallback: %v", err)
	}
	if seen != "request" {
		t.Errorf("got context value %v, want the request's", seen)
	}
}
