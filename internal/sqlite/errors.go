package sqlite

import (
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/faxgate/faxgate/internal/fax"
)

// resourceError marks err as the service being unavailable (the API
// answers 503 with Retry-After, carriers retry) when it is the database
// failing for want of a resource (its disk full or failing, memory, its
// file locked or unopenable) rather than the operation being wrong. Nothing
// of a failed write was stored, so the caller may retry; once the resource
// is back (space freed), writes succeed again without a restart. Any other
// error is returned as it is.
func resourceError(err error) error {
	if err == nil || fax.ErrorCode(err) != fax.ECodeInternal {
		return err
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL:
		return unavailable(err)
	}
	return err
}

// unavailable keeps the database's own error for the log while telling
// the caller to try again.
func unavailable(cause error) error {
	return fax.Because(cause, fax.ECodeUnavailable, "the database cannot take writes right now (disk full or failing); try again shortly")
}
