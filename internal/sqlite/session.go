package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// CreateSession stores a console session.
func (s *Store) CreateSession(ctx context.Context, se *fax.Session) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`INSERT INTO console_sessions (id, key_id, key_hash, csrf, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			se.ID, se.KeyID, se.KeyHash, se.CSRF, ms(se.CreatedAt), ms(se.LastSeenAt), ms(se.ExpiresAt))
		if err != nil {
			return fmt.Errorf("sqlite: create session: %w", err)
		}
		return nil
	})
}

// FindSession returns the session with that id, or not_found. Whether it
// has expired is the console's to decide.
func (s *Store) FindSession(ctx context.Context, id string) (*fax.Session, error) {
	var se fax.Session
	var created, seen, expires int64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, key_id, key_hash, csrf, created_at, last_seen_at, expires_at FROM console_sessions WHERE id = ?`, id).
		Scan(&se.ID, &se.KeyID, &se.KeyHash, &se.CSRF, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeNotFound, "session not found")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find session: %w", err)
	}
	se.CreatedAt, se.LastSeenAt, se.ExpiresAt = fromMS(created), fromMS(seen), fromMS(expires)
	return &se, nil
}

// TouchSession records activity on a session, moving its idle expiry.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`UPDATE console_sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`, ms(at), id, ms(at)); err != nil {
			return fmt.Errorf("sqlite: touch session: %w", err)
		}
		return nil
	})
}

// DeleteSession ends a session; ending one that is gone is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`DELETE FROM console_sessions WHERE id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: delete session: %w", err)
		}
		return nil
	})
}

// DeleteExpiredSessions removes sessions idle since before idleBefore or
// past their absolute expiry at now, and says how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, idleBefore, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`DELETE FROM console_sessions WHERE last_seen_at < ? OR expires_at <= ?`, ms(idleBefore), ms(now))
		if err != nil {
			return fmt.Errorf("sqlite: delete expired sessions: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
