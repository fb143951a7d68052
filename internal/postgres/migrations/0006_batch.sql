-- A send to several numbers makes one fax per number under one batch_id;
-- NULL for every other fax, so that the partial index holds batches only.
-- Mirrors SQLite's 0009.
ALTER TABLE faxes ADD COLUMN batch_id TEXT;
-- Each list filter (GET /v1/faxes) has an index that serves it with the
-- newest-first order; created_at serves the time range.
CREATE INDEX faxes_batch ON faxes (batch_id, id) WHERE batch_id IS NOT NULL;
CREATE INDEX faxes_provider_id ON faxes (provider, id);
CREATE INDEX faxes_created ON faxes (created_at);
