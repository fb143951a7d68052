package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
)

// RecordAttempts records many attempts in one transaction, each as
// RecordAttempt would, in order: one round trip locks every endpoint
// concerned (in id order, the order RecordAttempt and the other writers
// follow) and says which endpoint each delivery goes to, and one statement
// in the next moves the deliveries and inserts their attempts; each
// endpoint's health is written once with the state the batch left it in.
// A delivery that does not exist gets its not_found error and the others
// are recorded; any other error fails them all.
func (s *Store) RecordAttempts(ctx context.Context, ds []fax.Delivery) []error {
	errs := make([]error, len(ds))
	ids := make([]string, 0, len(ds))
	for i := range ds {
		if len(ds[i].Attempts) != 1 {
			errs[i] = fax.Errorf(fax.ECodeInvalid, "delivery %s: want exactly one attempt to record", ds[i].ID)
			continue
		}
		ids = append(ids, ds[i].ID)
	}
	if len(ids) == 0 {
		return errs
	}
	var notFound []int
	// The webhook worker's recorder already gathers outcomes into one
	// call; run through the group commit as well, they waited longer for
	// their commit, and an instance killed meanwhile left more deliveries
	// to be sent again (TestThreeInstancesOnPostgres).
	err := s.write(ctx, func(tx *wtx) error {
		notFound = notFound[:0]
		var err error
		notFound, err = s.recordAttemptsTx(tx, ds, errs, ids, notFound)
		return err
	})
	for _, i := range notFound {
		if err == nil {
			errs[i] = fax.Errorf(fax.ECodeNotFound, "delivery %s not found", ds[i].ID)
		}
	}
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}

// endpointHealth is an endpoint's failing streak as a batch of attempts
// moves it, written once at the end (or before the endpoint is disabled).
type endpointHealth struct {
	id           string
	enabled      bool
	failingSince *int64
	lastSuccess  *int64
	dirty        bool
}

func (h *endpointHealth) flush(tx *wtx) {
	if !h.dirty {
		return
	}
	h.dirty = false
	tx.queue(`UPDATE endpoints SET failing_since = $1, last_success_at = COALESCE($2, last_success_at) WHERE id = $3`,
		h.failingSince, h.lastSuccess, h.id)
}

// recordAttemptsTx records ds (those with exactly one attempt: errs[i] is
// nil) and returns the indexes of the deliveries not found.
//
// The deliveries are not locked here: each one's row is locked by the
// statement that moves it, which counts its attempt there (attempt_count +
// 1). Two batches that share a delivery share its endpoint, whose lock
// orders them, as it orders every other change to an endpoint's
// deliveries.
func (s *Store) recordAttemptsTx(tx *wtx, ds []fax.Delivery, errs []error, ids []string, notFound []int) ([]int, error) {
	health := make(map[string]*endpointHealth)
	var order []*endpointHealth
	endpointOf := make(map[string]*endpointHealth, len(ids))
	tx.queue(`SELECT d.id, e.id, e.enabled, e.failing_since FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id
		WHERE d.id = ANY($1) ORDER BY e.id FOR UPDATE OF e`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			h := &endpointHealth{}
			if err := rows.Scan(&id, &h.id, &h.enabled, &h.failingSince); err != nil {
				return err
			}
			if known := health[h.id]; known != nil {
				h = known
			} else {
				health[h.id] = h
				order = append(order, h)
			}
			endpointOf[id] = h
		}
		return rows.Err()
	})
	if err := tx.flush(); err != nil {
		return nil, fmt.Errorf("postgres: record attempts: %w", err)
	}
	now := s.now().UTC()
	rec := outcomeRows{now: ms(now)}
	for i := range ds {
		if errs[i] != nil {
			continue
		}
		d := &ds[i]
		h := endpointOf[d.ID]
		if h == nil {
			notFound = append(notFound, i)
			continue
		}
		a := d.Attempts[0]
		status, next := d.Status, d.NextAttemptAt
		// A retry is never scheduled to an endpoint deleted or disabled
		// while the attempt was on the wire: its deliveries were failed
		// then, and a late result must not make one pending again.
		if status == fax.DeliveryPending && !h.enabled {
			status = fax.DeliveryFailed
		}
		if status != fax.DeliveryPending {
			next = nil
		}
		rec.add(tx, d.ID, &a, status, next)
		if a.HoldEndpointUntil != nil {
			rec.queue(tx)
			tx.queue(`UPDATE deliveries SET next_attempt_at = $1 WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at < $1`,
				ms(*a.HoldEndpointUntil), h.id)
		}
		if err := s.moveHealth(tx, h, a, d.Status, now, func() { rec.queue(tx) }); err != nil {
			return nil, err
		}
	}
	rec.queue(tx)
	for _, h := range order {
		h.flush(tx)
	}
	return notFound, nil
}

