-- Redial and carrier failover. max_attempts is how many times in all the
-- number may be dialed (0 counts as 1: faxes from before redial are not
-- redialed); attempts holds, as JSON, the earlier tries that ended without
-- the fax (a redial or a failover), NULL while there are none.
ALTER TABLE faxes ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE faxes ADD COLUMN attempts TEXT;
