package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// lead is a held leadership: a session of its own, outside the pool, that
// owns an advisory lock.
type lead struct {
	s    *Store
	name string
	conn *pgx.Conn
	once sync.Once
}

// TryLead makes this instance the one that runs the periodic job name (a
// sweep, a purge) until release is called, if no other instance leads it;
// ok says whether it does. It never waits.
//
// Leadership is a session-level pg_try_advisory_lock(hashtext(name)) taken
// on a connection of its own to Options.DirectURL and held until release,
// so each lead costs one connection besides the pool for its duration. The
// session is kept out of the pool because a pooler in transaction mode
// (PgBouncer) hands a pooled connection's statements to any server
// session, and a session-level lock then stays with a session nobody
// holds. PostgreSQL releases the lock when the session ends, so the lead of
// an instance that crashes or loses its connection passes to the next
// instance that tries; a job run under a lead must therefore tolerate,
// rarely, two runs overlapping (as periodic, idempotent jobs do). release
// is safe to call more than once; Close releases every lead still held.
func (s *Store) TryLead(ctx context.Context, name string) (release func(), ok bool, err error) {
	if s.closed.Load() {
		return nil, false, errClosed
	}
	cfg := s.direct.Copy()
	cfg.RuntimeParams["application_name"] = cfg.RuntimeParams["application_name"] + " lead"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: try lead %s: %w", name, err)
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, name).Scan(&got); err != nil || !got {
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, false, fmt.Errorf("postgres: try lead %s: %w", name, err)
		}
		return func() {}, false, nil
	}
	l := &lead{s: s, name: name, conn: conn}
	s.leadMu.Lock()
	s.leads[l] = struct{}{}
	s.leadMu.Unlock()
	if s.closed.Load() { // Close may have collected the leads before this one
		l.release()
		return nil, false, errClosed
	}
	return l.release, true, nil
}

// release ends the lead's session, which is what guarantees the lock is
// gone whatever state the connection is in.
func (l *lead) release() {
	l.once.Do(func() {
		l.s.leadMu.Lock()
		delete(l.s.leads, l)
		l.s.leadMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Unlocked before the close: a closed connection's backend drops
		// its locks when it has exited, a moment later, so another
		// instance asking right after would still find the job led.
		if _, err := l.conn.Exec(ctx, "SELECT pg_advisory_unlock_all()"); err != nil {
			l.s.log.Warn("lead not unlocked; it ends when its connection does", "lead", l.name, "err", err)
		}
		if err := l.conn.Close(ctx); err != nil {
			l.s.log.Warn("lead connection did not close cleanly", "lead", l.name, "err", err)
		}
	})
}
