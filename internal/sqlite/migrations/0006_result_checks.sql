-- Result checks. handed_at is when a fax was handed to its carrier or held
-- as not confirmed; its result timeout counts from then. A handed fax's
-- dispatch_at is when faxgate next asks the carrier for its result.
ALTER TABLE faxes ADD COLUMN handed_at INTEGER;
UPDATE faxes SET handed_at = updated_at, dispatch_at = updated_at WHERE dispatch_state = 'handed';
CREATE INDEX faxes_check ON faxes (dispatch_at) WHERE dispatch_state = 'handed';
-- on_wire is set just before a send goes out and cleared when the carrier
-- clearly did not take it: a lease that runs out on a fax not on the wire
-- is sent again at once, one on the wire is resolved with the carrier.
ALTER TABLE faxes ADD COLUMN on_wire INTEGER NOT NULL DEFAULT 0;
UPDATE faxes SET on_wire = 1 WHERE dispatch_state = 'inflight';
-- Claims take free slots per carrier, so each carrier's queue is read on
-- its own.
CREATE INDEX faxes_dispatch_provider ON faxes (provider, dispatch_at) WHERE dispatch_state IN ('pending', 'inflight');
