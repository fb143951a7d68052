package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
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
	if outcome == "unknown" {
		// An event that matched nothing is not kept: recorded, its key
		// would turn the genuine event for that fax into a duplicate.
		return res, nil
	}
	if _, err := tx.Exec(`INSERT INTO carrier_events (provider, event_key, outcome, fax_id, received_at) VALUES (?, ?, ?, ?, ?)`,
		u.Provider, key, outcome, res.FaxID, ms(now)); err != nil {
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
	if outcome == "unknown" {
		if _, err := tx.Exec(`DELETE FROM carrier_events WHERE provider = ? AND event_key = ?`, u.Provider, key); err != nil {
			return res, fmt.Errorf("sqlite: forget carrier event: %w", err)
		}
		return res, nil
	}
	if outcome != "applied" || res.FaxID != plan.after.ID {
		if _, err := tx.Exec(`UPDATE carrier_events SET outcome = ?, fax_id = ? WHERE provider = ? AND event_key = ?`,
			outcome, res.FaxID, u.Provider, key); err != nil {
			return res, fmt.Errorf("sqlite: record carrier event: %w", err)
		}
	}
	return res, nil
}

// applyWork does what an update says and returns the outcome to record
// with its carrier event.
func (s *Store) applyWork(tx *wtx, u *fax.Update, now time.Time) (fax.ApplyResult, string, error) {
	var res fax.ApplyResult
	var err error
	outcome := "applied"
	if u.Kind == fax.UpdateSMS {
		res, err = s.applySMSTx(tx, u, now)
		if err != nil {
			return res, "", err
		}
		switch {
		case res.Unknown:
			outcome = "unknown"
		case res.Stale:
			outcome = "stale"
		}
	} else if u.Kind == fax.UpdateInbound {
		res, err = s.receiveTx(tx, u, now)
		if err != nil {
			return res, "", err
		}
	} else {
		f, rowid, err := s.matchFax(tx, u)
		if err != nil {
			return res, "", err
		}
		if f == nil {
			res.Unknown = true
			outcome = "unknown"
		} else {
			res.FaxID = f.ID
			before := *f
			specs := fax.Apply(f, u, now)
			if len(specs) == 0 {
				res.Stale = true
				outcome = "stale"
				if f.ProviderFaxID != before.ProviderFaxID {
					// A stale update may still tell the carrier's id
					// (Asterisk's call answered after the fax was sending).
					if err := saveApplied(tx, &before, f, rowid); err != nil {
						return res, "", err
					}
					s.faxes.put(rowid, f)
				}
			} else {
				if err := saveApplied(tx, &before, f, rowid); err != nil {
					return res, "", err
				}
				s.faxes.put(rowid, f)
				ids, err := s.recordEvents(tx, f, specs, now)
				if err != nil {
					return res, "", err
				}
				res.Applied, res.Events = true, ids
			}
		}
	}
	if res.Stale && outcome == "applied" {
		outcome = "stale"
	}
	return res, outcome, nil
}

// saveApplied writes what applying an update changed in f (before is f as
// it was read): a page or a retry only moves the page counts and the time,
// which a narrower statement writes without touching the indexes.
func saveApplied(tx *wtx, before, f *fax.Fax, rowid int64) error {
	if f.Status == before.Status && f.ProviderFaxID == before.ProviderFaxID && f.Failure == before.Failure && f.CompletedAt == before.CompletedAt {
		if _, err := tx.Exec(`UPDATE faxes SET pages = ?, pages_sent = ?, updated_at = ? WHERE rowid = ?`,
			f.Pages, f.PagesSent, ms(f.UpdatedAt), rowid); err != nil {
			return fmt.Errorf("sqlite: save fax: %w", err)
		}
		return nil
	}
	return saveFax(tx, f)
}

// matchFax finds the outbound fax an update is about: by faxgate's id when
// the carrier echoed it, else by the carrier's id. A fax of another carrier
// never matches, so one carrier's credentials cannot touch another's faxes.
func (s *Store) matchFax(tx *wtx, u *fax.Update) (*fax.Fax, int64, error) {
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
	if f.Provider != u.Provider || f.Direction != fax.Outbound {
		return nil, 0, nil
	}
	if u.NamesOther(f.ProviderFaxID) {
		return nil, 0, nil
	}
	return f, rowid, nil
}

// receiveTx creates a received fax from an inbound update whose document is
// already stored, with its fax.received event.
func (s *Store) receiveTx(tx *wtx, u *fax.Update, now time.Time) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	doc := u.Document
	if doc == nil {
		doc = &fax.InboundDocument{}
	}
	if doc.Key == "" && u.Failure == nil {
		return res, fmt.Errorf("sqlite: receive: inbound update without a stored document or a failure")
	}
	t := now
	st := u.Status
	if st != fax.StatusPartial {
		st = fax.StatusReceived
	}
	f := &fax.Fax{
		ID: s.ids.New(fax.PrefixFax, t), Direction: fax.Inbound, Status: st, To: u.To, From: u.From,
		Provider: u.Provider, ProviderFaxID: u.ProviderFaxID, Pages: u.Pages, PagesSent: u.Pages, Failure: u.Failure,
		DocumentKey: doc.Key, DocumentSize: doc.Size, DocumentSHA256: doc.SHA256, CreatedAt: t, UpdatedAt: t, CompletedAt: &t,
	}
	if doc.Key != "" {
		f.DocumentType = "application/pdf"
	}
	_, err := tx.Exec(`INSERT INTO faxes (id, direction, status, to_number, from_number, provider, provider_fax_id, pages, pages_sent,
		failure, document_key, document_type, document_size, document_sha256, created_at, updated_at, completed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.Direction, f.Status, f.To, f.From, f.Provider, f.ProviderFaxID, f.Pages, f.PagesSent, failureJSON(f.Failure),
		f.DocumentKey, f.DocumentType, f.DocumentSize, f.DocumentSHA256, ms(t), ms(t), ms(t))
	if err != nil {
		return res, fmt.Errorf("sqlite: receive: %w", err)
	}
	ids, err := s.recordEvents(tx, f, []fax.EventSpec{{Type: fax.EventFaxReceived}}, t)
	if err != nil {
		return res, err
	}
	res.FaxID, res.Applied, res.Events = f.ID, true, ids
	return res, nil
}

// CancelFax cancels a fax that is not final yet. A final fax is a conflict.
func (s *Store) CancelFax(ctx context.Context, id string) (*fax.Fax, error) {
	var out *fax.Fax
	err := s.write(ctx, func(tx *wtx) error {
		f, err := findFaxTx(tx, id)
		if err != nil {
			return err
		}
		if f.Direction != fax.Outbound {
			return fax.Errorf(fax.ECodeConflict, "only outbound faxes can be canceled")
		}
		if f.Status.Final() {
			return fax.Errorf(fax.ECodeConflict, "fax %s is already %s", f.ID, f.Status)
		}
		now := s.now().UTC()
		specs := fax.Apply(f, &fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusCanceled}, now)
		if err := saveFax(tx, f); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE faxes SET dispatch_state = 'done', lease_until = NULL WHERE id = ?`, f.ID); err != nil {
			return fmt.Errorf("sqlite: cancel: %w", err)
		}
		if _, err := s.recordEvents(tx, f, specs, now); err != nil {
			return err
		}
		out = f
		return nil
	})
	return out, err
}
