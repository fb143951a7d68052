-- faxgate schema v1. Times are Unix milliseconds, UTC.
CREATE TABLE faxes (
	id               TEXT PRIMARY KEY,
	direction        TEXT NOT NULL,
	status           TEXT NOT NULL,
	to_number        TEXT NOT NULL,
	from_number      TEXT NOT NULL DEFAULT '',
	provider         TEXT NOT NULL,
	provider_fax_id  TEXT NOT NULL DEFAULT '',
	pages            INTEGER NOT NULL DEFAULT 0,
	pages_sent       INTEGER NOT NULL DEFAULT 0,
	failure          TEXT,
	callback_url     TEXT NOT NULL DEFAULT '',
	header_text      TEXT NOT NULL DEFAULT '',
	document_key     TEXT NOT NULL DEFAULT '',
	document_type    TEXT NOT NULL DEFAULT '',
	document_size    INTEGER NOT NULL DEFAULT 0,
	document_sha256  TEXT NOT NULL DEFAULT '',
	document_purged  INTEGER NOT NULL DEFAULT 0,
	owner_key_id     TEXT NOT NULL DEFAULT '',
	idempotency_key  TEXT,
	request_hash     TEXT NOT NULL DEFAULT '',
	callback_token   TEXT NOT NULL DEFAULT '',
	dispatch_state   TEXT NOT NULL DEFAULT 'none',
	dispatch_at      INTEGER,
	lease_until      INTEGER,
	send_attempts    INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	completed_at     INTEGER
);
CREATE UNIQUE INDEX faxes_idempotency ON faxes (owner_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX faxes_provider_fax_id ON faxes (provider, provider_fax_id) WHERE provider_fax_id <> '';
CREATE INDEX faxes_dispatch ON faxes (dispatch_at) WHERE dispatch_state IN ('pending', 'inflight');
CREATE INDEX faxes_direction_status ON faxes (direction, status, id);

CREATE TABLE events (
	id          TEXT PRIMARY KEY,
	fax_id      TEXT NOT NULL,
	type        TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	data        BLOB NOT NULL
);
CREATE INDEX events_fax ON events (fax_id, id);

-- carrier_events deduplicates carrier callbacks and records those that
-- matched no fax, so that they are acknowledged once and kept for audit.
CREATE TABLE carrier_events (
	provider     TEXT NOT NULL,
	event_key    TEXT NOT NULL,
	fax_id       TEXT NOT NULL DEFAULT '',
	outcome      TEXT NOT NULL,
	received_at  INTEGER NOT NULL,
	PRIMARY KEY (provider, event_key)
) WITHOUT ROWID;

CREATE TABLE endpoints (
	id                          TEXT PRIMARY KEY,
	url                         TEXT NOT NULL,
	events                      TEXT NOT NULL DEFAULT '[]',
	inflight                    INTEGER NOT NULL DEFAULT 0,
	format                      TEXT NOT NULL DEFAULT 'json',
	numbers                     TEXT NOT NULL DEFAULT '[]',
	description                 TEXT NOT NULL DEFAULT '',
	api_version                 TEXT NOT NULL,
	secret                      TEXT NOT NULL,
	previous_secret             TEXT NOT NULL DEFAULT '',
	previous_secret_expires_at  INTEGER,
	fax_id                      TEXT NOT NULL DEFAULT '',
	enabled                     INTEGER NOT NULL DEFAULT 1,
	disabled_reason             TEXT NOT NULL DEFAULT '',
	owner_key_id                TEXT NOT NULL DEFAULT '',
	deleted                     INTEGER NOT NULL DEFAULT 0,
	created_at                  INTEGER NOT NULL,
	updated_at                  INTEGER NOT NULL
);
CREATE INDEX endpoints_fax ON endpoints (fax_id) WHERE fax_id <> '';

CREATE TABLE deliveries (
	id               TEXT PRIMARY KEY,
	endpoint_id      TEXT NOT NULL,
	event_id         TEXT NOT NULL,
	event_type       TEXT NOT NULL,
	fax_id           TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	attempt_count    INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER,
	lease_until      INTEGER,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	UNIQUE (endpoint_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE attempts (
	delivery_id    TEXT NOT NULL,
	n              INTEGER NOT NULL,
	at             INTEGER NOT NULL,
	status_code    INTEGER NOT NULL,
	latency_ms     INTEGER NOT NULL,
	error          TEXT NOT NULL,
	response_body  TEXT NOT NULL,
	PRIMARY KEY (delivery_id, n)
) WITHOUT ROWID;

CREATE TABLE api_keys (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	hash          TEXT NOT NULL UNIQUE,
	prefix        TEXT NOT NULL,
	scopes        TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	last_used_at  INTEGER,
	revoked_at    INTEGER
);

-- settings holds values faxgate generates once and keeps, such as the
-- secret that signs deliveries to faxes' own callback URLs.
CREATE TABLE settings (
	name   TEXT PRIMARY KEY,
	value  TEXT NOT NULL
) WITHOUT ROWID;