// outcomeRows gathers the new delivery states and attempts of a batch of
// outcomes, written with one statement (unnest) where each outcome would
// take two of its own. What must follow an outcome's rows (an endpoint held
// or disabled) queues them first.
type outcomeRows struct {
	now                    int64
	ids, status, errs, bod []string
	codes                  []int32
	at, latency            []int64
	next                   []*int64
	has                    map[string]bool
}

func (o *outcomeRows) add(tx *wtx, id string, a *fax.Attempt, status fax.DeliveryStatus, next *time.Time) {
	if o.has[id] {
		// A second outcome of one delivery: its first must be written
		// first, and one statement updates a row once.
		o.queue(tx)
	}
	if o.has == nil {
		o.has = map[string]bool{}
	}
	o.has[id] = true
	o.ids = append(o.ids, id)
	o.at = append(o.at, ms(a.At))
	o.codes = append(o.codes, int32(a.StatusCode))
	o.latency = append(o.latency, a.LatencyMS)
	o.errs = append(o.errs, pgText(a.Error, workflow.MaxErrorText))
	o.bod = append(o.bod, pgText(a.ResponseBody, workflow.MaxResponseBody))
	o.status = append(o.status, string(status))
	o.next = append(o.next, msPtr(next))
}

// queue queues the gathered rows' statement and starts afresh. The UPDATE
// numbers each attempt from the delivery's locked row and hands it to the
// INSERT; it takes the rows in id order, the order DeleteFax's DELETE
// takes them in.
func (o *outcomeRows) queue(tx *wtx) {
	if len(o.ids) == 0 {
		return
	}
	tx.queue(`WITH u AS (
		UPDATE deliveries d SET status = t.status, attempt_count = d.attempt_count + 1, next_attempt_at = t.next, lease_until = NULL, updated_at = $9
		FROM (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::bigint[], $7::text[], $8::text[])
			AS t(id, status, next, at, code, latency, error, body) ORDER BY id) t
		WHERE d.id = t.id
		RETURNING d.id, d.attempt_count, t.at, t.code, t.latency, t.error, t.body)
	INSERT INTO attempts (delivery_id, n, at, status_code, latency_ms, error, response_body) SELECT * FROM u`,
		o.ids, o.status, o.next, o.at, o.codes, o.latency, o.errs, o.bod, o.now)
	*o = outcomeRows{now: o.now}
}

// moveHealth applies one attempt's outcome to its endpoint's health as
// RecordAttempt does: a success ends the failing streak, a first failure
// starts one, a 410 or a streak past DisableAfter disables the endpoint.
// Before it disables the endpoint it calls before, for what must precede.
func (s *Store) moveHealth(tx *wtx, h *endpointHealth, a fax.Attempt, status fax.DeliveryStatus, now time.Time, before func()) error {
	v, _ := workflow.JudgeAttempt(a, status, s.disableAfter, func() (*time.Time, error) { return fromNullMS(h.failingSince), nil })
	switch {
	case v.Succeeded:
		at := ms(now)
		h.failingSince, h.lastSuccess, h.dirty = nil, &at, true
	case v.StartFailing:
		at := ms(a.At)
		h.failingSince, h.dirty = &at, true
	case v.Disable != "":
		before()
		h.flush(tx)
		h.enabled = false
		return s.disableEndpoint(tx, h.id, v.Disable, now)
	}
	return nil
}
