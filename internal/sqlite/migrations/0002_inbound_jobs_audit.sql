-- inbound_jobs holds received faxes whose document must be fetched (a
-- carrier file URL, a carrier API, an Asterisk spool file) after the
-- carrier's webhook was acknowledged.
CREATE TABLE inbound_jobs (
	id            TEXT PRIMARY KEY,
	provider      TEXT NOT NULL,
	event_key     TEXT NOT NULL,
	update_json   TEXT NOT NULL,
	status        TEXT NOT NULL,          -- pending, done, failed
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_at       INTEGER NOT NULL,
	lease_until   INTEGER,
	last_error    TEXT NOT NULL DEFAULT '',
	fax_id        TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE INDEX inbound_jobs_due ON inbound_jobs (next_at) WHERE status = 'pending';

-- audit records who did what to which ids, metadata only.
CREATE TABLE audit (
	id           TEXT PRIMARY KEY,
	at           INTEGER NOT NULL,
	actor        TEXT NOT NULL,
	action       TEXT NOT NULL,
	target_type  TEXT NOT NULL DEFAULT '',
	target_id    TEXT NOT NULL DEFAULT '',
	outcome      TEXT NOT NULL DEFAULT '',
	remote_addr  TEXT NOT NULL DEFAULT '',
	detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_action ON audit (action, id);
