-- A fax's row is rewritten by every carrier callback about it (a page
-- sent, a status). With room left on its page the new version goes beside
-- the old (a HOT update) and none of the table's indexes is touched; with
-- pages filled to the brim most updates move the row and write every
-- index. PostgreSQL only: SQLite rewrites rows in place. Takes a lock that
-- lets reads and writes through; pages written from now on keep the room.
ALTER TABLE faxes SET (fillfactor = 70);
