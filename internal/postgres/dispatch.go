package postgres

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
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
//
// Rows are taken with FOR UPDATE SKIP LOCKED: instances claiming at once
// get disjoint faxes without waiting for each other, and a fax another
// transaction holds (a carrier update being applied) waits for the next
// claim.
func (s *Store) ClaimFaxesPerCarrier(ctx context.Context, leaseFor time.Duration, slots fax.ClaimSlots) ([]*fax.DispatchJob, error) {
	var jobs []*fax.DispatchJob
	err := s.write(ctx, func(tx *wtx) error {
		jobs = nil
		now := s.now().UTC()
		// Per carrier, due faxes and faxes whose lease ran out are two
		// queries on two partial indexes, so that a claim reads about
		// limit rows however many faxes are in flight. Each locks up to
		// limit rows; the earliest limit of both are claimed, the rest
		// unlocked at commit.
		type row struct {
			job *fax.DispatchJob
			at  int64
		}
		var all []row
		eachSlot(slots, func(where string, args []any, limit int) {
			var rs []row
			scan := func(rows pgx.Rows) error {
				for rows.Next() {
					var state string
					var attempts, onWire int
					var at int64
					f, err := scanFax(rows, &state, &attempts, &at, &onWire)
					if err != nil {
						return err
					}
					rs = append(rs, row{&fax.DispatchJob{Fax: f, Attempt: attempts + 1, Resumed: state == "inflight" && onWire != 0}, at})
				}
				if err := rows.Err(); err != nil {
					return err
				}
				// Both queries have run once the second scans: keep
				// this carrier's earliest limit.
				sort.Slice(rs, func(i, j int) bool {
					if rs[i].at != rs[j].at {
						return rs[i].at < rs[j].at
					}
					return rs[i].job.Fax.ID < rs[j].job.Fax.ID
				})
				return nil
			}
			n := len(args)
			tx.queue(`SELECT `+faxColumns+`, dispatch_state, send_attempts, dispatch_at, on_wire FROM faxes
				WHERE `+where+` AND dispatch_state = 'pending' AND dispatch_at <= $`+strconv.Itoa(n+1)+`
				ORDER BY dispatch_at, id LIMIT $`+strconv.Itoa(n+2)+` FOR UPDATE SKIP LOCKED`, append(args, ms(now), limit)...).Query(scan)
			tx.queue(`SELECT `+faxColumns+`, dispatch_state, send_attempts, dispatch_at, on_wire FROM faxes
				WHERE `+where+` AND dispatch_state = 'inflight' AND lease_until < $`+strconv.Itoa(n+1)+`
				ORDER BY dispatch_at, id LIMIT $`+strconv.Itoa(n+2)+` FOR UPDATE SKIP LOCKED`, append(args, ms(now), limit)...).Query(func(rows pgx.Rows) error {
				if err := scan(rows); err != nil {
					return err
				}
				for i, r := range rs {
					if i == limit {
						break
					}
					all = append(all, r)
				}
				return nil
			})
		})
		if err := tx.flush(); err != nil {
			return fmt.Errorf("postgres: claim faxes: %w", err)
		}
		rs := all
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].at != rs[j].at {
				return rs[i].at < rs[j].at
			}
			return rs[i].job.Fax.ID < rs[j].job.Fax.ID
		})
		for _, r := range rs {
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
			evs, err := workflow.Claimed(&s.ids, j.Fax, now)
			if err != nil {
				return err
			}
			if len(evs) > 0 {
				saveFax(tx, j.Fax)
				s.insertEvents(tx, j.Fax, evs, endpoints, now)
			}
		}
		return nil
	})
	return jobs, err
}

// eachSlot calls fn with the SQL condition (on $1, or none) and the number
// of faxes of each query of the claim (fax.ClaimSlots.Claims says which,
// in what order).
func eachSlot(slots fax.ClaimSlots, fn func(where string, args []any, limit int)) {
	for _, c := range slots.Claims() {
		switch {
		case c.Carrier != "":
			fn("provider = $1", []any{c.Carrier}, c.Limit)
		case len(c.Except) == 0:
			fn("true", nil, c.Limit)
		default:
			fn("NOT (provider = ANY($1))", []any{c.Except}, c.Limit)
		}
	}
}

