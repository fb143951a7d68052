-- A received fax is listed the moment its webhook is accepted, before its
-- document is fetched: document_status says where the document stands
-- (pending, available, unavailable; '' for outbound faxes) and
-- document_error why it is unavailable. Mirrors SQLite's 0011.
ALTER TABLE faxes ADD COLUMN document_status TEXT NOT NULL DEFAULT '';
ALTER TABLE faxes ADD COLUMN document_error TEXT NOT NULL DEFAULT '';
UPDATE faxes SET
	document_status = CASE WHEN document_key <> '' AND NOT document_purged THEN 'available' ELSE 'unavailable' END,
	document_error = CASE
		WHEN document_key <> '' AND NOT document_purged THEN ''
		WHEN document_purged THEN 'the document was deleted'
		ELSE coalesce(failure->>'Message', 'no document was received') END
	WHERE direction = 'inbound';
CREATE INDEX faxes_document_status ON faxes (document_status, id) WHERE direction = 'inbound';
