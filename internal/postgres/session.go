package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/jackc/pgx/v5"
)

// Console sessions are single statements, each its own transaction: they
// cause no events and need none of write's batching or NOTIFY.

// CreateSession stores a console session.
func (s *Store) CreateSession(ctx context.Context, se *fax.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO console_sessions (id, key_id, key_hash, csrf, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		se.ID, se.KeyID, se.KeyHash, se.CSRF, ms(se.CreatedAt), ms(se.LastSeenAt), ms(se.ExpiresAt))
	if err != nil {
		return resourceError(fmt.Errorf("postgres: create session: %w", err))
	}
	return nil
}

// FindSession returns the session with that id, or not_found. Whether it
// has expired is the console's to decide.
func (s *Store) FindSession(ctx context.Context, id string) (*fax.Session, error) {
	var se fax.Session
	var created, seen, expires int64
	err := s.pool.QueryRow(ctx, `SELECT id, key_id, key_hash, csrf, created_at, last_seen_at, expires_at FROM console_sessions WHERE id = $1`, id).
		Scan(&se.ID, &se.KeyID, &se.KeyHash, &se.CSRF, &created, &seen, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeNotFound, "session not found")
	}
	if err != nil {
		return nil, resourceError(fmt.Errorf("postgres: find session: %w", err))
	}
	se.CreatedAt, se.LastSeenAt, se.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	return &se, nil
}

// TouchSession records activity on a session, moving its idle expiry.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE console_sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1`, ms(at), id); err != nil {
		return resourceError(fmt.Errorf("postgres: touch session: %w", err))
	}
	return nil
}

// DeleteSession ends a session; ending one that is gone is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE id = $1`, id); err != nil {
		return resourceError(fmt.Errorf("postgres: delete session: %w", err))
	}
	return nil
}

// DeleteExpiredSessions removes sessions idle since before idleBefore or
// past their absolute expiry at now, and says how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, idleBefore, now time.Time) (int, error) {
	ct, err := s.pool.Exec(ctx, `DELETE FROM console_sessions WHERE last_seen_at < $1 OR expires_at <= $2`, ms(idleBefore), ms(now))
	if err != nil {
		return 0, resourceError(fmt.Errorf("postgres: delete expired sessions: %w", err))
	}
	return int(ct.RowsAffected()), nil
}
