-- faxgate:no-transaction
-- Cheaper delivery writes (issue 22). Every delivery is updated at least
-- twice: its lease, which changes no indexed column, and its outcome. Free
-- room in each page (fillfactor) lets the lease be a HOT update, which
-- writes no index entry; new rows leave the room, rows already stored keep
-- their pages as they are. The unique (event_id, endpoint_id) index takes
-- the place of both the (endpoint_id, event_id) constraint, whose ON
-- CONFLICT it serves as well, and deliveries_event: an outcome, never HOT
-- (it changes status), then writes 4 indexes instead of 5. Mirrors the
-- SQLite store's WITHOUT ROWID table and its (event_id, endpoint_id) key.
--
-- Safe to run again after a failure part-way: a failed build leaves an
-- invalid index, dropped first; the constraint goes last, so that the
-- deliveries' ON CONFLICT always has a valid unique index to use.
ALTER TABLE deliveries SET (fillfactor = 70);
DROP INDEX CONCURRENTLY IF EXISTS deliveries_event_endpoint;
CREATE UNIQUE INDEX CONCURRENTLY deliveries_event_endpoint ON deliveries (event_id, endpoint_id);
DROP INDEX CONCURRENTLY IF EXISTS deliveries_event;
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_endpoint_id_event_id_key;
