package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// serveAsKey carries the principal ServeAs vouches for. The key type is
// unexported, so nothing outside this package can put one in a request.
type serveAsKey struct{}

// ServeAs serves r through the API's own routes as if k had authenticated
// it: the console signs a person in once and then does every read and
// action through here, so that scopes, validation, rate limits, errors and
// the audit trail apply exactly as for the API, under k.
func (s *Server) ServeAs(k *fax.APIKey, w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), serveAsKey{}, k)))
}

// servedAs returns the principal ServeAs put in ctx, if any.
func servedAs(ctx context.Context) *fax.APIKey {
	k, _ := ctx.Value(serveAsKey{}).(*fax.APIKey)
	return k
}

// Authenticate finds the key a person typed, as the API finds a request's
// key: admin keys compared in constant time, stored keys by SHA-256. The
// admin principal's Hash is set so that a session can find it again.
func (s *Server) Authenticate(ctx context.Context, key string) (*fax.APIKey, error) {
	if key == "" || len(key) > 256 {
		return nil, fax.Errorf(fax.ECodeUnauthorized, "invalid API key")
	}
	sum := sha256.Sum256([]byte(key))
	return s.principalByHash(ctx, sum)
}

// PrincipalByHash finds a key again by its id and hash, as a session
// remembers it: a revoked key, or an admin key no longer configured, is
// unauthorized, and a stored key's scopes are read afresh.
func (s *Server) PrincipalByHash(ctx context.Context, id, hash string) (*fax.APIKey, error) {
	b, err := hex.DecodeString(hash)
	if err != nil || len(b) != sha256.Size {
		return nil, fax.Errorf(fax.ECodeUnauthorized, "invalid API key")
	}
	k, err := s.principalByHash(ctx, [sha256.Size]byte(b))
	if err != nil {
		return nil, err
	}
	if k.ID != id {
		return nil, fax.Errorf(fax.ECodeUnauthorized, "invalid API key")
	}
	return k, nil
}

func (s *Server) principalByHash(ctx context.Context, sum [sha256.Size]byte) (*fax.APIKey, error) {
	match := 0
	for _, a := range s.admin {
		match |= subtle.ConstantTimeCompare(sum[:], a[:])
	}
	if match == 1 {
		return &fax.APIKey{ID: "admin", Name: "FAXGATE_ADMIN_KEY", Hash: hex.EncodeToString(sum[:]), Admin: true, Scopes: fax.AllScopes()}, nil
	}
	return s.opts.Store.FindAPIKeyByHash(ctx, hex.EncodeToString(sum[:]))
}

// Limiter is the API's token bucket for callers that limit by a key of
// their own, such as the console's sign-in by source address.
type Limiter struct{ l *limiter }

// NewLimiter allows burst requests at once per key and rate a second after
// that, keeping at most max keys' buckets; a rate of 0 allows everything.
func NewLimiter(rate float64, burst, max int) *Limiter { return &Limiter{newLimiter(rate, burst, max)} }

// Allow spends one request of key's bucket at now, or says how long until
// one is allowed.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.l == nil {
		return true, 0
	}
	return l.l.allow(key, now)
}
