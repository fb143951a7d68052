package fax

import (
	"slices"
	"strings"
	"time"
)

// Scope is a permission an API key carries.
type Scope string

const (
	ScopeFaxSend        Scope = "fax:send"
	ScopeFaxRead        Scope = "fax:read"
	ScopeWebhooksManage Scope = "webhooks:manage"
	ScopeKeysManage     Scope = "keys:manage"
	// ScopeMetricsRead reads /metrics on the API listener, so that a
	// Prometheus scraper holds a key that can do nothing else.
	ScopeMetricsRead Scope = "metrics:read"
	// ScopeFaxDelete deletes faxes and their documents on request, apart
	// from fax:read so that few keys can destroy records.
	ScopeFaxDelete Scope = "fax:delete"
)

// AllScopes lists every scope; the admin key has them all.
func AllScopes() []Scope {
	return []Scope{ScopeFaxSend, ScopeFaxRead, ScopeWebhooksManage, ScopeKeysManage, ScopeMetricsRead, ScopeFaxDelete}
}

// ScopeNames lists every scope's name, for messages that say what is valid.
func ScopeNames() string {
	names := make([]string, 0, len(AllScopes()))
	for _, s := range AllScopes() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return slices.Contains(AllScopes(), s) }

// APIKey is a credential for the REST API. Only a hash of the key is stored.
type APIKey struct {
	ID         string
	Name       string
	Hash       string // hex SHA-256 of the key
	Prefix     string // first characters of the key, to recognise it
	Scopes     []Scope
	Admin      bool // the FAXGATE_ADMIN_KEY principal, never stored
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// Has reports whether k carries scope s.
func (k *APIKey) Has(s Scope) bool { return k.Admin || slices.Contains(k.Scopes, s) }

// CheckGrant refuses a key that would carry a scope its granter lacks: a key
// with keys:manage may hand out only what it holds, so that it cannot mint
// its way to more. The admin key holds every scope.
func CheckGrant(granter *APIKey, scopes []Scope) error {
	for _, s := range scopes {
		if !granter.Has(s) {
			return Errorf(ECodeForbidden, "this API key cannot grant the %s scope: a key may grant only scopes it holds", s)
		}
	}
	return nil
}
