package sinch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// tokenMargin is how long before its expiry a cached token is renewed, so
// that it does not expire on the way to Sinch.
const tokenMargin = time.Minute

// defaultTokenLife is assumed when the token answer has no expires_in.
const defaultTokenLife = 5 * time.Minute

// tokenCache holds the current OAuth2 access token. sem is a one-slot lock
// that a waiting caller can give up on when its context ends; it guards
// token and expires and is held while a token is fetched, so that many
// concurrent sends share one fetch.
type tokenCache struct {
	sem     chan struct{}
	token   string
	expires time.Time
}

func newTokenCache() *tokenCache { return &tokenCache{sem: make(chan struct{}, 1)} }

// bearer returns an access token: the cached one unless it is missing,
// about to expire, or stale (the token Sinch just refused, which makes this
// a refresh). A caller that was refused with a token another caller has
// already replaced gets the replacement without a second fetch. Errors are
// *fax.SendError: without a token nothing was sent.
func (p *Provider) bearer(ctx context.Context, stale string) (string, error) {
	c := p.token
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", &fax.SendError{Outcome: fax.SendRetryable, Err: fmt.Errorf("sinch: token: %w", ctx.Err())}
	}
	defer func() { <-c.sem }()
	now := p.now()
	if c.token != "" && c.token != stale && now.Before(c.expires) {
		return c.token, nil
	}
	token, life, err := p.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	c.token, c.expires = token, now.Add(life-min(tokenMargin, life/2))
	return token, nil
}

// fetchToken asks AuthURL for a token with the client credentials grant,
// authenticated by Basic keyId:keySecret. Errors are *fax.SendError: a
// refused access key is permanent and names the settings; anything else is
// retryable, since the fax itself was not sent.
func (p *Provider) fetchToken(ctx context.Context) (string, time.Duration, error) {
	body := []byte("grant_type=client_credentials")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.authURL, bytes.NewReader(body))
	if err != nil {
		return "", 0, &fax.SendError{Outcome: fax.SendRetryable, Err: fmt.Errorf("sinch: token: build request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "faxgate")
	req.SetBasicAuth(p.keyID, p.keySecret)
	var sent atomic.Bool
	a, err := carrier.Call(p.client, req, &sent, maxAnswer)
	if err != nil {
		// A token request never carries the fax: lost, it is retryable,
		// and Sinch counts as down when it was never reached.
		return "", 0, carrier.LostRequest("sinch: token", err, false)
	}
	msg, _ := readError(a.Body)
	msg = p.clean(msg)
	switch s := a.Status; {
	case s >= 200 && s <= 299:
		token, life, err := readToken(a.Body)
		if a.ReadErr != nil {
			err = a.ReadErr
		}
		if err != nil {
			return "", 0, &fax.SendError{Outcome: fax.SendRetryable, Err: fmt.Errorf("sinch: token: HTTP %d: %w", s, err)}
		}
		return token, life, nil
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || (s >= 500 && s <= 599):
		return "", 0, &fax.SendError{Outcome: fax.SendRetryable, RetryAfter: carrier.RetryAfter(a.Header.Get("Retry-After"), p.now()), Err: fmt.Errorf("sinch: token: HTTP %d", s)}
	case s == http.StatusBadRequest || s == http.StatusUnauthorized || s == http.StatusForbidden:
		return "", 0, refused(fax.FailCarrier, "Sinch refused the access key for an OAuth token; check SINCH_KEY_ID and SINCH_KEY_SECRET.", "", s, msg)
	}
	return "", 0, refused(fax.FailCarrier, fmt.Sprintf("Sinch's OAuth token endpoint answered HTTP %d; check SINCH_AUTH_URL.", a.Status), "", a.Status, msg)
}

// readToken reads an OAuth2 token answer: access_token and expires_in
// (seconds, as a number or a string).
func readToken(body []byte) (string, time.Duration, error) {
	var t struct {
		AccessToken text `json:"access_token"`
		ExpiresIn   text `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		return "", 0, fmt.Errorf("the token answer is not a readable JSON object")
	}
	token := t.AccessToken.String()
	if token == "" || len(token) > 8192 {
		return "", 0, fmt.Errorf("the token answer has no usable access_token")
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			return "", 0, fmt.Errorf("the token answer has no usable access_token")
		}
	}
	life := defaultTokenLife
	if n, err := strconv.ParseInt(t.ExpiresIn.String(), 10, 64); err == nil && n > 0 {
		life = time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	return token, life, nil
}

// authorize authenticates an API request with Basic auth, or with OAuth a
// bearer token (a fresh one when stale is the token Sinch just refused).
// It returns the bearer token used, "" for Basic auth.
func (p *Provider) authorize(ctx context.Context, req *http.Request, stale string) (string, error) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "faxgate")
	if !p.oauth {
		req.SetBasicAuth(p.keyID, p.keySecret)
		return "", nil
	}
	token, err := p.bearer(ctx, stale)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return token, nil
}