// ClaimResultChecks claims handed faxes whose next result check is due, up
// to each carrier's free slots, and pushes that check holdFor ahead so that
// no other claim takes them meanwhile. They stay handed: a check never
// sends.
func (s *Store) ClaimResultChecks(ctx context.Context, holdFor time.Duration, slots fax.ClaimSlots) ([]*fax.DispatchJob, error) {
	var jobs []*fax.DispatchJob
	err := s.write(ctx, func(tx *wtx) error {
		jobs = nil
		now := s.now().UTC()
		eachSlot(slots, func(where string, args []any, limit int) {
			n := len(args)
			tx.queue(`SELECT `+faxColumns+`, send_attempts, handed_at FROM faxes
				WHERE `+where+` AND dispatch_state = 'handed' AND dispatch_at <= $`+strconv.Itoa(n+1)+`
				ORDER BY dispatch_at, id LIMIT $`+strconv.Itoa(n+2)+` FOR UPDATE SKIP LOCKED`, append(args, ms(now), limit)...).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var attempts int
					var handed *int64
					f, err := scanFax(rows, &attempts, &handed)
					if err != nil {
						return err
					}
					j := &fax.DispatchJob{Fax: f, Attempt: attempts, Check: true, HandedAt: f.UpdatedAt}
					if handed != nil {
						j.HandedAt = time.UnixMilli(*handed).UTC()
					}
					jobs = append(jobs, j)
				}
				return rows.Err()
			})
		})
		if err := tx.flush(); err != nil {
			return fmt.Errorf("postgres: claim result checks: %w", err)
		}
		if len(jobs) == 0 {
			return nil
		}
		ids := make([]string, len(jobs))
		for i, j := range jobs {
			ids[i] = j.Fax.ID
		}
		tx.queue(`UPDATE faxes SET dispatch_at = $1 WHERE id = ANY($2)`, ms(now.Add(holdFor)), ids)
		return nil
	})
	return jobs, err
}

// ScheduleCheck sets when faxgate next asks the carrier for a handed fax's
// result.
func (s *Store) ScheduleCheck(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		tx.queue(`UPDATE faxes SET dispatch_at = $1 WHERE id = $2 AND dispatch_state = 'handed'`, ms(at), id)
		return nil
	})
}

// MarkOnWire records that a claimed fax's send is about to go out, so that
// a claim resumed after a crash knows the carrier may have it.
func (s *Store) MarkOnWire(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		tx.queue(`UPDATE faxes SET on_wire = 1 WHERE id = $1 AND dispatch_state = 'inflight'`, id)
		return nil
	})
}

// ExtendLease keeps a long send's claim alive.
func (s *Store) ExtendLease(ctx context.Context, id string, leaseFor time.Duration) error {
	return s.write(ctx, func(tx *wtx) error {
		tx.queue(`UPDATE faxes SET lease_until = $1 WHERE id = $2 AND dispatch_state = 'inflight'`, ms(s.now().Add(leaseFor)), id)
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
		tx.queue(`UPDATE faxes SET dispatch_state = CASE WHEN dispatch_state = 'done' THEN 'done' ELSE 'handed' END,
			lease_until = NULL, provider_fax_id = CASE WHEN provider_fax_id = '' THEN $1 ELSE provider_fax_id END, updated_at = $2,
			handed_at = CASE WHEN dispatch_state = 'handed' AND handed_at IS NOT NULL THEN handed_at ELSE $2 END, dispatch_at = $3
			WHERE id = $4 AND ($5 < 0 OR COALESCE(json_array_length(attempts::json), 0) = $5)`,
			providerFaxID, ms(s.now()), ms(checkAt), id, attempts)
		return nil
	})
}

// RescheduleDispatch puts a fax the carrier clearly did not take back in
// line for another hand-over at at.
func (s *Store) RescheduleDispatch(ctx context.Context, id string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		tx.queue(`UPDATE faxes SET dispatch_state = 'pending', dispatch_at = $1, lease_until = NULL, on_wire = 0
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
		evs, err := workflow.FailDispatch(&s.ids, f, failure, now)
		if err != nil {
			return err
		}
		tx.queue(`UPDATE faxes SET dispatch_state = 'done', lease_until = NULL WHERE id = $1`, id)
		if len(evs) == 0 {
			return nil
		}
		saveFax(tx, f)
		s.insertEvents(tx, f, evs, endpoints, now)
		return nil
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
		f, err := lockFax(tx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		n, ok := workflow.Failover(f, failure, fallback, now)
		if !ok {
			return nil
		}
		tx.queue(`UPDATE faxes SET provider_fax_id = '', updated_at = $1 WHERE id = $2`, ms(now), id)
		requeue(tx, f, now)
		next = n
		return nil
	})
	return next, err
}
