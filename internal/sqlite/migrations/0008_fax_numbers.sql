-- The fax list filtered by number (GET /v1/faxes?to= or ?from=) reads newest
-- first; with id last, each index serves the filter and the order together.
CREATE INDEX faxes_to_number ON faxes (to_number, id);
CREATE INDEX faxes_from_number ON faxes (from_number, id);
