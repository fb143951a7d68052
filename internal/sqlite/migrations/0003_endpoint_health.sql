-- An endpoint that keeps failing without a success is disabled after a
-- while; these columns track how long it has been failing.
ALTER TABLE endpoints ADD COLUMN failing_since INTEGER;
ALTER TABLE endpoints ADD COLUMN last_success_at INTEGER;
