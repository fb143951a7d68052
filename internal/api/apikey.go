package api

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

type apiKeyRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// NewAPIKey makes a key: "fgk_" and 32 random base32 characters (160 bits),
// and its hash and display prefix.
func NewAPIKey() (key, hash, prefix string) {
	key = "fgk_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(fax.RandomToken(20)))
	sum := sha256.Sum256([]byte(key))
	return key, hex.EncodeToString(sum[:]), key[:12]
}

func (s *Server) handleAPIKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var req apiKeyRequest
	if err := decodeJSON(r, 16<<10, &req); err != nil {
		return err
	}
	nk, err := fax.NewAPIKey(principal(r.Context()), req.Name, req.Scopes)
	if err != nil {
		return err
	}
	key, hash, prefix := NewAPIKey()
	nk.Hash, nk.Prefix = hash, prefix
	k, err := s.opts.Store.CreateAPIKey(r.Context(), nk)
	if err != nil {
		return err
	}
	s.audit(r, "api_key.create", "api_key", k.ID)
	s.log.InfoContext(r.Context(), "api key created", "key_id", k.ID, "by", principal(r.Context()).ID)
	out := wire.FromAPIKey(k)
	out.Key = key
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) handleAPIKeyList(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.opts.Store.FindAPIKeys(r.Context())
	if err != nil {
		return err
	}
	out := wire.List[wire.APIKey]{Data: make([]wire.APIKey, 0, len(ks))}
	for _, k := range ks {
		out.Data = append(out.Data, wire.FromAPIKey(k))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleAPIKeyDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !strings.HasPrefix(id, fax.PrefixAPIKey) || len(id) > 64 {
		return fax.Errorf(fax.ECodeNotFound, "API key %q not found", truncate(id, 64))
	}
	if err := s.opts.Store.DeleteAPIKey(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "api_key.revoke", "api_key", id)
	s.log.InfoContext(r.Context(), "api key revoked", "key_id", id, "by", principal(r.Context()).ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
