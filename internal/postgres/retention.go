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
		// The row lock makes a second purger find the fax purged.
		f, err := lockFax(tx, id)
		if fax.ErrorCode(err) == fax.ECodeNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if !workflow.DeleteDocument(f, now) {
			return nil
		}
		tx.queue(`UPDATE faxes SET document_purged = true, document_status = $1, document_error = $2, updated_at = $3 WHERE id = $4`,
			string(f.DocumentStatus), f.DocumentError, ms(now), id)
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
