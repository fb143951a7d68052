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

// ApplyUpdate applies a carrier update in one transaction: it records the
// carrier event for deduplication (unless it matched no fax), finds the fax, applies the domain's
// transition rules, saves the fax and records the events and deliveries the
// change causes. A repeated carrier event, a stale update and an update for
// an unknown fax are all acknowledged without error, and say so in the
// result.
func (s *Store) ApplyUpdate(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	var plan *applyPlan
	fn := func(tx *wtx) error {
		r, err := s.applyTx(tx, u, plan)
		res = r
		return err
	}
	switch u.Kind {
	case fax.UpdateStatus, fax.UpdatePage, fax.UpdateRetry:
		// Worked out ahead of the writer (see applyplan.go). Past its
		// first write, applying such an update fails only if the database
		// does: it needs no savepoint of its own.
		plan = s.planApply(u)
		return res, s.writeNoUndo(ctx, fn)
	}
	return res, s.write(ctx, fn)
}

func (s *Store) applyTx(tx *wtx, u *fax.Update, plan *applyPlan) (fax.ApplyResult, error) {
	key := u.DedupeKey()
	if plan != nil {
		return s.applyPlannedTx(tx, u, key, plan)
	}
	// The carrier event is looked up first and recorded last, with its
	// outcome: one write, not a placeholder and an update. Nothing can
	// record the same event in between: there is one writer.
	var seen string
	err := tx.QueryRow(`SELECT fax_id FROM carrier_events WHERE provider = ? AND event_key = ?`, u.Provider, key).Scan(&seen)
	if err == nil {
		if workflow.SettlesPending(u) {
			return s.settleByWebhookTx(tx, u, key, seen)
		}
		return fax.ApplyResult{Duplicate: true, FaxID: seen}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fax.ApplyResult{}, fmt.Errorf("sqlite: find carrier event: %w", err)
	}
	now := s.now().UTC()
	res, outcome, err := s.applyWork(tx, u, now)
	if err != nil {
		return res, err
	}
	if outcome == workflow.Unknown {
		// An event that matched nothing is not kept: recorded, its key
		// would turn the genuine event for that fax into a duplicate.
		return res, nil
	}
	if _, err := tx.Exec(`INSERT INTO carrier_events (provider, event_key, outcome, fax_id, received_at) VALUES (?, ?, ?, ?, ?)`,
		u.Provider, key, string(outcome), res.FaxID, ms(now)); err != nil {
		return res, fmt.Errorf("sqlite: record carrier event: %w", err)
	}
	return res, nil
}

