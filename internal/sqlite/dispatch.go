package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// ClaimFaxes claims up to limit outbound faxes due for handing to their
// carrier, leasing each until now+leaseFor. A fax whose earlier lease ran out
// without an outcome (its process died mid-send) is claimed again, marked
// Resumed. A claimed queued fax moves to sending with its event.
func (s *Store) ClaimFaxes(ctx context.Context, leaseFor time.Duration, limit int) ([]*fax.DispatchJob, error) {
	var jobs []*fax.DispatchJob
	err := s.write(ctx, func(tx *wtx) error {
		jobs = jobs[:0]
		now := s.now().UTC()
		rows, err := tx.Query(`SELECT `+faxColumns+`, dispatch_state, send_attempts FROM faxes
			WHERE (dispatch_state = 'pending' AND dispatch_at <= ?) OR (dispatch_state = 'inflight' AND lease_until < ?)
			ORDER BY dispatch_at LIMIT ?`, ms(now), ms(now), limit)
		if err != nil {
			return fmt.Errorf("sqlite: claim faxes: %w", err)
		}
		for rows.Next() {
			var state string
			var attempts int
			f, err := scanFax(rows, &state, &attempts)
			if err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: claim faxes: %w", err)
			}
			jobs = append(jobs, &fax.DispatchJob{Fax: f, Attempt: attempts + 1, Resumed: state == "inflight"})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: claim faxes: %w", err)
		}
		for _, j := range jobs {
			if _, err := tx.Exec(`UPDATE faxes SET dispatch_state = 'inflight', lease_until = ?, send_attempts = send_attempts + 1 WHERE id = ?`,
				ms(now.Add(leaseFor)), j.Fax.ID); err != nil {
				return fmt.Errorf("sqlite: claim faxes: %w", err)
			}
			if specs := fax.Apply(j.Fax, &fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusSending}, now); len(specs) > 0 {
				if err := saveFax(tx, j.Fax); err != nil {
					return err
				}
				if _, err := s.recordEvents(tx, j.Fax, specs, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return jobs, err
}

// ExtendLease keeps a long send's claim alive.
func (s *Store) ExtendLease(ctx context.Context, id string, leaseFor time.Duration) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`UPDATE faxes SET lease_until = ? WHERE id = ? AND dispatch_state = 'inflight'`, ms(s.now().Add(leaseFor)), id)
		if err != nil {
			return fmt.Errorf("sqlite: extend lease: %w", err)
		}
		return nil
	})
}

// MarkHanded records that the carrier accepted the fax under providerFaxID;
// its outcome now arrives through the carrier's callbacks.
func (s *Store) MarkHanded(ctx context.Context, id, providerFaxID string) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`UPDATE faxes SET dispatch_state = CASE WHEN dispatch_state = 'done' THEN 'done' ELSE 'handed' END,
			lease_until = NULL, provider_fax_id = CASE WHEN provider_fax_id = '' THEN ? ELSE provider_fax_id END, updated_at = ?
			WHERE id = ?`, providerFaxID, ms(s.now()), id)
		if err != nil {
			return fmt.Errorf("sqlite: mark handed: %w", err)
		}
		return nil
	})
}

// RescheduleDispatch puts a fax the carrier clearly did not take back in
// line for another hand-over at at.
func (s *Store) RescheduleDispatch(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`UPDATE faxes SET dispatch_state = 'pending', dispatch_at = ?, lease_until = NULL
			WHERE id = ? AND dispatch_state = 'inflight'`, ms(at), id)
		if err != nil {
			return fmt.Errorf("sqlite: reschedule: %w", err)
		}
		tx.wake |= wakeFax
		return nil
	})
}

// FailDispatch ends a fax that could not be handed over with failure.
func (s *Store) FailDispatch(ctx context.Context, id string, failure *fax.Failure) error {
	return s.write(ctx, func(tx *wtx) error {
		f, err := findFaxTx(tx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		specs := fax.Apply(f, &fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusFailed, Failure: failure}, now)
		if _, err := tx.Exec(`UPDATE faxes SET dispatch_state = 'done', lease_until = NULL WHERE id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: fail dispatch: %w", err)
		}
		if len(specs) == 0 {
			return nil
		}
		if err := saveFax(tx, f); err != nil {
			return err
		}
		_, err = s.recordEvents(tx, f, specs, now)
		return err
	})
}
