package sqlite

import (
	"context"
	"database/sql"
	"fmt"
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
	cs := &cachedStmt{Stmt: st}
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
		return tx.c.conn.ExecContext(context.Background(), query, args...)
	}
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