// applyPlannedTx applies an update worked out ahead of the writer. The
// carrier event is recorded first, as the plan expects it to end (applied
// to its fax), and its insert is also the duplicate check: one statement
// where an unplanned update needs a lookup and an insert. In the rare case
// the plan does not hold and the update ends otherwise, the event's
// outcome is corrected.
func (s *Store) applyPlannedTx(tx *wtx, u *fax.Update, key string, plan *applyPlan) (fax.ApplyResult, error) {
	r, err := tx.Exec(`INSERT INTO carrier_events (provider, event_key, outcome, fax_id, received_at) VALUES (?, ?, 'applied', ?, ?)
		ON CONFLICT (provider, event_key) DO NOTHING`, u.Provider, key, plan.after.ID, ms(plan.now))
	if err != nil {
		return fax.ApplyResult{}, fmt.Errorf("sqlite: record carrier event: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		var seen string
		if err := tx.QueryRow(`SELECT fax_id FROM carrier_events WHERE provider = ? AND event_key = ?`, u.Provider, key).Scan(&seen); err != nil {
			return fax.ApplyResult{}, fmt.Errorf("sqlite: find carrier event: %w", err)
		}
		return fax.ApplyResult{Duplicate: true, FaxID: seen}, nil
	}
	res, ok, err := s.applyPlanned(tx, plan)
	if err != nil || ok {
		return res, err
	}
	res, outcome, err := s.applyWork(tx, u, plan.now)
	if err != nil {
		return res, err
	}
	if outcome == workflow.Unknown {
		if _, err := tx.Exec(`DELETE FROM carrier_events WHERE provider = ? AND event_key = ?`, u.Provider, key); err != nil {
			return res, fmt.Errorf("sqlite: forget carrier event: %w", err)
		}
		return res, nil
	}
	if outcome != workflow.Applied || res.FaxID != plan.after.ID {
		if _, err := tx.Exec(`UPDATE carrier_events SET outcome = ?, fax_id = ? WHERE provider = ? AND event_key = ?`,
			string(outcome), res.FaxID, u.Provider, key); err != nil {
			return res, fmt.Errorf("sqlite: record carrier event: %w", err)
		}
	}
	return res, nil
}

// applyWork loads what an update is about, lets the workflow decide and
// saves the change; it returns the outcome to record with the carrier
// event.
func (s *Store) applyWork(tx *wtx, u *fax.Update, now time.Time) (fax.ApplyResult, workflow.Outcome, error) {
	switch u.Kind {
	case fax.UpdateSMS:
		c, err := s.applySMSTx(tx, u, now)
		return c.Result, c.Outcome, err
	case fax.UpdateInbound:
		res, err := s.receiveTx(tx, u, now)
		return res, workflow.Applied, err
	}
	f, rowid, err := s.findUpdateFax(tx, u)
	if err != nil {
		return fax.ApplyResult{}, "", err
	}
	var before fax.Fax
	if f != nil {
		before = *f
	}
	c, err := workflow.ApplyToFaxRedial(&s.ids, f, u, now, s.redial)
	if err != nil || !c.Save {
		return c.Result, c.Outcome, err
	}
	if err := saveApplied(tx, &before, f, rowid); err != nil {
		return c.Result, "", err
	}
	if c.RedialAt != nil {
		if err := requeue(tx, f, *c.RedialAt); err != nil {
			return c.Result, "", err
		}
	}
	s.faxes.put(rowid, f)
	return c.Result, c.Outcome, s.insertEvents(tx, f, c.Events, now)
}

// saveApplied writes what applying an update changed in f (before is f as
// it was read): a page or a retry only moves the page counts and the time,
// which a narrower statement writes without touching the indexes.
func saveApplied(tx *wtx, before, f *fax.Fax, rowid int64) error {
	if f.Status == before.Status && f.ProviderFaxID == before.ProviderFaxID && f.Failure == before.Failure && f.CompletedAt == before.CompletedAt &&
		f.Details == before.Details {
		if _, err := tx.Exec(`UPDATE faxes SET pages = ?, pages_sent = ?, updated_at = ? WHERE rowid = ?`,
			f.Pages, f.PagesSent, ms(f.UpdatedAt), rowid); err != nil {
			return fmt.Errorf("sqlite: save fax: %w", err)
		}
		return nil
	}
	return saveFax(tx, f)
}

// findUpdateFax loads the fax an update names: by faxgate's id when the
// carrier echoed it, else by the carrier's id among its outbound faxes. The
// workflow decides whether the update may touch it.
func (s *Store) findUpdateFax(tx *wtx, u *fax.Update) (*fax.Fax, int64, error) {
	var f *fax.Fax
	var rowid int64
	var err error
	switch {
	case u.FaxID != "":
		f, err = scanFax(tx.QueryRow(`SELECT `+faxColumns+`, rowid FROM faxes WHERE id = ?`, u.FaxID), &rowid)
	case u.ProviderFaxID != "":
		f, err = scanFax(tx.QueryRow(`SELECT `+faxColumns+`, rowid FROM faxes WHERE provider = ? AND provider_fax_id = ? AND direction = 'outbound'`,
			u.Provider, u.ProviderFaxID), &rowid)
	default:
		return nil, 0, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: match fax: %w", err)
	}
	return f, rowid, nil
}

// receiveTx saves the received fax the workflow makes of an inbound
// update, with its fax.received event.
func (s *Store) receiveTx(tx *wtx, u *fax.Update, now time.Time) (fax.ApplyResult, error) {
	f, c, err := workflow.Receive(&s.ids, u, now)
	if err != nil {
		return c.Result, err
	}
	if err := insertFax(tx, f); err != nil {
		return c.Result, err
	}
	return c.Result, s.insertEvents(tx, f, c.Events, now)
}

// insertFax writes a new received fax.
func insertFax(tx *wtx, f *fax.Fax) error {
	purged := 0
	if f.DocumentPurged {
		purged = 1
	}
	_, err := tx.Exec(`INSERT INTO faxes (id, direction, status, to_number, from_number, provider, provider_fax_id, pages, pages_sent,
		failure, document_key, document_type, document_size, document_sha256, document_purged, document_status, document_error,
		created_at, updated_at, completed_at, station_id, caller_id, duration_seconds, bit_rate)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.Direction, f.Status, f.To, f.From, f.Provider, f.ProviderFaxID, f.Pages, f.PagesSent, failureJSON(f.Failure),
		f.DocumentKey, f.DocumentType, f.DocumentSize, f.DocumentSHA256, purged, f.DocumentStatus, f.DocumentError,
		ms(f.CreatedAt), ms(f.UpdatedAt), msPtr(f.CompletedAt),
		nullString(f.Details.StationID), nullString(f.Details.CallerID), nullInt(f.Details.DurationSeconds), nullInt(f.Details.BitRate))
	if err != nil {
		return fmt.Errorf("sqlite: receive: %w", err)
	}
	return nil
}

// CancelFax cancels a fax that is not final yet. A final fax is a conflict.
func (s *Store) CancelFax(ctx context.Context, id string) (*fax.Fax, error) {
	var out *fax.Fax
	err := s.write(ctx, func(tx *wtx) error {
		f, err := findFaxTx(tx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		evs, err := workflow.Cancel(&s.ids, f, now)
		if err != nil {
			return err
		}
		if err := saveFax(tx, f); err != nil {
			return err
		}
		if err := s.insertEvents(tx, f, evs, now); err != nil {
			return err
		}
		out = f
		return nil
	})
	return out, err
}

// requeue puts f, whose attempt ended without the fax (a redial or a
// failover), back in the dispatch queue, due at at, with its earlier
// attempts and its carrier as they now are. The hand-over count starts
// again: it counts the tries of one attempt.
func requeue(tx *wtx, f *fax.Fax, at time.Time) error {
	if _, err := tx.Exec(`UPDATE faxes SET provider = ?, attempts = ?, dispatch_state = 'pending', dispatch_at = ?, lease_until = NULL,
		on_wire = 0, handed_at = NULL, send_attempts = 0 WHERE id = ?`, f.Provider, attemptsJSON(f.Attempts), ms(at), f.ID); err != nil {
		return fmt.Errorf("sqlite: requeue fax: %w", err)
	}
	tx.wake |= wakeFax
	return nil
}
