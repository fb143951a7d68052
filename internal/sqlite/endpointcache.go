package sqlite

import (
	"fmt"

	"github.com/faxgate/faxgate/internal/fax"
)

// endpointCache keeps the enabled global endpoints (not a fax's own
// callback endpoint) between transactions, so that recording an event
// does not read the endpoints table each time. It holds only committed
// state: it is filled only by a transaction that has not written the table
// (as its store methods say, through wtx.endpointsWritten, never guessed
// from SQL text), and emptied when one that has ends, and when PRAGMA
// data_version says another connection (another process such as faxgate
// keys) changed the database. The writer goroutine alone uses it.
type endpointCache struct {
	global      []*fax.Endpoint
	valid       bool
	dataVersion int64
}

// beginTx checks, at the start of a transaction, whether another
// connection changed the database since the last one.
func (c *endpointCache) beginTx(wc *writeConn) error {
	var v int64
	st, err := wc.stmt("PRAGMA data_version")
	if err == nil && st != nil {
		err = st.QueryRow().Scan(&v)
	}
	if err != nil {
		return fmt.Errorf("sqlite: data version: %w", err)
	}
	if v != c.dataVersion {
		c.dataVersion, c.valid, c.global = v, false, nil
	}
	return nil
}

// endTx drops the cache after a transaction that wrote endpoints, committed
// or not.
func (c *endpointCache) endTx(tx *wtx) {
	if tx.endpointsChanged {
		c.valid, c.global = false, nil
	}
}

// globalEndpoints returns the enabled global endpoints as tx sees them.
// The slice and its endpoints are shared: callers must not change them.
func (s *Store) globalEndpoints(tx *wtx) ([]*fax.Endpoint, error) {
	if s.routes.valid && !tx.endpointsChanged {
		return s.routes.global, nil
	}
	eps, err := queryEndpoints(tx, `SELECT `+endpointColumns+` FROM endpoints WHERE enabled = 1 AND deleted = 0 AND fax_id = ''`)
	if err != nil {
		return nil, err
	}
	if !tx.endpointsChanged {
		s.routes.global, s.routes.valid = eps, true
	}
	return eps, nil
}

func queryEndpoints(tx *wtx, query string, args ...any) ([]*fax.Endpoint, error) {
	rows, err := tx.Query(query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: routable endpoints: %w", err)
	}
	defer rows.Close()
	var out []*fax.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: routable endpoints: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
