-- sms records text messages sent through carriers that offer SMS (GoFax).
-- The text itself is not kept: only its length. Mirrors SQLite's 0004.
CREATE TABLE sms (
	id               TEXT COLLATE "C" PRIMARY KEY,
	to_number        TEXT NOT NULL,
	text_length      INTEGER NOT NULL,
	provider         TEXT NOT NULL,
	provider_sms_id  TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,
	failure          JSON,
	owner_key_id     TEXT NOT NULL DEFAULT '',
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	completed_at     BIGINT
);
CREATE INDEX sms_provider_id ON sms (provider, provider_sms_id) WHERE provider_sms_id <> '';

-- The retention job looks for final faxes whose document is still stored.
CREATE INDEX faxes_retention ON faxes (direction, completed_at) WHERE document_key <> '' AND NOT document_purged AND completed_at IS NOT NULL;
