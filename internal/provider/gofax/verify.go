package gofax

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"

	"github.com/faxgate/faxgate/internal/fax"
)

// notConfigured is the refusal when neither Basic auth nor insecure mode is
// set; it names the settings, never their values.
const notConfigured = "GoFax webhook verification is not configured: set GOFAX_WEBHOOK_USER and GOFAX_WEBHOOK_PASS (or FAXGATE_INSECURE_WEBHOOKS=1)"

// VerifyCallback checks a fax-sent (/gofax-callback) or SMS-sent
// (/gofax-sms-callback) webhook. Either credential suffices: Basic auth, which
// GoFax sends on account-level webhooks set in its portal, or the per-fax
// token faxgate put in the CallbackURL of a fax it sent, which GoFax echoes
// in the query because it cannot send Basic auth on a per-job URL. A token
// is checked against the one stored for job_id, so a token for one fax never
// vouches for another. A request presenting neither is accepted only when
// nothing is configured and Insecure is set.
//
// Failures are *fax.Error with code unauthorized; an error looking up the
// stored token is returned wrapped (internal), so that GoFax retries later.
func (p *Provider) VerifyCallback(r *http.Request, body []byte) error {
	user, pass, hasBasic := r.BasicAuth()
	basicTried := hasBasic && p.basicConfigured()
	if basicTried && p.basicMatches(user, pass) {
		return nil
	}

	// The form is read only to find job_id and token; a malformed form
	// simply carries no usable token.
	f, ferr := readForm(r, body)
	if ferr == nil && f.has("token") && p.callbackTok != nil {
		ok, err := p.tokenMatches(r, f)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		return fax.Errorf(fax.ECodeUnauthorized, "GoFax callback token does not match the fax's")
	}
	switch {
	case basicTried:
		return fax.Errorf(fax.ECodeUnauthorized, "GoFax webhook Basic credentials do not match")
	case p.basicConfigured():
		return fax.Errorf(fax.ECodeUnauthorized, "GoFax webhook credentials are missing: want Basic auth or the fax's callback token")
	case p.insecure:
		return nil
	}
	return fax.Errorf(fax.ECodeUnauthorized, notConfigured)
}

// VerifyInbound checks a fax-received (/gofax-inbound) webhook. GoFax sets
// that URL account-wide, so it can carry Basic auth and nothing else counts.
func (p *Provider) VerifyInbound(r *http.Request, body []byte) error {
	user, pass, hasBasic := r.BasicAuth()
	switch {
	case p.basicConfigured() && !hasBasic:
		return fax.Errorf(fax.ECodeUnauthorized, "GoFax webhook Basic credentials are missing")
	case p.basicConfigured() && !p.basicMatches(user, pass):
		return fax.Errorf(fax.ECodeUnauthorized, "GoFax webhook Basic credentials do not match")
	case p.basicConfigured(), p.insecure:
		return nil
	}
	return fax.Errorf(fax.ECodeUnauthorized, notConfigured)
}

// PreverifyInbound is VerifyInbound before the body is read, which it
// never needs: matching Basic credentials authenticate the webhook.
func (p *Provider) PreverifyInbound(r *http.Request) (bool, error) {
	if err := p.VerifyInbound(r, nil); err != nil {
		return false, err
	}
	return p.basicConfigured(), nil
}

// PreverifyCallback settles before the body is read what the headers and
// the URL can: matching Basic credentials, or a per-fax token in the query
// (where faxgate's CallbackURL puts it), authenticate the callback; a query
// token that does not match refuses it. Anything else is left to
// VerifyCallback once the body is in.
func (p *Provider) PreverifyCallback(r *http.Request) (bool, error) {
	if user, pass, ok := r.BasicAuth(); ok && p.basicConfigured() && p.basicMatches(user, pass) {
		return true, nil
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil || !q.Has("token") || p.callbackTok == nil {
		return false, nil
	}
	ok, err := p.tokenMatches(r, form{query: q, body: url.Values{}})
	if err != nil {
		return false, err
	}
	if !ok {
		return false, fax.Errorf(fax.ECodeUnauthorized, "GoFax callback token does not match the fax's")
	}
	return true, nil
}

// basicMatches compares user and password in constant time. Both are
// compared, and every password of the rotation list is tried, whatever the
// outcome so far; hashing first hides the secrets' lengths too.
func (p *Provider) basicMatches(user, pass string) bool {
	gotUser := sha256.Sum256([]byte(user))
	wantUser := sha256.Sum256([]byte(p.user))
	userOK := subtle.ConstantTimeCompare(gotUser[:], wantUser[:])
	gotPass := sha256.Sum256([]byte(pass))
	passOK := 0
	for _, pw := range p.passes {
		want := sha256.Sum256([]byte(pw))
		passOK |= subtle.ConstantTimeCompare(gotPass[:], want[:])
	}
	return userOK&passOK == 1
}

// tokenMatches compares the callback's token with the one stored for its
// job_id. A missing or malformed job_id, an unknown fax and a fax without a
// token all fail to match; only a store failure is an error.
func (p *Provider) tokenMatches(r *http.Request, f form) (bool, error) {
	jobID, err := f.id("job_id", true)
	if err != nil {
		return false, nil
	}
	token, err := f.get("token")
	if err != nil || token == "" {
		return false, nil
	}
	stored, err := p.callbackTok(r.Context(), jobID)
	switch fax.ErrorCode(err) {
	case "":
	case fax.ECodeNotFound, fax.ECodeInvalid:
		return false, nil
	default:
		return false, fmt.Errorf("gofax: look up callback token: %w", err)
	}
	if stored == "" {
		return false, nil
	}
	got := sha256.Sum256([]byte(token))
	want := sha256.Sum256([]byte(stored))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1, nil
}
