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

// RecordAttempts records many attempts in one write operation, each as
// RecordAttempt would, in order. A delivery that does not exist gets its
// not_found error and the others are recorded; any other error fails them
// all. Successes to one endpoint update its health once.
func (s *Store) RecordAttempts(ctx context.Context, ds []fax.Delivery) []error {
	errs := make([]error, len(ds))
	// An unknown delivery is found before anything of it is written, and
	// is reported in errs; the operation itself fails only with the
	// database, so it needs no savepoint.
	err := s.writeNoUndo(ctx, func(tx *wtx) error {
		clear(errs)
		now := s.now().UTC()
		healthy := healthyEndpoints{}
		for i := range ds {
			d := &ds[i]
			if len(d.Attempts) != 1 {
				errs[i] = fax.Errorf(fax.ECodeInvalid, "delivery %s: want exactly one attempt to record", d.ID)
				continue
			}
			err := s.recordAttemptTx(tx, d.ID, d.Attempts[0], d.Status, d.NextAttemptAt, now, healthy)
			if fax.ErrorCode(err) == fax.ECodeNotFound {
				errs[i] = err
				continue
			}
			if err != nil {
				return err
			}
		}
		return healthy.flush(tx)
	})
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs
}

// healthyEndpoints holds, within one batch of attempts, the endpoints that
// succeeded and when, to be written once each.
type healthyEndpoints map[string]time.Time

func (h healthyEndpoints) flushOne(tx *wtx, endpointID string) error {
	at, ok := h[endpointID]
	if !ok {
		return nil
	}
	delete(h, endpointID)
	if _, err := tx.Exec(`UPDATE endpoints SET failing_since = NULL, last_success_at = ? WHERE id = ?`, ms(at), endpointID); err != nil {
		return fmt.Errorf("sqlite: record attempt: %w", err)
	}
	return nil
}

func (h healthyEndpoints) flush(tx *wtx) error {
	for id := range h {
		if err := h.flushOne(tx, id); err != nil {
			return err
		}
	}
	return nil
}

// recordAttemptTx logs one attempt and moves the delivery to status (see
// RecordAttempt). With healthy, a success's endpoint update waits in it to
// be written once for the batch; a failure to the same endpoint writes it
// first, so the outcome is as if each attempt were recorded alone, in order.
func (s *Store) recordAttemptTx(tx *wtx, deliveryID string, a fax.Attempt, status fax.DeliveryStatus, next *time.Time, now time.Time, healthy healthyEndpoints) error {
	if status != fax.DeliveryPending {
		next = nil
	}
	var n int
	var endpointID string
	// A retry is never scheduled to an endpoint deleted or disabled while
	// the attempt was on the wire: its deliveries were failed then, and a
	// late result must not make one pending again.
	err := tx.QueryRow(`UPDATE deliveries SET
			status = CASE WHEN ?1 = 'pending' AND COALESCE((SELECT enabled FROM endpoints e WHERE e.id = deliveries.endpoint_id), 0) = 0
				THEN 'failed' ELSE ?1 END,
			next_attempt_at = CASE WHEN ?1 = 'pending' AND COALESCE((SELECT enabled FROM endpoints e WHERE e.id = deliveries.endpoint_id), 0) = 0
				THEN NULL ELSE ?2 END,
			attempt_count = attempt_count + 1, lease_until = NULL, updated_at = ?3
		WHERE id = ?4 RETURNING attempt_count, endpoint_id`, status, msPtr(next), ms(now), deliveryID).Scan(&n, &endpointID)
	if errors.Is(err, sql.ErrNoRows) {
		return fax.Errorf(fax.ECodeNotFound, "delivery %s not found", deliveryID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: record attempt: %w", err)
	}
	if a.HoldEndpointUntil != nil {
		if _, err := tx.Exec(`UPDATE deliveries SET next_attempt_at = ?1 WHERE endpoint_id = ?2 AND status = 'pending' AND next_attempt_at < ?1`,
			ms(*a.HoldEndpointUntil), endpointID); err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
	}
	body := workflow.Clip(a.ResponseBody, workflow.MaxResponseBody)
	errText := workflow.Clip(a.Error, workflow.MaxErrorText)
	if _, err := tx.Exec(`INSERT INTO attempts (delivery_id, n, at, status_code, latency_ms, error, response_body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		deliveryID, n, ms(a.At), a.StatusCode, a.LatencyMS, errText, body); err != nil {
		return fmt.Errorf("sqlite: record attempt: %w", err)
	}
	if status != fax.DeliverySucceeded && healthy != nil {
		if err := healthy.flushOne(tx, endpointID); err != nil {
			return err
		}
	}
	h, err := workflow.JudgeAttempt(a, status, s.disableAfter, func() (*time.Time, error) {
		var since sql.NullInt64
		if err := tx.QueryRow(`SELECT failing_since FROM endpoints WHERE id = ?`, endpointID).Scan(&since); err != nil {
			return nil, fmt.Errorf("sqlite: record attempt: %w", err)
		}
		return fromNullMS(since), nil
	})
	switch {
	case err != nil:
		return err
	case h.Succeeded && healthy != nil:
		healthy[endpointID] = now
	case h.Succeeded:
		if _, err := tx.Exec(`UPDATE endpoints SET failing_since = NULL, last_success_at = ? WHERE id = ?`, ms(now), endpointID); err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
	case h.StartFailing:
		if _, err := tx.Exec(`UPDATE endpoints SET failing_since = ? WHERE id = ?`, ms(a.At), endpointID); err != nil {
			return fmt.Errorf("sqlite: record attempt: %w", err)
		}
	case h.Disable != "":
		return s.disableEndpoint(tx, endpointID, h.Disable, now)
	}
	return nil
}
