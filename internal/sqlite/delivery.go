package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
)

const deliveryColumns = `d.id, d.endpoint_id, d.event_id, d.event_type, d.fax_id, d.status, d.attempt_count, d.next_attempt_at, d.created_at, d.updated_at`

func scanDelivery(row scanner, extra ...any) (*fax.Delivery, error) {
	var d fax.Delivery
	var next sql.NullInt64
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
// them until now+leaseFor, with their endpoints and events. Each endpoint
// is read once per claim, however many of its deliveries the claim holds.
// A pending delivery whose endpoint is disabled or deleted is failed here
// instead of sent, as the PostgreSQL store does.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, leaseFor time.Duration, limit int) ([]*fax.DeliveryJob, error) {
	var jobs []*fax.DeliveryJob
	err := s.writeNoUndo(ctx, func(tx *wtx) error {
		jobs = jobs[:0]
		rows, err := tx.Query(`SELECT `+deliveryColumns+`, ev.created_at, ev.data
			FROM deliveries d JOIN events ev ON ev.id = d.event_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND (d.lease_until IS NULL OR d.lease_until < ?)
			ORDER BY d.next_attempt_at LIMIT ?`, ms(now), ms(now), limit)
		if err != nil {
			return fmt.Errorf("sqlite: claim deliveries: %w", err)
		}
		for rows.Next() {
			var evAt int64
			var data []byte
			d, err := scanDelivery(rows, &evAt, &data)
			if err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: claim deliveries: %w", err)
			}
			j := &fax.DeliveryJob{Delivery: *d}
			j.Event = fax.Event{ID: d.EventID, Type: d.EventType, FaxID: d.FaxID, CreatedAt: fromMS(evAt), Data: data}
			jobs = append(jobs, j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: claim deliveries: %w", err)
		}
		endpoints := map[string]*fax.Endpoint{}
		kept := jobs[:0]
		lease := ms(now.Add(leaseFor))
		for _, j := range jobs {
			id := j.Delivery.EndpointID
			e, seen := endpoints[id]
			if !seen {
				e, err = scanEndpoint(tx.QueryRow(`SELECT `+endpointColumns+` FROM endpoints WHERE id = ?`, id))
				if errors.Is(err, sql.ErrNoRows) {
					e, err = nil, nil
				}
				if err != nil {
					return fmt.Errorf("sqlite: claim deliveries: %w", err)
				}
				endpoints[id] = e
			}
			if e == nil {
				continue // no endpoint row: not claimed, as an inner join would not
			}
			if !e.Enabled {
				if _, err := tx.Exec(`UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, lease_until = NULL, updated_at = ?
					WHERE id = ?`, ms(s.now()), j.Delivery.ID); err != nil {
					return fmt.Errorf("sqlite: claim deliveries: %w", err)
				}
				continue
			}
			j.Endpoint = *e
			if _, err := tx.Exec(`UPDATE deliveries SET lease_until = ? WHERE id = ?`, lease, j.Delivery.ID); err != nil {
				return fmt.Errorf("sqlite: claim deliveries: %w", err)
			}
			kept = append(kept, j)
		}
		jobs = kept
		return nil
	})
	return jobs, err
}

// RecordAttempt logs one attempt and moves the delivery to status, with its
// next attempt at next (nil unless pending). A 410 Gone answer disables the
// endpoint, failing its other pending deliveries too.
func (s *Store) RecordAttempt(ctx context.Context, deliveryID string, a fax.Attempt, status fax.DeliveryStatus, next *time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		return s.recordAttemptTx(tx, deliveryID, a, status, next, s.now().UTC(), nil)
	})
}

// FindDeliveryByID returns one delivery with its attempts.
func (s *Store) FindDeliveryByID(ctx context.Context, id string) (*fax.Delivery, error) {
	var d *fax.Delivery
	err := s.snapshot(ctx, func(q reader) error {
		var err error
		d, err = scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries d WHERE d.id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fax.Errorf(fax.ECodeNotFound, "delivery %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: find delivery: %w", err)
		}
		return loadAttempts(ctx, q, []*fax.Delivery{d})
	})
	return d, err
}

