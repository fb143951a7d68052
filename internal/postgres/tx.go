package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/faxgate/faxgate/internal/fax"
)

// wake flags record what work a transaction created.
const (
	wakeFax = 1 << iota
	wakeDelivery
	wakeInbound
	wakeEndpoint // an endpoint was disabled or deleted
)

// workChannel is the NOTIFY channel every instance LISTENs on; the payload
// is the kind of work: "fax", "delivery" or "inbound", or "endpoint" when
// a webhook endpoint was disabled or deleted.
const workChannel = "faxgate_work"

var wakeKinds = []struct {
	flag int
	kind string
}{{wakeFax, "fax"}, {wakeDelivery, "delivery"}, {wakeInbound, "inbound"}, {wakeEndpoint, "endpoint"}}

// wtx is one write transaction on one pooled connection. Statements are
// queued and sent in batches: the BEGIN goes with the first batch, writes
// wait for the next read (which needs their effects) or for the COMMIT, so
// that a typical transaction costs two round trips. Reads flush the queue.
type wtx struct {
	ctx  context.Context
	conn *pgxpool.Conn
	b    *pgx.Batch
	wake int
}

// queue adds a statement to the next batch. Callers may attach a callback
// (QueryRow, Query, Exec) that runs when the batch's results arrive.
func (w *wtx) queue(sql string, args ...any) *pgx.QueuedQuery {
	return w.b.Queue(sql, args...)
}

// flush sends the queued statements and runs their callbacks, and returns
// the first error. Callbacks should not fail for an expected missing row
// (see queueRow).
func (w *wtx) flush() error { return w.send(w.ctx) }

func (w *wtx) send(ctx context.Context) error {
	if w.b.Len() == 0 {
		return nil
	}
	b := w.b
	w.b = &pgx.Batch{}
	return w.conn.SendBatch(ctx, b).Close()
}

// row runs a query after the queued writes, in the same round trip, and
// scans its one row; no row is pgx.ErrNoRows.
func (w *wtx) row(sql string, args ...any) txRow { return txRow{w, sql, args} }

type txRow struct {
	w    *wtx
	sql  string
	args []any
}

func (r txRow) Scan(dest ...any) error {
	var found bool
	r.w.queueRow(&found, func(row pgx.Row) error { return row.Scan(dest...) }, r.sql, r.args...)
	if err := r.w.flush(); err != nil {
		return err
	}
	if !found {
		return pgx.ErrNoRows
	}
	return nil
}

// queueRow queues a query of at most one row, read by scan when the batch
// is sent; *found then says whether there was a row. A missing row is not
// an error of the batch, because pgx forgets the prepared statements of a
// batch that fails.
func (w *wtx) queueRow(found *bool, scan func(pgx.Row) error, sql string, args ...any) {
	w.queue(sql, args...).QueryRow(func(row pgx.Row) error {
		err := scan(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		*found = err == nil
		return err
	})
}

// query runs a query after the queued writes and calls fn with its rows.
func (w *wtx) query(fn func(pgx.Rows) error, sql string, args ...any) error {
	w.queue(sql, args...).Query(fn)
	return w.flush()
}

// exec runs a statement after the queued writes and returns how many rows
// it affected.
func (w *wtx) exec(sql string, args ...any) (int64, error) {
	var n int64
	w.queue(sql, args...).Exec(func(ct pgconn.CommandTag) error { n = ct.RowsAffected(); return nil })
	err := w.flush()
	return n, err
}

// maxTxAttempts bounds the retries of a transaction that PostgreSQL aborted
// for a deadlock or a serialization failure.
const maxTxAttempts = 5

// write runs fn in a transaction and commits it, with a NOTIFY for the work
// it created. A transaction aborted by a deadlock or serialization failure
// is retried from the start, so fn must set its results afresh each time.
// Once the COMMIT is sent, write waits for its outcome even if ctx ends, so
// a caller never mistakes a committed change for a failed one.
func (s *Store) write(ctx context.Context, fn func(*wtx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || attempt == maxTxAttempts || !retryable(err) {
			return resourceError(err)
		}
		s.log.Debug("retrying transaction", "attempt", attempt, "err", err)
		wait := time.Duration(attempt) * time.Duration(1+rand.IntN(10)) * time.Millisecond
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(*wtx) error) error {
	if s.closed.Load() {
		return errClosed
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		if s.closed.Load() {
			return errClosed
		}
		return fmt.Errorf("postgres: acquire connection: %w", err)
	}
	defer func() {
		pc := conn.Conn().PgConn()
		if !pc.IsClosed() && !pc.IsBusy() && pc.TxStatus() != 'I' {
			// A failed transaction; a connection that cannot roll back
			// is destroyed by Release.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
		conn.Release()
	}()
	w := &wtx{ctx: ctx, conn: conn, b: &pgx.Batch{}}
	w.queue("BEGIN")
	if err := fn(w); err != nil {
		return err
	}
	if w.b.Len() == 1 && conn.Conn().PgConn().TxStatus() == 'I' {
		return nil // fn did nothing: only the BEGIN is queued
	}
	// Work is announced to every instance: by this transaction's own
	// NOTIFY, or, when its kind was announced under notifyEvery ago, by a
	// trailing one after the commit (see notifier).
	deferred := 0
	now := time.Now()
	for _, k := range wakeKinds {
		if w.wake&k.flag == 0 {
			continue
		}
		if s.notes.take(k.flag, now) {
			w.queue("NOTIFY " + workChannel + ", '" + k.kind + "'")
		} else {
			deferred |= k.flag
		}
	}
	// A callback's error must not come after the COMMIT has run, so queued
	// reads go first, alone.
	for _, q := range w.b.QueuedQueries {
		if q.Fn != nil {
			if err := w.flush(); err != nil {
				return err
			}
			break
		}
	}
	var committed bool
	w.queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		committed = ct.String() == "COMMIT"
		return nil
	})
	if err := w.send(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	if !committed {
		return fmt.Errorf("postgres: commit: the transaction had failed and was rolled back")
	}
	s.notes.later(deferred)
	if s.onWork != nil {
		// This instance hears of its own work at once, not when the
		// NOTIFY comes back (a repeat wake is harmless: wakes collapse).
		for _, k := range wakeKinds {
			if w.wake&k.flag != 0 {
				s.onWork(k.kind)
			}
		}
	}
	return nil
}

// retryable reports whether PostgreSQL aborted a transaction only because
// of its timing with others.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
}

// resourceError marks err as the service being unavailable (the API
// answers 503 and carriers retry) when PostgreSQL
// refused it for want of a resource (class 53: disk full, out of memory,
// too many connections; class 57: the server shutting down or a query
// canceled by an operator; class 08: the connection failing; read-only
// during recovery). The write was not committed, so the caller may retry.
func resourceError(err error) error {
	if err == nil || fax.ErrorCode(err) != fax.ECodeInternal {
		return err
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57"), strings.HasPrefix(pe.Code, "08"), pe.Code == "25006":
		return fax.Because(err, fax.ECodeUnavailable, "the database cannot take writes right now (disk full, out of resources or shutting down); try again shortly")
	}
	return err
}

// uniqueViolation reports whether err is a unique violation of constraint
// (any constraint when it is "").
func uniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "23505" && (constraint == "" || pe.ConstraintName == constraint)
}
