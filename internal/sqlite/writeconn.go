package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// maxStmts bounds the writer's statement cache. Every write statement in
// this package is a constant, so the cache fills once and stays; the bound
// only guards against a future statement built from data.
const maxStmts = 512

// writeConn is the writer goroutine's one connection to the database,
// with every statement it ran prepared once and kept. Compiling SQL costs
// more than running it; a carrier callback runs about eight statements.
// Transactions are begun and ended with SQL on the connection itself, so
// the cached statements need no re-preparing per transaction. Only the
// writer goroutine uses it.
type writeConn struct {
	conn  *sql.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	*sql.Stmt
	// writesEndpoints: running the statement may change which endpoints
	// events are routed to, so the route cache must not be trusted for the
	// rest of the transaction.
	writesEndpoints bool
}

func newWriteConn(ctx context.Context, db *sql.DB) (*writeConn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: writer connection: %w", err)
	}
	return &writeConn{conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c *writeConn) close() error {
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
	return c.conn.Close()
}

// stmt returns query prepared, or nil when the cache is full and query is
// not in it.
func (c *writeConn) stmt(query string) (*cachedStmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxStmts {
		return nil, nil
	}
	st, err := c.conn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{Stmt: st, writesEndpoints: writesEndpoints(query)}
	c.stmts[query] = cs
	return cs, nil
}

// exec runs a statement outside any operation: transaction control.
func (c *writeConn) exec(query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.conn.ExecContext(context.Background(), query, args...)
	}
	return st.Exec(args...)
}

// Exec runs a statement in the transaction.
func (tx *wtx) Exec(query string, args ...any) (sql.Result, error) {
	st, err := tx.c.stmt(query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		tx.endpointsChanged = tx.endpointsChanged || writesEndpoints(query)
		return tx.c.conn.ExecContext(context.Background(), query, args...)
	}
	tx.endpointsChanged = tx.endpointsChanged || st.writesEndpoints
	return st.Exec(args...)
}

// Query runs a query in the transaction.
func (tx *wtx) Query(query string, args ...any) (*sql.Rows, error) {
	st, err := tx.c.stmt(query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return tx.c.conn.QueryContext(context.Background(), query, args...)
	}
	return st.Query(args...)
}

// QueryRow runs a query for one row in the transaction.
func (tx *wtx) QueryRow(query string, args ...any) *sql.Row {
	st, err := tx.c.stmt(query)
	if err != nil || st == nil {
		// The connection reports the same error through the Row.
		return tx.c.conn.QueryRowContext(context.Background(), query, args...)
	}
	return st.QueryRow(args...)
}

// healthColumns are the endpoints columns routing never reads: recording
// an attempt's outcome updates them without invalidating routes.
var healthColumns = map[string]bool{"failing_since": true, "last_success_at": true}

// writesEndpoints reports whether a statement may write the endpoints
// table in a way routing sees: any INSERT, DELETE or REPLACE naming it, or
// an UPDATE of it that sets more than the health columns. It errs towards
// yes; a yes only costs a cache reload.
func writesEndpoints(query string) bool {
	q := strings.ToLower(strings.Join(strings.Fields(query), " "))
	if !strings.Contains(q, "endpoints") || strings.HasPrefix(q, "select ") || strings.HasPrefix(q, "pragma ") {
		return false
	}
	rest, ok := strings.CutPrefix(q, "update endpoints set ")
	if !ok {
		return true
	}
	set, _, _ := strings.Cut(rest, " where ")
	for _, assign := range strings.Split(set, ",") {
		col, _, _ := strings.Cut(assign, "=")
		if !healthColumns[strings.TrimSpace(col)] {
			return true
		}
	}
	return false
}
