package gofax

import (
	"net/http"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// FuzzPreverifyCallback: PreverifyCallback refuses from the headers and
// the query alone only what VerifyCallback would refuse whatever the form
// in the body (VerifyCallback still runs on every body, so authenticating early only
// spares the callback the bound on unverified bodies).
func FuzzPreverifyCallback(f *testing.F) {
	seedFixtures(f)
	configs := []Config{testConfig(), {Tokens: []string{testAPIToken}}, {Tokens: []string{testAPIToken}, Insecure: true, CallbackTokenFunc: storedTokens}}
	var ps []*Provider
	for _, c := range configs {
		ps = append(ps, mustNew(f, c))
	}
	f.Fuzz(func(t *testing.T, query, authz, contentType string, body []byte) {
		for i, p := range ps {
			for _, pre := range []func(*http.Request) (bool, error){p.PreverifyCallback, p.PreverifyInbound} {
				r := fuzzRequest(CallbackPath, query, authz, contentType)
				ok, err := pre(r)
				if code := fax.ErrorCode(err); code != "" && code != fax.ECodeUnauthorized {
					t.Fatalf("config %d: got code %q (%v), want unauthorized or nil", i, code, err)
				}
				checkNoSecret(t, err)
				if ok && err != nil {
					t.Fatalf("config %d: authenticated and refused at once: %v", i, err)
				}
			}
			_, err := p.PreverifyCallback(fuzzRequest(CallbackPath, query, authz, contentType))
			verr := p.VerifyCallback(fuzzRequest(CallbackPath, query, authz, contentType), body)
			// A body that is no form is refused by the parser anyway.
			_, ferr := readForm(fuzzRequest(CallbackPath, query, authz, contentType), body)
			if err != nil && verr == nil && ferr == nil {
				t.Fatalf("config %d: preverify refused query %q (%v), verify accepted", i, query, err)
			}
		}
	})
}
