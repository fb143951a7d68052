package postgres

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestResourceError: PostgreSQL refusing a write for want of a resource
// (disk full, out of memory, too many connections, shutting down, read
// only) is the service being unavailable, so callers answer 503 and
// carriers retry; a constraint or syntax error is not.
func TestResourceError(t *testing.T) {
	for code, want := range map[string]string{
		"53100": fax.ECodeUnavailable, // disk_full
		"53200": fax.ECodeUnavailable, // out_of_memory
		"53300": fax.ECodeUnavailable, // too_many_connections
		"57P01": fax.ECodeUnavailable, // admin_shutdown
		"08006": fax.ECodeUnavailable, // connection_failure
		"25006": fax.ECodeUnavailable, // read_only_sql_transaction
		"23505": fax.ECodeInternal,    // unique_violation
		"42601": fax.ECodeInternal,    // syntax_error
	} {
		cause := &pgconn.PgError{Code: code, Message: "m"}
		err := resourceError(fmt.Errorf("postgres: commit: %w", cause))
		if got := fax.ErrorCode(err); got != want {
			t.Errorf("%s: got %s, want %s", code, got, want)
		}
		if !errors.Is(err, cause) {
			t.Errorf("%s: the cause was lost: %v", code, err)
		}
	}
	if err := resourceError(fax.Errorf(fax.ECodeNotFound, "no")); fax.ErrorCode(err) != fax.ECodeNotFound {
		t.Errorf("a domain error changed: %v", err)
	}
}