// reader is what reads need of a connection or a read transaction.
type reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// snapshot runs fn's reads in one read transaction, so that they see the
// database as of one commit: a delivery and its attempts, read with two
// queries, never straddle the commit of an attempt.
func (s *Store) snapshot(ctx context.Context, fn func(reader) error) error {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// FindDeliveries lists deliveries newest first, each with its attempts.
func (s *Store) FindDeliveries(ctx context.Context, fl fax.DeliveryFilter) ([]*fax.Delivery, string, error) {
	q := `SELECT ` + deliveryColumns + ` FROM deliveries d WHERE 1=1`
	var args []any
	add := func(cond string, v any) {
		q += " AND " + cond
		args = append(args, v)
	}
	if fl.EndpointID != "" {
		add("d.endpoint_id = ?", fl.EndpointID)
	}
	if fl.EventID != "" {
		add("d.event_id = ?", fl.EventID)
	}
	if fl.FaxID != "" {
		add("d.fax_id = ?", fl.FaxID)
	}
	if fl.Status != "" {
		add("d.status = ?", fl.Status)
	}
	if fl.EventType != "" {
		add("d.event_type = ?", fl.EventType)
	}
	if fl.Since != nil {
		add("d.created_at >= ?", ms(*fl.Since))
	}
	if fl.Until != nil {
		add("d.created_at < ?", ms(*fl.Until))
	}
	if fl.Cursor != "" {
		add("d.id < ?", fl.Cursor)
	}
	limit := fax.PageLimit(fl.Limit)
	q += ` ORDER BY d.id DESC LIMIT ?`
	args = append(args, limit+1)
	var out []*fax.Delivery
	next := ""
	err := s.snapshot(ctx, func(rd reader) error {
		rows, err := rd.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("sqlite: find deliveries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return fmt.Errorf("sqlite: find deliveries: %w", err)
			}
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: find deliveries: %w", err)
		}
		rows.Close()
		out, next = fax.Page(out, limit, func(d *fax.Delivery) string { return d.ID })
		return loadAttempts(ctx, rd, out)
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

func loadAttempts(ctx context.Context, rd reader, ds []*fax.Delivery) error {
	for _, d := range ds {
		rows, err := rd.QueryContext(ctx, `SELECT at, status_code, latency_ms, error, response_body FROM attempts WHERE delivery_id = ? ORDER BY n`, d.ID)
		if err != nil {
			return fmt.Errorf("sqlite: load attempts: %w", err)
		}
		d.Attempts = []fax.Attempt{}
		for rows.Next() {
			var a fax.Attempt
			var at int64
			if err := rows.Scan(&at, &a.StatusCode, &a.LatencyMS, &a.Error, &a.ResponseBody); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: load attempts: %w", err)
			}
			a.At = fromMS(at)
			d.Attempts = append(d.Attempts, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: load attempts: %w", err)
		}
	}
	return nil
}

// RetryDelivery makes a delivery pending again, due now, whatever its
// status; a delivery to a disabled or deleted endpoint is a conflict.
func (s *Store) RetryDelivery(ctx context.Context, id string) (*fax.Delivery, error) {
	err := s.write(ctx, func(tx *wtx) error {
		var enabled int
		err := tx.QueryRow(`SELECT e.enabled FROM deliveries d JOIN endpoints e ON e.id = d.endpoint_id WHERE d.id = ?`, id).Scan(&enabled)
		if errors.Is(err, sql.ErrNoRows) {
			return fax.Errorf(fax.ECodeNotFound, "delivery %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: retry delivery: %w", err)
		}
		if enabled == 0 {
			return fax.Errorf(fax.ECodeConflict, "the delivery's webhook endpoint is disabled; enable it first")
		}
		now := s.now().UTC()
		if _, err := tx.Exec(`UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL, updated_at = ? WHERE id = ?`,
			ms(now), ms(now), id); err != nil {
			return fmt.Errorf("sqlite: retry delivery: %w", err)
		}
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
// endpoints and an audit entry.
func (s *Store) disableEndpoint(tx *wtx, endpointID, reason string, now time.Time) error {
	tx.endpointsWritten()
	res, err := tx.Exec(`UPDATE endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1`, reason, ms(now), endpointID)
	if err != nil {
		return fmt.Errorf("sqlite: disable endpoint: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	tx.wake |= wakeEndpoint
	if err := failPendingDeliveries(tx, endpointID, now); err != nil {
		return err
	}
	eps, err := s.routableEndpoints(tx, "")
	if err != nil {
		return err
	}
	d := workflow.DisableEndpoint(&s.ids, endpointID, reason, eps, now)
	if err := insertEvent(tx, &d.Event); err != nil {
		return err
	}
	for _, e := range d.To {
		if err := s.insertDelivery(tx, e.ID, &d.Event, now); err != nil {
			return err
		}
	}
	return s.recordAuditTx(tx, &d.Audit)
}

// usableEndpoint reads whether a user's endpoint exists and is enabled, and
// lets the workflow say whether it may be used.
func usableEndpoint(tx *wtx, endpointID, action string) error {
	var enabled int
	err := tx.QueryRow(`SELECT enabled FROM endpoints WHERE id = ? AND deleted = 0 AND fax_id = ''`, endpointID).Scan(&enabled)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", action, err)
	}
	return workflow.Usable(endpointID, err == nil, enabled != 0)
}

// CreateTestEvent makes a webhook.test event delivered only to endpointID.
func (s *Store) CreateTestEvent(ctx context.Context, endpointID string) (*fax.Delivery, error) {
	var id string
	err := s.write(ctx, func(tx *wtx) error {
		if err := usableEndpoint(tx, endpointID, "test event"); err != nil {
			return err
		}
		now := s.now().UTC()
		ev := workflow.TestEvent(&s.ids, endpointID, now)
		if err := insertEvent(tx, &ev); err != nil {
			return err
		}
		if err := s.insertDelivery(tx, endpointID, &ev, now); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT id FROM deliveries WHERE endpoint_id = ? AND event_id = ?`, endpointID, ev.ID).Scan(&id)
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
		if err := usableEndpoint(tx, endpointID, "retry failed"); err != nil {
			return err
		}
		now := s.now().UTC()
		res, err := tx.Exec(`UPDATE deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL, updated_at = ?
			WHERE endpoint_id = ? AND status = 'failed' AND created_at >= ?`, ms(now), ms(now), endpointID, ms(since))
		if err != nil {
			return fmt.Errorf("sqlite: retry failed: %w", err)
		}
		n, _ = res.RowsAffected()
		if n > 0 {
			tx.wake |= wakeDelivery
		}
		return nil
	})
	return int(n), err
}
