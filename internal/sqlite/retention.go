package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
)

// FindExpiredDocuments returns up to limit final faxes of direction whose
// document is still stored and that completed before before.
func (s *Store) FindExpiredDocuments(ctx context.Context, direction fax.Direction, before time.Time, limit int) ([]*fax.Fax, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+faxColumns+` FROM faxes
		WHERE direction = ? AND document_key <> '' AND document_purged = 0 AND completed_at IS NOT NULL AND completed_at < ?
		ORDER BY completed_at LIMIT ?`, direction, ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find expired documents: %w", err)
	}
	defer rows.Close()
	var out []*fax.Fax
	for rows.Next() {
		f, err := scanFax(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: find expired documents: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// MarkDocumentPurged records that a fax's document was deleted by the
// retention policy, with an audit entry; the fax's metadata stays.
func (s *Store) MarkDocumentPurged(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		now := s.now().UTC()
		f, err := findFaxTx(tx, id)
		if fax.ErrorCode(err) == fax.ECodeNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if !workflow.DeleteDocument(f, now) {
			return nil
		}
		if f.Direction == fax.Inbound {
			// Its document columns are written by INSERT only (see
			// replaceFax).
			err = replaceFax(tx, f)
		} else {
			_, err = tx.Exec(`UPDATE faxes SET document_purged = 1, updated_at = ? WHERE id = ?`, ms(now), id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: mark purged: %w", err)
		}
		return s.recordAuditTx(tx, &fax.AuditEntry{At: now, Actor: "system", Action: "document.purge", TargetType: "fax", TargetID: id, Outcome: "deleted"})
	})
}

// PurgeAudit deletes audit entries older than before and says how many.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`DELETE FROM audit WHERE at < ?`, ms(before))
		if err != nil {
			return fmt.Errorf("sqlite: purge audit: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}

// DocumentReferenced reports whether any fax refers to a stored document.
func (s *Store) DocumentReferenced(ctx context.Context, key string) (bool, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM faxes WHERE document_key = ?`, key).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: document referenced: %w", err)
	}
	return n > 0, nil
}
