package api

import (
	"net/http"

	"github.com/faxgate/faxgate/internal/fax"
)

// AuthenticateRequest finds the API key of r as every route does (Bearer or
// X-API-Key, admin keys included). Routes mounted beside the API, such as
// /mcp, use it to learn a caller's scopes.
func (s *Server) AuthenticateRequest(r *http.Request) (*fax.APIKey, error) { return s.authenticate(r) }

// RequireKey serves next only to a request with a valid API key, of any
// scope, counted against that key's rate limit; others get the API's 401 or
// 429. What the key may do is checked again by each API route it reaches.
func (s *Server) RequireKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="faxgate"`)
			s.writeError(w, r, err)
			return
		}
		if !s.limit(w, r, k) {
			return
		}
		next.ServeHTTP(w, r)
	})
}
