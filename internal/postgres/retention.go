package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
)

// FindExpiredDocuments returns up to limit final faxes of direction whose
// document is still stored and that completed before before.
func (s *Store) FindExpiredDocuments(ctx context.Context, direction fax.Direction, before time.Time, limit int) ([]*fax.Fax, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+faxColumns+` FROM faxes
		WHERE direction = $1 AND document_key <> '' AND NOT document_purged AND completed_at IS NOT NULL AND completed_at < $2
		ORDER BY completed_at, id LIMIT $3`, direction, ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: find expired documents: %w", err)
	}
	out, err := collect(rows, func(r pgx.Rows) (*fax.Fax, error) { return scanFax(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: find expired documents: %w", err)
	}
	return out, nil
}

// MarkDocumentPurged records that a fax's document was deleted by the
// retention policy, with an audit entry; the fax's metadata stays. Marking
// a fax twice (two instances purging at once) records one audit entry.
func (s *Store) MarkDocumentPurged(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		now := s.now().UTC()
		// A received fax's document becomes unavailable (see
		// workflow.DocumentDeleted).
		n, err := tx.exec(`UPDATE faxes SET document_purged = true,
			document_status = CASE WHEN direction = 'inbound' THEN 'unavailable' ELSE document_status END,
			document_error = CASE WHEN direction = 'inbound' THEN $3 ELSE document_error END,
			updated_at = $1 WHERE id = $2 AND NOT document_purged`, ms(now), id, workflow.DocumentDeleted)
		if err != nil {
			return fmt.Errorf("postgres: mark purged: %w", err)
		}
		if n == 0 {
			return nil
		}
		s.recordAuditTx(tx, &fax.AuditEntry{At: now, Actor: "system", Action: "document.purge", TargetType: "fax", TargetID: id, Outcome: "deleted"})
		return nil
	})
}

// PurgeAudit deletes audit entries older than before and says how many.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		n, err = tx.exec(`DELETE FROM audit WHERE at < $1`, ms(before))
		if err != nil {
			return fmt.Errorf("postgres: purge audit: %w", err)
		}
		return nil
	})
	return int(n), err
}

// DocumentReferenced reports whether any fax refers to a stored document.
func (s *Store) DocumentReferenced(ctx context.Context, key string) (bool, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM faxes WHERE document_key = $1`, key).Scan(&n); err != nil {
		return false, fmt.Errorf("postgres: document referenced: %w", err)
	}
	return n > 0, nil
}
