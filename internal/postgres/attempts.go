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
// RecordAttempt would, in order: one round trip locks every endpoint and
// delivery concerned (endpoints first, then deliveries, each in id order,
// the order RecordAttempt and the other writers follow), the attempts and
// new states go in the next, and each endpoint's health is written once
// with the state the batch left it in. A delivery that does not exist gets
// its not_found error and the others are recorded; any other error fails
// them all.
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
func (s *Store) recordAttemptsTx(tx *wtx, ds []fax.Delivery, errs []error, ids []string, notFound []int) ([]int, error) {
	health := make(map[string]*endpointHealth)
	var order []*endpointHealth
	tx.queue(`SELECT id, enabled, failing_since FROM endpoints
		WHERE id IN (SELECT endpoint_id FROM deliveries WHERE id = ANY($1)) ORDER BY id FOR UPDATE`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			h := &endpointHealth{}
			if err := rows.Scan(&h.id, &h.enabled, &h.failingSince); err != nil {
				return err
			}
			health[h.id] = h
			order = append(order, h)
		}
		return rows.Err()
	})
	type row struct {
		n        int
		endpoint string
	}
	rowsByID := make(map[string]*row, len(ids))
	tx.queue(`SELECT id, attempt_count, endpoint_id FROM deliveries WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			r := &row{}
			if err := rows.Scan(&id, &r.n, &r.endpoint); err != nil {
				return err
			}
			rowsByID[id] = r
		}
		return rows.Err()
	})
	if err := tx.flush(); err != nil {
		return nil, fmt.Errorf("postgres: record attempts: %w", err)
	}
	now := s.now().UTC()
	for i := range ds {
		if errs[i] != nil {
			continue
		}
		d := &ds[i]
		r := rowsByID[d.ID]
		var h *endpointHealth
		if r != nil {
			h = health[r.endpoint]
		}
		if h == nil {
			notFound = append(notFound, i)
			continue
		}
		a := d.Attempts[0]
		r.n++
		tx.queue(`INSERT INTO attempts (delivery_id, n, at, status_code, latency_ms, error, response_body) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			d.ID, r.n, ms(a.At), a.StatusCode, a.LatencyMS, pgText(a.Error, workflow.MaxErrorText), pgText(a.ResponseBody, workflow.MaxResponseBody))
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
		tx.queue(`UPDATE deliveries SET status = $1, attempt_count = $2, next_attempt_at = $3, lease_until = NULL, updated_at = $4 WHERE id = $5`,
			status, r.n, msPtr(next), ms(now), d.ID)
		if a.HoldEndpointUntil != nil {
			tx.queue(`UPDATE deliveries SET next_attempt_at = $1 WHERE endpoint_id = $2 AND status = 'pending' AND next_attempt_at < $1`,
				ms(*a.HoldEndpointUntil), r.endpoint)
		}
		if err := s.moveHealth(tx, h, a, d.Status, now); err != nil {
			return nil, err
		}
	}
	for _, h := range order {
		h.flush(tx)
	}
	return notFound, nil
}

// moveHealth applies one attempt's outcome to its endpoint's health as
// RecordAttempt does: a success ends the failing streak, a first failure
// starts one, a 410 or a streak past DisableAfter disables the endpoint.
func (s *Store) moveHealth(tx *wtx, h *endpointHealth, a fax.Attempt, status fax.DeliveryStatus, now time.Time) error {
	v, _ := workflow.JudgeAttempt(a, status, s.disableAfter, func() (*time.Time, error) { return fromNullMS(h.failingSince), nil })
	switch {
	case v.Succeeded:
		at := ms(now)
		h.failingSince, h.lastSuccess, h.dirty = nil, &at, true
	case v.StartFailing:
		at := ms(a.At)
		h.failingSince, h.dirty = &at, true
	case v.Disable != "":
		h.flush(tx)
		h.enabled = false
		return s.disableEndpoint(tx, h.id, v.Disable, now)
	}
	return nil
}
