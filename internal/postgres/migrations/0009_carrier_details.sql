-- What the carrier told about a fax's call, when it did (issue 20): the
-- remote station id, the caller id as given, the transmission time and the
-- negotiated speed. NULL is "the carrier did not say". Mirrors SQLite's 0012.
ALTER TABLE faxes ADD COLUMN station_id TEXT;
ALTER TABLE faxes ADD COLUMN caller_id TEXT;
ALTER TABLE faxes ADD COLUMN duration_seconds INTEGER;
ALTER TABLE faxes ADD COLUMN bit_rate INTEGER;
