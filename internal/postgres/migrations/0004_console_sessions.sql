-- console_sessions are the console's sign-ins: the hash of the cookie's
-- token, the key that signed in (never the key itself) and the CSRF token.
-- Mirrors SQLite's 0007; numbered 0004 because 0003 is taken by another
-- change in flight.
CREATE TABLE console_sessions (
	id            TEXT COLLATE "C" PRIMARY KEY,
	key_id        TEXT NOT NULL,
	key_hash      TEXT NOT NULL,
	csrf          TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	last_seen_at  BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL
);
CREATE INDEX console_sessions_key ON console_sessions (key_id);
