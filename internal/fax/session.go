package fax

import "time"

// Session is a console sign-in. The browser's cookie holds a random token;
// the store keeps only its SHA-256 (ID), so that a copy of the database
// does not hand out live sessions. The session remembers which key signed
// in (KeyID, and KeyHash, the SHA-256 the API already identifies keys by),
// never the key itself, and the console reads the key's scopes afresh on
// every request, so that a revoked key ends its sessions.
type Session struct {
	ID         string // hex SHA-256 of the cookie's token
	KeyID      string
	KeyHash    string
	CSRF       string // the token every state-changing form carries
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute expiry, whatever the activity
}
