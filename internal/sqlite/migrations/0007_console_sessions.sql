-- console_sessions are the console's sign-ins: the hash of the cookie's
-- token, the key that signed in (never the key itself) and the CSRF token.
-- Numbered 0007 because 0006 is taken by another change in flight.
CREATE TABLE console_sessions (
	id            TEXT PRIMARY KEY,
	key_id        TEXT NOT NULL,
	key_hash      TEXT NOT NULL,
	csrf          TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	last_seen_at  INTEGER NOT NULL,
	expires_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX console_sessions_key ON console_sessions (key_id);
