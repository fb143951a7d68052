-- Every carrier callback writes an event and a delivery for each endpoint
-- that wants it, one writer after another: each B-tree those rows touch is
-- work the writer does in its turn. Deliveries become WITHOUT ROWID tables
-- keyed by their id (one B-tree for the row and its id, not two), and the
-- unique (event_id, endpoint_id) index also serves lookups by event, so
-- deliveries_event goes: a delivery is written to four B-trees, not six.
-- Events stay rowid tables: their rows carry the fax's JSON, and large
-- rows belong in a table B-tree, not in the interior nodes of an index
-- one.
CREATE TABLE deliveries_v5 (
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
	UNIQUE (event_id, endpoint_id)
) WITHOUT ROWID;
INSERT INTO deliveries_v5 (id, endpoint_id, event_id, event_type, fax_id, status, attempt_count, next_attempt_at, lease_until, created_at, updated_at)
	SELECT id, endpoint_id, event_id, event_type, fax_id, status, attempt_count, next_attempt_at, lease_until, created_at, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_v5 RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id);
