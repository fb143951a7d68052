package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
)

// ApplyUpdate applies a carrier update: it finds and locks the fax (or
// SMS), applies the domain's transition rules, saves the record, records
// the events and deliveries the change causes and records the carrier event
// for deduplication (unless it matched nothing), all in one transaction. A
// repeated carrier event, a stale update and an update for an unknown fax
// are all acknowledged without error, and say so in the result.
//
// Updates about outbound faxes are applied in batches (see applier);
// received faxes and SMS one transaction each.
//
// Between instances: the same carrier event applied twice at once collides
// on carrier_events' primary key or is seen once the fax's row lock is
// released; updates to one fax serialise on its row lock.
func (s *Store) ApplyUpdate(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	if u.Kind != fax.UpdateSMS && u.Kind != fax.UpdateInbound {
		return s.applier.do(ctx, u)
	}
	var res fax.ApplyResult
	err := s.write(ctx, func(tx *wtx) error {
		r, err := s.applyTx(tx, u)
		res = r
		return err
	})
	return res, err
}

func (s *Store) applyTx(tx *wtx, u *fax.Update) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	now := s.now().UTC()
	key := u.DedupeKey()
	var fresh bool
	var dupFaxID string
	tx.queue(`INSERT INTO carrier_events (provider, event_key, outcome, received_at) VALUES ($1, $2, 'pending', $3)
		ON CONFLICT (provider, event_key) DO NOTHING RETURNING true`, u.Provider, key, ms(now)).QueryRow(func(row pgx.Row) error {
		return noRowsOK(row.Scan(&fresh))
	})
	tx.queue(`SELECT fax_id FROM carrier_events WHERE provider = $1 AND event_key = $2`, u.Provider, key).QueryRow(func(row pgx.Row) error {
		return noRowsOK(row.Scan(&dupFaxID))
	})
	var sms *fax.SMS
	var endpoints []*fax.Endpoint
	if u.Kind == fax.UpdateSMS {
		queueMatchSMS(tx, u, &sms)
	}
	queueRoutable(tx, nil, &endpoints)
	if err := tx.flush(); err != nil {
		return res, fmt.Errorf("postgres: apply: %w", err)
	}
	if !fresh {
		if workflow.SettlesPending(u) {
			return s.settleByWebhookTx(tx, u, key, dupFaxID, endpoints, now)
		}
		res.Duplicate, res.FaxID = true, dupFaxID
		return res, nil
	}
	var c workflow.Change
	var err error
	switch u.Kind {
	case fax.UpdateSMS:
		c, err = s.applySMSTx(tx, u, sms, endpoints, now)
	case fax.UpdateInbound:
		c.Result, err = s.receiveTx(tx, u, endpoints, now)
		c.Outcome = workflow.Applied
	}
	if err != nil {
		return c.Result, err
	}
	if c.Outcome == workflow.Unknown {
		// An event that matched nothing is not kept: recorded, its key
		// would turn the genuine event for that fax into a duplicate.
		tx.queue(`DELETE FROM carrier_events WHERE provider = $1 AND event_key = $2`, u.Provider, key)
		return c.Result, nil
	}
	tx.queue(`UPDATE carrier_events SET outcome = $1, fax_id = $2 WHERE provider = $3 AND event_key = $4`,
		string(c.Outcome), c.Result.FaxID, u.Provider, key)
	return c.Result, nil
}

// noRowsOK turns pgx.ErrNoRows into nil, for queries whose absent row is an
// answer.
func noRowsOK(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}

// receiveTx queues the received fax the workflow makes of an inbound
// update, with its fax.received event routed among endpoints (the global
// and number-bound ones).
func (s *Store) receiveTx(tx *wtx, u *fax.Update, endpoints []*fax.Endpoint, now time.Time) (fax.ApplyResult, error) {
	f, c, err := workflow.Receive(&s.ids, u, now)
	if err != nil {
		return c.Result, err
	}
	insertReceived(tx, f)
	s.insertEvents(tx, f, c.Events, endpoints, now)
	return c.Result, nil
}

// insertReceived queues the insert of a new received fax.
func insertReceived(tx *wtx, f *fax.Fax) {
	tx.queue(`INSERT INTO faxes (id, direction, status, to_number, from_number, provider, provider_fax_id, pages, pages_sent,
		failure, document_key, document_type, document_size, document_sha256, document_status, document_error, created_at, updated_at, completed_at,
		station_id, caller_id, duration_seconds, bit_rate)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`,
		f.ID, f.Direction, f.Status, f.To, f.From, f.Provider, f.ProviderFaxID, f.Pages, f.PagesSent, failureJSON(f.Failure),
		f.DocumentKey, f.DocumentType, f.DocumentSize, f.DocumentSHA256, string(f.DocumentStatus), f.DocumentError,
		ms(f.CreatedAt), ms(f.UpdatedAt), msPtr(f.CompletedAt),
		nullString(f.Details.StationID), nullString(f.Details.CallerID), nullInt(f.Details.DurationSeconds), nullInt(f.Details.BitRate))
}

// CancelFax cancels a fax that is not final yet. A final fax is a conflict.
func (s *Store) CancelFax(ctx context.Context, id string) (*fax.Fax, error) {
	var out *fax.Fax
	err := s.write(ctx, func(tx *wtx) error {
		out = nil
		var endpoints []*fax.Endpoint
		queueRoutable(tx, []string{id}, &endpoints)
		f, err := lockFax(tx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		evs, err := workflow.Cancel(&s.ids, f, now)
		if err != nil {
			return err
		}
		saveFax(tx, f)
		tx.queue(`UPDATE faxes SET dispatch_state = 'done', lease_until = NULL WHERE id = $1`, f.ID)
		s.insertEvents(tx, f, evs, endpoints, now)
		out = f
		return nil
	})
	return out, err
}

// requeue puts f, whose attempt ended without the fax (a redial or a
// failover), back in the dispatch queue, due at at, with its earlier
// attempts and its carrier as they now are. The hand-over count starts
// again: it counts the tries of one attempt.
func requeue(tx *wtx, f *fax.Fax, at time.Time) {
	tx.queue(`UPDATE faxes SET provider = $1, attempts = $2, dispatch_state = 'pending', dispatch_at = $3, lease_until = NULL,
		on_wire = 0, handed_at = NULL, send_attempts = 0 WHERE id = $4`, f.Provider, attemptsJSON(f.Attempts), ms(at), f.ID)
	tx.wake |= wakeFax
}
