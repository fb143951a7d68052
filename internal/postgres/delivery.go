package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
)

const deliveryColumns = `d.id, d.endpoint_id, d.event_id, d.event_type, d.fax_id, d.status, d.attempt_count, d.next_attempt_at, d.created_at, d.updated_at`

func scanDelivery(row scanner, extra ...any) (*fax.Delivery, error) {
	var d fax.Delivery
	var next *int64
	var created, updated int64
	if err := row.Scan(append([]any{&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &d.FaxID, &d.Status, &d.AttemptCount,
		&next, &created, &updated}, extra...)...); err != nil {
		return nil, err
	}
	d.NextAttemptAt = fromNullMS(next)
	d.CreatedAt, d.UpdatedAt = fromMS(created), fromMS(updated)
	return &d, nil
}

// ClaimDeliveries claims up to limit pending deliveries due at now, leasing
// them until now+leaseFor, with their endpoints and events.
//
// Rows are taken with FOR UPDATE SKIP LOCKED, so instances claiming at once
// get disjoint deliveries, and leased by the same statement (claimSQL). A
// pending delivery whose endpoint was disabled meanwhile (possible between
// instances: an event routed while another transaction disabled the
// endpoint) is failed here instead of sent.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, leaseFor time.Duration, limit int) ([]*fax.DeliveryJob, error) {
	var jobs []*fax.DeliveryJob
	err := s.write(ctx, func(tx *wtx) error {
		jobs = nil
		var stale []string
		err := tx.query(func(rows pgx.Rows) error {
			for rows.Next() {
				var evAt int64
				var data []byte
				var er endpointRow
				d, err := scanDelivery(rows, append(er.targets(), &evAt, &data)...)
				if err != nil {
					return err
				}
				e, err := er.finish()
				if err != nil {
					return err
				}
				if !e.Enabled {
					stale = append(stale, d.ID)
					continue
				}
				j := &fax.DeliveryJob{Delivery: *d, Endpoint: *e}
				j.Event = fax.Event{ID: d.EventID, Type: d.EventType, FaxID: d.FaxID, CreatedAt: fromMS(evAt), Data: data}
				jobs = append(jobs, j)
			}
			return rows.Err()
		}, claimSQL+`SELECT `+deliveryColumns+`, `+prefixed("e.", endpointColumns)+`, ev.created_at, ev.data
			FROM d JOIN endpoints e ON e.id = d.endpoint_id JOIN events ev ON ev.id = d.event_id
			ORDER BY d.next_attempt_at, d.id`, ms(now), limit, ms(now.Add(leaseFor)))
		if err != nil {
			return fmt.Errorf("postgres: claim deliveries: %w", err)
		}
		if len(stale) > 0 {
			tx.queue(`UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, lease_until = NULL, updated_at = $1
				WHERE id = ANY($2)`, ms(s.now()), stale)
		}
		return nil
	})
	return jobs, err
}

// claimSQL locks up to $2 deliveries due at $1 and leases them until $3;
// the SELECT after it returns them with their endpoints and events, all in
// one statement, where a separate lease UPDATE would find the rows again.
// The lease changes no indexed column, so with the table's fillfactor it
// is a HOT update that writes no index.
const claimSQL = `WITH d AS (
	UPDATE deliveries SET lease_until = $3
	WHERE id IN (SELECT id FROM deliveries
		WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
		ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
	RETURNING *)
`

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// RecordAttempt logs one attempt and moves the delivery to status, with its
// next attempt at next (nil unless pending). A 410 Gone answer disables the
// endpoint, failing its other pending deliveries too.
//
// It locks the endpoint's row, then the delivery's (the order every change
// to both follows), so that attempts recorded by several instances for one
// endpoint count its failures one after the other.
func (s *Store) RecordAttempt(ctx context.Context, deliveryID string, a fax.Attempt, status fax.DeliveryStatus, next *time.Time) error {
	return s.RecordAttempts(ctx, []fax.Delivery{{ID: deliveryID, Status: status, NextAttemptAt: next, Attempts: []fax.Attempt{a}}})[0]
}

