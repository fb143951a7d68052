package sqlite

import (
	"context"
	"fmt"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
)

// DeleteFax removes a final fax's record with its events, its deliveries
// and their attempts, its callback endpoint and its pending inbound jobs,
// in one transaction, and returns the fax as it was so that the caller can
// delete its document. Carrier callbacks already seen stay deduplicated but
// no longer name the fax.
func (s *Store) DeleteFax(ctx context.Context, id string) (*fax.Fax, error) {
	var out *fax.Fax
	err := s.write(ctx, func(tx *wtx) error {
		out = nil
		f, err := findFaxTx(tx, id)
		if err != nil {
			return err
		}
		if err := workflow.CheckDeletable(f); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE fax_id = ?)`,
			`DELETE FROM deliveries WHERE fax_id = ?`,
			`DELETE FROM events WHERE fax_id = ?`,
			`DELETE FROM inbound_jobs WHERE fax_id = ?`,
			`UPDATE carrier_events SET fax_id = '' WHERE fax_id = ?`,
			`DELETE FROM endpoints WHERE fax_id = ?`,
			`DELETE FROM faxes WHERE id = ?`,
		} {
			if _, err := tx.Exec(q, id); err != nil {
				return fmt.Errorf("sqlite: delete fax: %w", err)
			}
		}
		tx.endpointsChanged = true
		out = f
		return nil
	})
	return out, err
}
