package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lead is a held leadership: a pooled connection taken out of circulation
// whose session owns an advisory lock.
type lead struct {
	s    *Store
	name string
	conn *pgxpool.Conn
	once sync.Once
}

// TryLead makes this instance the one that runs the periodic job name (a
// sweep, a purge) until release is called, if no other instance leads it;
// ok says whether it does. It never waits.
//
// Leadership is a session-level pg_try_advisory_lock(hashtext(name)) taken
// on a connection borrowed from the pool and held until release, so each
// lead costs one pool connection for its duration. PostgreSQL releases the
// lock when that session ends, so the lead of an instance that crashes or
// loses its connection passes to the next instance that tries; a job run
// under a lead must therefore tolerate, rarely, two runs overlapping (as
// periodic, idempotent jobs do). release is safe to call more than once;
// Close releases every lead still held.
func (s *Store) TryLead(ctx context.Context, name string) (release func(), ok bool, err error) {
	if s.closed.Load() {
		return nil, false, errClosed
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: try lead %s: %w", name, err)
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, name).Scan(&got); err != nil {
		conn.Release()
		return nil, false, fmt.Errorf("postgres: try lead %s: %w", name, err)
	}
	if !got {
		conn.Release()
		return func() {}, false, nil
	}
	l := &lead{s: s, name: name, conn: conn}
	s.leadMu.Lock()
	s.leads[l] = struct{}{}
	s.leadMu.Unlock()
	return l.release, true, nil
}

// release unlocks and returns the connection to the pool, or, when the
// unlock cannot be confirmed, closes the connection: ending the session is
// what guarantees the lock is gone.
func (l *lead) release() {
	l.once.Do(func() {
		l.s.leadMu.Lock()
		delete(l.s.leads, l)
		l.s.leadMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var unlocked bool
		err := l.conn.QueryRow(ctx, `SELECT pg_advisory_unlock(hashtext($1))`, l.name).Scan(&unlocked)
		if err == nil && unlocked {
			l.conn.Release()
			return
		}
		l.s.log.Warn("lead not unlocked; closing its connection", "lead", l.name, "err", err)
		l.conn.Hijack().Close(ctx)
	})
}
