package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
)

// ClaimFaxes claims up to limit outbound faxes of any carrier; see
// ClaimFaxesPerCarrier.
func (s *Store) ClaimFaxes(ctx context.Context, leaseFor time.Duration, limit int) ([]*fax.DispatchJob, error) {
	return s.ClaimFaxesPerCarrier(ctx, leaseFor, fax.ClaimSlots{Other: limit})
}

// ClaimFaxesPerCarrier claims outbound faxes due for handing to their
// carrier, up to each carrier's free slots, leasing each until
// now+leaseFor. A fax whose earlier lease ran out without an outcome (its
// process died) is claimed again, marked Resumed if its send was on the
// wire (MarkOnWire). A claimed queued
// fax moves to sending with its event. Each carrier's queue is read on its
// own, so that one carrier's backlog never holds back another's faxes.
func (s *Store) ClaimFaxesPerCarrier(ctx context.Context, leaseFor time.Duration, slots fax.ClaimSlots) ([]*fax.DispatchJob, error) {
	var jobs []*fax.DispatchJob
	err := s.write(ctx, func(tx *wtx) error {
		jobs = jobs[:0]
		now := s.now().UTC()
		err := eachSlot(slots, func(where string, args []any, limit int) error {
			rows, err := tx.Query(`SELECT `+faxColumns+`, dispatch_state, send_attempts, on_wire FROM faxes
				WHERE `+where+` AND ((dispatch_state = 'pending' AND dispatch_at <= ?) OR (dispatch_state = 'inflight' AND lease_until < ?))
				ORDER BY dispatch_at LIMIT ?`, append(args, ms(now), ms(now), limit)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var state string
				var attempts, onWire int
				f, err := scanFax(rows, &state, &attempts, &onWire)
				if err != nil {
					return err
				}
				jobs = append(jobs, &fax.DispatchJob{Fax: f, Attempt: attempts + 1, Resumed: state == "inflight" && onWire != 0})
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("sqlite: claim faxes: %w", err)
		}
		for _, j := range jobs {
			if _, err := tx.Exec(`UPDATE faxes SET dispatch_state = 'inflight', lease_until = ?, send_attempts = send_attempts + 1 WHERE id = ?`,
				ms(now.Add(leaseFor)), j.Fax.ID); err != nil {
				return fmt.Errorf("sqlite: claim faxes: %w", err)
			}
			evs, err := workflow.Claimed(&s.ids, j.Fax, now)
			if err != nil {
				return err
			}
			if len(evs) > 0 {
				if err := saveFax(tx, j.Fax); err != nil {
					return err
				}
				if err := s.insertEvents(tx, j.Fax, evs, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return jobs, err
}

// eachSlot calls fn with the SQL condition and the number of faxes of each
// query of the claim (fax.ClaimSlots.Claims says which, in what order).
func eachSlot(slots fax.ClaimSlots, fn func(where string, args []any, limit int) error) error {
	for _, c := range slots.Claims() {
		var err error
		switch {
		case c.Carrier != "":
			err = fn("provider = ?", []any{c.Carrier}, c.Limit)
		case len(c.Except) == 0:
			err = fn("1 = 1", nil, c.Limit)
		default:
			args := make([]any, len(c.Except))
			for i, p := range c.Except {
				args[i] = p
			}
			err = fn("provider NOT IN (?"+strings.Repeat(", ?", len(c.Except)-1)+")", args, c.Limit)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ClaimResultChecks claims handed faxes whose next result check is due, up
// to each carrier's free slots, and pushes that check holdFor ahead so that
// no other claim takes them meanwhile. They stay handed: a check never
// sends.
func (s *Store) ClaimResultChecks(ctx context.Context, holdFor time.Duration, slots fax.ClaimSlots) ([]*fax.DispatchJob, error) {
	var jobs []*fax.DispatchJob
	err := s.write(ctx, func(tx *wtx) error {
		jobs = jobs[:0]
		now := s.now().UTC()
		err := eachSlot(slots, func(where string, args []any, limit int) error {
			rows, err := tx.Query(`SELECT `+faxColumns+`, send_attempts, handed_at FROM faxes
				WHERE `+where+` AND dispatch_state = 'handed' AND dispatch_at <= ?
				ORDER BY dispatch_at LIMIT ?`, append(args, ms(now), limit)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var attempts int
				var handed sql.NullInt64
				f, err := scanFax(rows, &attempts, &handed)
				if err != nil {
					return err
				}
				j := &fax.DispatchJob{Fax: f, Attempt: attempts, Check: true, HandedAt: f.UpdatedAt}
				if handed.Valid {
					j.HandedAt = time.UnixMilli(handed.Int64).UTC()
				}
				jobs = append(jobs, j)
			}
			return rows.Err()
		})
		if err != nil {
			return fmt.Errorf("sqlite: claim result checks: %w", err)
		}
		for _, j := range jobs {
			if _, err := tx.Exec(`UPDATE faxes SET dispatch_at = ? WHERE id = ?`, ms(now.Add(holdFor)), j.Fax.ID); err != nil {
				return fmt.Errorf("sqlite: claim result checks: %w", err)
			}
		}
		return nil
	})
	return jobs, err
}

// ScheduleCheck sets when faxgate next asks the carrier for a handed fax's
// result.
func (s *Store) ScheduleCheck(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`UPDATE faxes SET dispatch_at = ? WHERE id = ? AND dispatch_state = 'handed'`, ms(at), id); err != nil {
			return fmt.Errorf("sqlite: schedule check: %w", err)
		}
		return nil
	})
}

// MarkOnWire records that a claimed fax's send is about to go out, so that
// a claim resumed after a crash knows the carrier may have it.
func (s *Store) MarkOnWire(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`UPDATE faxes SET on_wire = 1 WHERE id = ? AND dispatch_state = 'inflight'`, id); err != nil {
			return fmt.Errorf("sqlite: mark on wire: %w", err)
		}
		return nil
	})
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

// MarkHanded records that the carrier accepted the fax under providerFaxID,
// or, with providerFaxID "", that it may have the fax and must not be sent
// it again (not confirmed). Its outcome now arrives through the carrier's
// callbacks; checkAt is when faxgate first asks the carrier if none came.
// Marking a handed fax again keeps its hand-over time.
func (s *Store) MarkHanded(ctx context.Context, id, providerFaxID string, checkAt time.Time) error {
	return s.MarkHandedAttempt(ctx, id, -1, providerFaxID, checkAt)
}

// MarkHandedAttempt is MarkHanded for the attempt a send was for, the one
// after attempts earlier ones (-1: any): once the fax has moved on to a
// later attempt (its carrier reported a busy line while the send was still
// being recorded, and it is back in line to be redialed, or claimed for
// that redial), the record of this one's hand-over changes nothing.
func (s *Store) MarkHandedAttempt(ctx context.Context, id string, attempts int, providerFaxID string, checkAt time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		now := ms(s.now())
		_, err := tx.Exec(`UPDATE faxes SET dispatch_state = CASE WHEN dispatch_state = 'done' THEN 'done' ELSE 'handed' END,
			lease_until = NULL, provider_fax_id = CASE WHEN provider_fax_id = '' THEN ? ELSE provider_fax_id END, updated_at = ?,
			handed_at = CASE WHEN dispatch_state = 'handed' AND handed_at IS NOT NULL THEN handed_at ELSE ? END, dispatch_at = ?
			WHERE id = ? AND (? < 0 OR COALESCE(json_array_length(attempts), 0) = ?)`,
			providerFaxID, now, now, ms(checkAt), id, attempts, attempts)
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
		_, err := tx.Exec(`UPDATE faxes SET dispatch_state = 'pending', dispatch_at = ?, lease_until = NULL, on_wire = 0
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
		evs, err := workflow.FailDispatch(&s.ids, f, failure, now)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE faxes SET dispatch_state = 'done', lease_until = NULL WHERE id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: fail dispatch: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		if err := saveFax(tx, f); err != nil {
			return err
		}
		return s.insertEvents(tx, f, evs, now)
	})
}

// FailoverDispatch moves a claimed fax that its carrier definitively did
// not accept (failure) to the next carrier of fallback it has not tried,
// to be sent there at once, and returns that carrier; "" when none is
// left (nothing is changed then).
func (s *Store) FailoverDispatch(ctx context.Context, id string, failure *fax.Failure, fallback []string) (string, error) {
	var next string
	err := s.write(ctx, func(tx *wtx) error {
		next = ""
		f, err := findFaxTx(tx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		n, ok := workflow.Failover(f, failure, fallback, now)
		if !ok {
			return nil
		}
		if _, err := tx.Exec(`UPDATE faxes SET provider_fax_id = '', updated_at = ? WHERE id = ?`, ms(now), id); err != nil {
			return fmt.Errorf("sqlite: failover: %w", err)
		}
		if err := requeue(tx, f, now); err != nil {
			return err
		}
		next = n
		return nil
	})
	return next, err
}
