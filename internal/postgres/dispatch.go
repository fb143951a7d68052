package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/jackc/pgx/v5"
)

// ClaimFaxes claims up to limit outbound faxes due for handing to their
// carrier, leasing each until now+leaseFor. A fax whose earlier lease ran out
// without an outcome (its process died mid-send) is claimed again, marked
// Resumed. A claimed queued fax moves to sending with its event.
//
// Rows are taken with FOR UPDATE SKIP LOCKED: instances claiming at once
// get disjoint faxes without waiting for each other, and a fax another
// transaction holds (a carrier update being applied) waits for the next
// claim.
func (s *Store) ClaimFaxes(ctx context.Context, leaseFor time.Duration, limit int) ([]*fax.DispatchJob, error) {
	var jobs []*fax.DispatchJob
	err := s.write(ctx, func(tx *wtx) error {
		jobs = nil
		now := s.now().UTC()
		// Due faxes and faxes whose lease ran out are two queries on two
		// partial indexes, so that a claim reads about limit rows however
		// many faxes are in flight. Each locks up to limit rows; the
		// earliest limit of both are claimed, the rest unlocked at commit.
		type row struct {
			job *fax.DispatchJob
			at  int64
		}
		var rs []row
		scan := func(rows pgx.Rows) error {
			for rows.Next() {
				var state string
				var attempts int
				var at int64
				f, err := scanFax(rows, &state, &attempts, &at)
				if err != nil {
					return err
				}
				rs = append(rs, row{&fax.DispatchJob{Fax: f, Attempt: attempts + 1, Resumed: state == "inflight"}, at})
			}
			return rows.Err()
		}
		tx.queue(`SELECT `+faxColumns+`, dispatch_state, send_attempts, dispatch_at FROM faxes
			WHERE dispatch_state = 'pending' AND dispatch_at <= $1
			ORDER BY dispatch_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, ms(now), limit).Query(scan)
		tx.queue(`SELECT `+faxColumns+`, dispatch_state, send_attempts, dispatch_at FROM faxes
			WHERE dispatch_state = 'inflight' AND lease_until < $1
			ORDER BY dispatch_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, ms(now), limit).Query(scan)
		if err := tx.flush(); err != nil {
			return fmt.Errorf("postgres: claim faxes: %w", err)
		}
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].at != rs[j].at {
				return rs[i].at < rs[j].at
			}
			return rs[i].job.Fax.ID < rs[j].job.Fax.ID
		})
		for i, r := range rs {
			if i == limit {
				break
			}
			jobs = append(jobs, r.job)
		}
		if len(jobs) == 0 {
			return nil
		}
		ids := make([]string, len(jobs))
		for i, j := range jobs {
			ids[i] = j.Fax.ID
		}
		// The faxes' own endpoints and the global ones, for the events.
		var endpoints []*fax.Endpoint
		queueRoutable(tx, ids, &endpoints)
		tx.queue(`UPDATE faxes SET dispatch_state = 'inflight', lease_until = $1, send_attempts = send_attempts + 1 WHERE id = ANY($2)`,
			ms(now.Add(leaseFor)), ids)
		if err := tx.flush(); err != nil {
			return fmt.Errorf("postgres: claim faxes: %w", err)
		}
		for _, j := range jobs {
			if specs := fax.Apply(j.Fax, &fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusSending}, now); len(specs) > 0 {
				saveFax(tx, j.Fax)
				if _, err := s.recordEvents(tx, j.Fax, specs, endpoints, now); err != nil {
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
		tx.queue(`UPDATE faxes SET lease_until = $1 WHERE id = $2 AND dispatch_state = 'inflight'`, ms(s.now().Add(leaseFor)), id)
		return nil
	})
}

// MarkHanded records that the carrier accepted the fax under providerFaxID;
// its outcome now arrives through the carrier's callbacks.
func (s *Store) MarkHanded(ctx context.Context, id, providerFaxID string) error {
	return s.write(ctx, func(tx *wtx) error {
		tx.queue(`UPDATE faxes SET dispatch_state = CASE WHEN dispatch_state = 'done' THEN 'done' ELSE 'handed' END,
			lease_until = NULL, provider_fax_id = CASE WHEN provider_fax_id = '' THEN $1 ELSE provider_fax_id END, updated_at = $2
			WHERE id = $3`, providerFaxID, ms(s.now()), id)
		return nil
	})
}

// RescheduleDispatch puts a fax the carrier clearly did not take back in
// line for another hand-over at at.
func (s *Store) RescheduleDispatch(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		tx.queue(`UPDATE faxes SET dispatch_state = 'pending', dispatch_at = $1, lease_until = NULL
			WHERE id = $2 AND dispatch_state = 'inflight'`, ms(at), id)
		tx.wake |= wakeFax
		return nil
	})
}

// FailDispatch ends a fax that could not be handed over with failure.
func (s *Store) FailDispatch(ctx context.Context, id string, failure *fax.Failure) error {
	return s.write(ctx, func(tx *wtx) error {
		var endpoints []*fax.Endpoint
		queueRoutable(tx, []string{id}, &endpoints)
		f, err := lockFax(tx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		specs := fax.Apply(f, &fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusFailed, Failure: failure}, now)
		tx.queue(`UPDATE faxes SET dispatch_state = 'done', lease_until = NULL WHERE id = $1`, id)
		if len(specs) == 0 {
			return nil
		}
		saveFax(tx, f)
		_, err = s.recordEvents(tx, f, specs, endpoints, now)
		return err
	})
}
