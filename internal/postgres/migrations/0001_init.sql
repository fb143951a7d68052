-- faxgate schema v1 for PostgreSQL. It mirrors the SQLite store's schema
-- (internal/sqlite/migrations 0001-0003) so that both behave alike: times
-- are Unix milliseconds (UTC) in BIGINT columns, identifiers are ULIDs that
-- sort by creation time, compared byte-wise (COLLATE "C") for cursors.

CREATE TABLE faxes (
	id               TEXT COLLATE "C" PRIMARY KEY,
	direction        TEXT NOT NULL,
	status           TEXT NOT NULL,
	to_number        TEXT NOT NULL,
	from_number      TEXT NOT NULL DEFAULT '',
	provider         TEXT NOT NULL,
	provider_fax_id  TEXT NOT NULL DEFAULT '',
	pages            INTEGER NOT NULL DEFAULT 0,
	pages_sent       INTEGER NOT NULL DEFAULT 0,
	failure          JSON,
	callback_url     TEXT NOT NULL DEFAULT '',
	header_text      TEXT NOT NULL DEFAULT '',
	document_key     TEXT NOT NULL DEFAULT '',
	document_type    TEXT NOT NULL DEFAULT '',
	document_size    BIGINT NOT NULL DEFAULT 0,
	document_sha256  TEXT NOT NULL DEFAULT '',
	document_purged  BOOLEAN NOT NULL DEFAULT false,
	owner_key_id     TEXT NOT NULL DEFAULT '',
	idempotency_key  TEXT,
	request_hash     TEXT NOT NULL DEFAULT '',
	callback_token   TEXT NOT NULL DEFAULT '',
	-- dispatch_state: none (inbound), pending (due at dispatch_at),
	-- inflight (claimed until lease_until), handed, done.
	dispatch_state   TEXT NOT NULL DEFAULT 'none',
	dispatch_at      BIGINT,
	lease_until      BIGINT,
	send_attempts    INTEGER NOT NULL DEFAULT 0,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	completed_at     BIGINT
);
-- A concurrent duplicate insert fails on this index (SQLSTATE 23505); the
-- store then returns the fax that won.
CREATE UNIQUE INDEX faxes_idempotency ON faxes (owner_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX faxes_provider_fax_id ON faxes (provider, provider_fax_id) WHERE provider_fax_id <> '';
CREATE INDEX faxes_dispatch ON faxes (dispatch_at, id) WHERE dispatch_state = 'pending';
CREATE INDEX faxes_lease ON faxes (lease_until) WHERE dispatch_state = 'inflight';
CREATE INDEX faxes_direction_status ON faxes (direction, status, id);

-- Carrier-supplied JSON (faxes.failure, inbound_jobs.update_json) and
-- event payloads are json, not jsonb: kept byte for byte, and a \u0000 in a
-- carrier's text is accepted. events.data is the payload users receive. seq orders a fax's timeline: events of
-- one fax are recorded under its row lock, so seq follows recording order
-- even when several instances with slightly different clocks record them.
CREATE TABLE events (
	id          TEXT COLLATE "C" PRIMARY KEY,
	seq         BIGINT GENERATED ALWAYS AS IDENTITY,
	fax_id      TEXT COLLATE "C" NOT NULL,
	type        TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	data        JSON NOT NULL
);
CREATE INDEX events_fax ON events (fax_id, seq);

-- carrier_events deduplicates carrier callbacks and records those that
-- matched no fax, so that they are acknowledged once and kept for audit.
CREATE TABLE carrier_events (
	provider     TEXT NOT NULL,
	event_key    TEXT NOT NULL,
	fax_id       TEXT NOT NULL DEFAULT '',
	outcome      TEXT NOT NULL,
	received_at  BIGINT NOT NULL,
	PRIMARY KEY (provider, event_key)
);

CREATE TABLE endpoints (
	id                          TEXT COLLATE "C" PRIMARY KEY,
	url                         TEXT NOT NULL,
	events                      JSONB NOT NULL DEFAULT '[]',
	inflight                    BOOLEAN NOT NULL DEFAULT false,
	format                      TEXT NOT NULL DEFAULT 'json',
	numbers                     JSONB NOT NULL DEFAULT '[]',
	description                 TEXT NOT NULL DEFAULT '',
	api_version                 TEXT NOT NULL,
	secret                      TEXT NOT NULL,
	previous_secret             TEXT NOT NULL DEFAULT '',
	previous_secret_expires_at  BIGINT,
	fax_id                      TEXT COLLATE "C" NOT NULL DEFAULT '',
	enabled                     BOOLEAN NOT NULL DEFAULT true,
	disabled_reason             TEXT NOT NULL DEFAULT '',
	owner_key_id                TEXT NOT NULL DEFAULT '',
	deleted                     BOOLEAN NOT NULL DEFAULT false,
	-- An endpoint that keeps failing without a success is disabled after a
	-- while; these columns track how long it has been failing.
	failing_since               BIGINT,
	last_success_at             BIGINT,
	created_at                  BIGINT NOT NULL,
	updated_at                  BIGINT NOT NULL
);
CREATE INDEX endpoints_fax ON endpoints (fax_id) WHERE fax_id <> '';
CREATE INDEX endpoints_routable ON endpoints (id) WHERE enabled AND NOT deleted AND fax_id = '';

CREATE TABLE deliveries (
	id               TEXT COLLATE "C" PRIMARY KEY,
	endpoint_id      TEXT COLLATE "C" NOT NULL,
	event_id         TEXT COLLATE "C" NOT NULL,
	event_type       TEXT NOT NULL,
	fax_id           TEXT COLLATE "C" NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	attempt_count    INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  BIGINT,
	lease_until      BIGINT,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	UNIQUE (endpoint_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_fax ON deliveries (fax_id, id) WHERE fax_id <> '';

CREATE TABLE attempts (
	delivery_id    TEXT COLLATE "C" NOT NULL,
	n              INTEGER NOT NULL,
	at             BIGINT NOT NULL,
	status_code    INTEGER NOT NULL,
	latency_ms     BIGINT NOT NULL,
	error          TEXT NOT NULL,
	response_body  TEXT NOT NULL,
	PRIMARY KEY (delivery_id, n)
);

CREATE TABLE api_keys (
	id            TEXT COLLATE "C" PRIMARY KEY,
	name          TEXT NOT NULL,
	hash          TEXT NOT NULL UNIQUE,
	prefix        TEXT NOT NULL,
	scopes        JSONB NOT NULL,
	created_at    BIGINT NOT NULL,
	last_used_at  BIGINT,
	revoked_at    BIGINT
);

-- settings holds values faxgate generates once and keeps, such as the
-- secret that signs deliveries to faxes' own callback URLs.
CREATE TABLE settings (
	name   TEXT PRIMARY KEY,
	value  TEXT NOT NULL
);

-- inbound_jobs holds received faxes whose document must be fetched (a
-- carrier file URL, a carrier API, an Asterisk spool file) after the
-- carrier's webhook was acknowledged.
CREATE TABLE inbound_jobs (
	id            TEXT COLLATE "C" PRIMARY KEY,
	provider      TEXT NOT NULL,
	event_key     TEXT NOT NULL,
	update_json   JSON NOT NULL,
	status        TEXT NOT NULL,          -- pending, done, failed
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_at       BIGINT NOT NULL,
	lease_until   BIGINT,
	last_error    TEXT NOT NULL DEFAULT '',
	fax_id        TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);
CREATE INDEX inbound_jobs_due ON inbound_jobs (next_at, id) WHERE status = 'pending';

-- audit records who did what to which ids, metadata only.
CREATE TABLE audit (
	id           TEXT COLLATE "C" PRIMARY KEY,
	at           BIGINT NOT NULL,
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
