package fax

import (
	"slices"
	"time"
)

// Scope is a permission an API key carries.
type Scope string

const (
	ScopeFaxSend        Scope = "fax:send"
	ScopeFaxRead        Scope = "fax:read"
	ScopeWebhooksManage Scope = "webhooks:manage"
	ScopeKeysManage     Scope = "keys:manage"
)

// AllScopes lists every scope; the admin key has them all.
func AllScopes() []Scope {
	return []Scope{ScopeFaxSend, ScopeFaxRead, ScopeWebhooksManage, ScopeKeysManage}
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
