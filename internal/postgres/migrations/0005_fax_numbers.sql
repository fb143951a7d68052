-- faxgate:no-transaction
-- The fax list filtered by number (GET /v1/faxes?to= or ?from=) reads newest
-- first; with id last, each index serves the filter and the order together.
-- Mirrors SQLite's 0008. Built concurrently, so that instances still running
-- on a large faxes table keep writing while an upgrade builds them; a build
-- that failed part-way leaves an invalid index, dropped before trying again.
DROP INDEX CONCURRENTLY IF EXISTS faxes_to_number;
CREATE INDEX CONCURRENTLY faxes_to_number ON faxes (to_number, id);
DROP INDEX CONCURRENTLY IF EXISTS faxes_from_number;
CREATE INDEX CONCURRENTLY faxes_from_number ON faxes (from_number, id);
