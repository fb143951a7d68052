package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// TestServeAs: a request served as a principal gets exactly that
// principal's scopes and its audit rows, and a request from outside cannot
// claim a principal without a key.
func TestServeAs(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const admin = "serveas-admin-key-0123456789"
	s := api.New(api.Options{Store: st, Audit: st, AdminKeys: []string{admin}})
	ctx := context.Background()

	sum := sha256.Sum256([]byte("fgk_reader"))
	stored, err := st.CreateAPIKey(ctx, &fax.APIKey{Name: "reader", Hash: hex.EncodeToString(sum[:]), Prefix: "fgk_reader", Scopes: []fax.Scope{fax.ScopeFaxRead}})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := s.Authenticate(ctx, "fgk_reader")
	if err != nil || reader.ID != stored.ID {
		t.Fatalf("Authenticate: got %+v, %v; want the stored key", reader, err)
	}
	serve := func(k *fax.APIKey, method, path, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		if k == nil {
			s.ServeHTTP(w, r)
		} else {
			s.ServeAs(k, w, r)
		}
		return w
	}
	if w := serve(reader, "GET", "/v1/faxes", ""); w.Code != http.StatusOK {
		t.Errorf("reader lists faxes: got %d, want 200", w.Code)
	}
	if w := serve(reader, "POST", "/v1/api-keys", `{"name":"x","scopes":["fax:read"]}`); w.Code != http.StatusForbidden {
		t.Errorf("reader creates a key: got %d, want 403", w.Code)
	}
	if w := serve(nil, "GET", "/v1/faxes", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("no principal, no key: got %d, want 401", w.Code)
	}

	a, err := s.Authenticate(ctx, admin)
	if err != nil || !a.Admin || a.Hash == "" {
		t.Fatalf("Authenticate(admin): got %+v, %v", a, err)
	}
	if w := serve(a, "POST", "/v1/api-keys", `{"name":"x","scopes":["fax:read"]}`); w.Code != http.StatusCreated {
		t.Fatalf("admin creates a key: got %d, want 201", w.Code)
	}
	es, _, err := st.FindAudit(ctx, fax.AuditFilter{Action: "api_key.create"})
	if err != nil || len(es) != 1 || es[0].Actor != "admin" {
		t.Errorf("audit: got %+v, %v; want one row by admin", es, err)
	}

	// A session finds its key again by id and hash; a revoked key, a wrong
	// id or a hash of no key is unauthorized.
	if k, err := s.PrincipalByHash(ctx, stored.ID, stored.Hash); err != nil || !k.Has(fax.ScopeFaxRead) {
		t.Errorf("PrincipalByHash: got %+v, %v", k, err)
	}
	if k, err := s.PrincipalByHash(ctx, "admin", a.Hash); err != nil || !k.Admin {
		t.Errorf("PrincipalByHash(admin): got %+v, %v", k, err)
	}
	if _, err := s.PrincipalByHash(ctx, "admin", stored.Hash); fax.ErrorCode(err) != fax.ECodeUnauthorized {
		t.Errorf("a stored key's hash under the admin id: got %v, want unauthorized", err)
	}
	if _, err := s.PrincipalByHash(ctx, "key_x", "zz"); fax.ErrorCode(err) != fax.ECodeUnauthorized {
		t.Errorf("a malformed hash: got %v, want unauthorized", err)
	}
	if err := st.DeleteAPIKey(ctx, stored.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PrincipalByHash(ctx, stored.ID, stored.Hash); fax.ErrorCode(err) != fax.ECodeUnauthorized {
		t.Errorf("a revoked key: got %v, want unauthorized", err)
	}
}
