-- sms records text messages sent through carriers that offer SMS (GoFax).
-- The text itself is not kept: only its length.
CREATE TABLE sms (
	id               TEXT PRIMARY KEY,
	to_number        TEXT NOT NULL,
	text_length      INTEGER NOT NULL,
	provider         TEXT NOT NULL,
	provider_sms_id  TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	failure          TEXT,
	owner_key_id     TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	completed_at     INTEGER
);
CREATE INDEX sms_provider_id ON sms (provider, provider_sms_id) WHERE provider_sms_id <> '';