// pgText is what of free text s PostgreSQL stores: NUL bytes, which text
// refuses, dropped, then clipped to n bytes (workflow.Clip).
func pgText(s string, n int) string {
	return workflow.Clip(strings.ReplaceAll(s, "\x00", ""), n)
}

// FindDeliveryByID returns one delivery with its attempts.
func (s *Store) FindDeliveryByID(ctx context.Context, id string) (*fax.Delivery, error) {
	var d *fax.Delivery
	err := s.snapshot(ctx, func(q querier) error {
		var err error
		d, err = scanDelivery(q.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries d WHERE d.id = $1`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return fax.Errorf(fax.ECodeNotFound, "delivery %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("postgres: find delivery: %w", err)
		}
		return loadAttempts(ctx, q, []*fax.Delivery{d})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// querier is what reads need of the pool or a read transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// snapshot runs fn's reads in one repeatable-read, read-only transaction,
// so that they see one snapshot: a delivery and its attempts, read with two
// queries, never straddle the commit of an attempt.
func (s *Store) snapshot(ctx context.Context, fn func(querier) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: begin read: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return fn(tx)
}

// FindDeliveries lists deliveries newest first, each with its attempts.
func (s *Store) FindDeliveries(ctx context.Context, fl fax.DeliveryFilter) ([]*fax.Delivery, string, error) {
	q := `SELECT ` + deliveryColumns + ` FROM deliveries d WHERE true`
	var a args
	if fl.EndpointID != "" {
		q += ` AND d.endpoint_id = ` + a.add(fl.EndpointID)
	}
	if fl.EventID != "" {
		q += ` AND d.event_id = ` + a.add(fl.EventID)
	}
	if fl.FaxID != "" {
		q += ` AND d.fax_id = ` + a.add(fl.FaxID)
	}
	if fl.EventType != "" {
		q += ` AND d.event_type = ` + a.add(fl.EventType)
	}
	if fl.Status != "" {
		q += ` AND d.status = ` + a.add(fl.Status)
	}
	if fl.Since != nil {
		q += ` AND d.created_at >= ` + a.add(ms(*fl.Since))
	}
	if fl.Until != nil {
		q += ` AND d.created_at < ` + a.add(ms(*fl.Until))
	}
	if fl.Cursor != "" {
		q += ` AND d.id < ` + a.add(fl.Cursor)
	}
	limit := fax.PageLimit(fl.Limit)
	q += ` ORDER BY d.id DESC LIMIT ` + a.add(limit+1)
	var out []*fax.Delivery
	next := ""
	err := s.snapshot(ctx, func(qr querier) error {
		rows, err := qr.Query(ctx, q, a...)
		if err != nil {
			return fmt.Errorf("postgres: find deliveries: %w", err)
		}
		all, err := collect(rows, func(r pgx.Rows) (*fax.Delivery, error) { return scanDelivery(r) })
		if err != nil {
			return fmt.Errorf("postgres: find deliveries: %w", err)
		}
		out, next = fax.Page(all, limit, func(d *fax.Delivery) string { return d.ID })
		return loadAttempts(ctx, qr, out)
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// loadAttempts fills the attempts of ds with one query.
func loadAttempts(ctx context.Context, q querier, ds []*fax.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	byID := make(map[string]*fax.Delivery, len(ds))
	ids := make([]string, len(ds))
	for i, d := range ds {
		d.Attempts = []fax.Attempt{}
		byID[d.ID] = d
		ids[i] = d.ID
	}
	rows, err := q.Query(ctx, `SELECT delivery_id, at, status_code, latency_ms, error, response_body FROM attempts
		WHERE delivery_id = ANY($1) ORDER BY delivery_id, n`, ids)
	if err != nil {
		return fmt.Errorf("postgres: load attempts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var a fax.Attempt
		var at int64
		if err := rows.Scan(&id, &at, &a.StatusCode, &a.LatencyMS, &a.Error, &a.ResponseBody); err != nil {
			return fmt.Errorf("postgres: load attempts: %w", err)
		}
		a.At = fromMS(at)
		d := byID[id]
		d.Attempts = append(d.Attempts, a)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: load attempts: %w", err)
	}
	return nil
}

// RetryDelivery makes a delivery pending again, due now, whatever its
// status; a delivery to a disabled or deleted endpoint is a conflict.
func (s *Store) RetryDelivery(ctx context.Context, id string) (*fax.Delivery, error) {
	err := s.write(ctx, func(tx *wtx) error {
		var enabled bool
		// FOR SHARE: the endpoint cannot be disabled until this commits.
		err := tx.row(`SELECT e.enabled FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.id = $1 FOR SHARE OF e`, id).Scan(&enabled)
		if errors.Is(err, pgx.ErrNoRows) {
			return fax.Errorf(fax.ECodeNotFound, "delivery %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("postgres: retry delivery: %w", err)
		}
		if !enabled {
			return fax.Errorf(fax.ECodeConflict, "the delivery's webhook endpoint is disabled; enable it first")
		}
		now := s.now().UTC()
		tx.queue(`UPDATE deliveries SET status = 'pending', next_attempt_at = $1, lease_until = NULL, updated_at = $1 WHERE id = $2`,
			ms(now), id)
		tx.wake |= wakeDelivery
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.FindDeliveryByID(ctx, id)
}

// disableEndpoint turns an endpoint off, fails its pending deliveries and
// announces it with a webhook.endpoint_disabled event to the other global
// endpoints and an audit entry. The caller holds the endpoint's row lock.
func (s *Store) disableEndpoint(tx *wtx, endpointID, reason string, now time.Time) error {
	n, err := tx.exec(`UPDATE endpoints SET enabled = false, disabled_reason = $1, updated_at = $2 WHERE id = $3 AND enabled`,
		reason, ms(now), endpointID)
	if err != nil {
		return fmt.Errorf("postgres: disable endpoint: %w", err)
	}
	if n == 0 {
		return nil
	}
	tx.wake |= wakeEndpoint
	failPendingDeliveries(tx, endpointID, now)
	eps, err := s.routableEndpoints(tx, nil)
	if err != nil {
		return err
	}
	d := workflow.DisableEndpoint(&s.ids, endpointID, reason, eps, now)
	insertEvent(tx, &d.Event)
	for _, e := range d.To {
		s.insertDelivery(tx, e.ID, &d.Event, now)
	}
	s.recordAuditTx(tx, &d.Audit)
	return nil
}

// lockUserEndpoint reads whether a user's endpoint exists and is enabled,
// lets the workflow say whether it may be used, and keeps it so (FOR
// SHARE) until the transaction ends.
func lockUserEndpoint(tx *wtx, endpointID, action string) error {
	var enabled bool
	err := tx.row(`SELECT enabled FROM endpoints WHERE id = $1 AND NOT deleted AND fax_id = '' FOR SHARE`, endpointID).Scan(&enabled)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", action, err)
	}
	return workflow.Usable(endpointID, err == nil, enabled)
}

// CreateTestEvent makes a webhook.test event delivered only to endpointID.
func (s *Store) CreateTestEvent(ctx context.Context, endpointID string) (*fax.Delivery, error) {
	var id string
	err := s.write(ctx, func(tx *wtx) error {
		if err := lockUserEndpoint(tx, endpointID, "test event"); err != nil {
			return err
		}
		now := s.now().UTC()
		ev := workflow.TestEvent(&s.ids, endpointID, now)
		insertEvent(tx, &ev)
		id = s.insertDelivery(tx, endpointID, &ev, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.FindDeliveryByID(ctx, id)
}

// RetryFailedDeliveries makes every failed delivery of an endpoint created
// at or after since pending again, due now, and says how many.
func (s *Store) RetryFailedDeliveries(ctx context.Context, endpointID string, since time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *wtx) error {
		n = 0
		if err := lockUserEndpoint(tx, endpointID, "retry failed"); err != nil {
			return err
		}
		now := s.now().UTC()
		var err error
		n, err = tx.exec(`UPDATE deliveries SET status = 'pending', next_attempt_at = $1, lease_until = NULL, updated_at = $1
			WHERE endpoint_id = $2 AND status = 'failed' AND created_at >= $3`, ms(now), endpointID, ms(since))
		if err != nil {
			return fmt.Errorf("postgres: retry failed: %w", err)
		}
		if n > 0 {
			tx.wake |= wakeDelivery
		}
		return nil
	})
	return int(n), err
}
