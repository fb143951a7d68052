-- A received fax is listed the moment its webhook is accepted, before its
-- document is fetched: document_status says where the document stands
-- (pending, available, unavailable; '' for outbound faxes) and
-- document_error why it is unavailable. Faxes received before this
-- migration had settled: available, or unavailable when purged or never had one.
ALTER TABLE faxes ADD COLUMN document_status TEXT NOT NULL DEFAULT '';
ALTER TABLE faxes ADD COLUMN document_error TEXT NOT NULL DEFAULT '';
UPDATE faxes SET
	document_status = CASE WHEN document_key <> '' AND document_purged = 0 THEN 'available' ELSE 'unavailable' END,
	document_error = CASE
		WHEN document_key <> '' AND document_purged = 0 THEN ''
		WHEN document_purged <> 0 THEN 'the document was deleted'
		ELSE coalesce(json_extract(failure, '$.Message'), 'no document was received') END
	WHERE direction = 'inbound';
-- GET /v1/faxes?document_status= reads newest first among received faxes.
CREATE INDEX faxes_document_status ON faxes (document_status, id) WHERE direction = 'inbound';
