package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
)

// EnqueueInbound records a received fax whose document is elsewhere: the
// carrier event (for deduplication), the fax itself with its document
// pending and its fax.receiving event, and a job to fetch the document, in
// one transaction, so that the carrier can be answered at once and the fax
// is listed from then on.
func (s *Store) EnqueueInbound(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	err := s.write(ctx, func(tx *wtx) error {
		res = fax.ApplyResult{}
		now := s.now().UTC()
		key := u.DedupeKey()
		f, c, err := workflow.ReceivePending(&s.ids, u, now)
		if err != nil {
			return err
		}
		ins, err := tx.Exec(`INSERT INTO carrier_events (provider, event_key, outcome, fax_id, received_at) VALUES (?, ?, 'fetching', ?, ?)
			ON CONFLICT (provider, event_key) DO NOTHING`, u.Provider, key, f.ID, ms(now))
		if err != nil {
			return fmt.Errorf("sqlite: enqueue inbound: %w", err)
		}
		if n, _ := ins.RowsAffected(); n == 0 {
			res.Duplicate = true
			tx.QueryRow(`SELECT fax_id FROM carrier_events WHERE provider = ? AND event_key = ?`, u.Provider, key).Scan(&res.FaxID)
			return nil
		}
		b, err := json.Marshal(u)
		if err != nil {
			return fmt.Errorf("sqlite: enqueue inbound: %w", err)
		}
		if _, err := tx.Exec(`INSERT INTO inbound_jobs (id, provider, event_key, update_json, status, fax_id, next_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)`, s.ids.New("inj_", now), u.Provider, key, string(b), f.ID, ms(now), ms(now), ms(now)); err != nil {
			return fmt.Errorf("sqlite: enqueue inbound: %w", err)
		}
		if err := insertFax(tx, f); err != nil {
			return err
		}
		if err := s.insertEvents(tx, f, c.Events, now); err != nil {
			return err
		}
		tx.wake |= wakeInbound
		res = c.Result
		return nil
	})
	return res, err
}

// ClaimInboundJobs claims due fetch jobs, leasing them until now+leaseFor.
func (s *Store) ClaimInboundJobs(ctx context.Context, leaseFor time.Duration, limit int) ([]*fax.InboundJob, error) {
	return s.ClaimInboundJobsExcept(ctx, leaseFor, limit, nil)
}

// ClaimInboundJobsExcept claims due fetch jobs of any carrier but those in
// except, so that a fetcher whose slots for one carrier are full still
// reaches the other carriers' jobs queued behind it.
func (s *Store) ClaimInboundJobsExcept(ctx context.Context, leaseFor time.Duration, limit int, except []string) ([]*fax.InboundJob, error) {
	var jobs []*fax.InboundJob
	err := s.write(ctx, func(tx *wtx) error {
		jobs = jobs[:0]
		now := s.now().UTC()
		q := `SELECT id, update_json, attempts FROM inbound_jobs
			WHERE status = 'pending' AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?)`
		args := []any{ms(now), ms(now)}
		if len(except) > 0 {
			q += ` AND provider NOT IN (?` + strings.Repeat(`, ?`, len(except)-1) + `)`
			for _, p := range except {
				args = append(args, p)
			}
		}
		rows, err := tx.Query(q+` ORDER BY next_at LIMIT ?`, append(args, limit)...)
		if err != nil {
			return fmt.Errorf("sqlite: claim inbound jobs: %w", err)
		}
		for rows.Next() {
			var j fax.InboundJob
			var raw string
			if err := rows.Scan(&j.ID, &raw, &j.Attempts); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: claim inbound jobs: %w", err)
			}
			if err := json.Unmarshal([]byte(raw), &j.Update); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: inbound job %s: %w", j.ID, err)
			}
			jobs = append(jobs, &j)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: claim inbound jobs: %w", err)
		}
		for _, j := range jobs {
			if _, err := tx.Exec(`UPDATE inbound_jobs SET lease_until = ? WHERE id = ?`, ms(now.Add(leaseFor)), j.ID); err != nil {
				return fmt.Errorf("sqlite: claim inbound jobs: %w", err)
			}
		}
		return nil
	})
	return jobs, err
}

// CompleteInbound settles the document of a fetch job: u.Document.Key set
// attaches the stored document, none records it unavailable (u.Failure says
// why); the fax's fax.received event goes out and the job is closed, in one
// transaction. A job queued before faxes were listed at once has no fax
// yet: it is created now, as it was then.
func (s *Store) CompleteInbound(ctx context.Context, jobID string, u *fax.Update) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	err := s.write(ctx, func(tx *wtx) error {
		var status, faxID string
		err := tx.QueryRow(`SELECT status, fax_id FROM inbound_jobs WHERE id = ?`, jobID).Scan(&status, &faxID)
		if errors.Is(err, sql.ErrNoRows) {
			return fax.Errorf(fax.ECodeNotFound, "inbound job %s not found", jobID)
		}
		if err != nil {
			return fmt.Errorf("sqlite: complete inbound: %w", err)
		}
		if status != "pending" {
			res = fax.ApplyResult{FaxID: faxID, Duplicate: true}
			return nil
		}
		res, err = s.settleJobTx(tx, jobID, faxID, u, s.now().UTC())
		return err
	})
	return res, err
}

// settleJobTx settles the fax of the pending fetch job jobID with u (see
// CompleteInbound) and closes the job.
func (s *Store) settleJobTx(tx *wtx, jobID, faxID string, u *fax.Update, now time.Time) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	if faxID == "" {
		r, err := s.receiveTx(tx, u, now)
		if err != nil {
			return r, err
		}
		res, faxID = r, r.FaxID
	} else {
		f, err := findFaxTx(tx, faxID)
		if err != nil {
			return res, err
		}
		c, err := workflow.Settle(&s.ids, f, u, now)
		if err != nil {
			return res, err
		}
		res = c.Result
		if c.Save {
			if err := replaceFax(tx, f); err != nil {
				return res, err
			}
			if err := s.insertEvents(tx, f, c.Events, now); err != nil {
				return res, err
			}
		}
	}
	if _, err := tx.Exec(`UPDATE inbound_jobs SET status = 'done', fax_id = ?, lease_until = NULL, updated_at = ? WHERE id = ?`,
		faxID, ms(now), jobID); err != nil {
		return res, fmt.Errorf("sqlite: complete inbound: %w", err)
	}
	if _, err := tx.Exec(`UPDATE carrier_events SET outcome = 'applied', fax_id = ? WHERE provider = ? AND event_key = ?`,
		faxID, u.Provider, u.DedupeKey()); err != nil {
		return res, fmt.Errorf("sqlite: complete inbound: %w", err)
	}
	return res, nil
}

// settleByWebhookTx handles a repeated inbound carrier event (key, first
// recorded for faxID) that brings its document itself: while the first
// one's fetch is pending, this settles it; otherwise it is a duplicate.
func (s *Store) settleByWebhookTx(tx *wtx, u *fax.Update, key, faxID string) (fax.ApplyResult, error) {
	var jobID string
	err := tx.QueryRow(`SELECT id FROM inbound_jobs WHERE provider = ? AND event_key = ? AND status = 'pending'`, u.Provider, key).Scan(&jobID)
	if errors.Is(err, sql.ErrNoRows) {
		return fax.ApplyResult{Duplicate: true, FaxID: faxID}, nil
	}
	if err != nil {
		return fax.ApplyResult{}, fmt.Errorf("sqlite: settle inbound: %w", err)
	}
	return s.settleJobTx(tx, jobID, faxID, u, s.now().UTC())
}

// replaceFax writes a received fax whose document settled or was deleted.
// The row is replaced rather than updated: the document columns are
// written only by INSERT, which keeps them out of the apply plan's guard
// (applyplan.go), so outbound callbacks check and bind no more columns; the
// new row's rowid matches no plan.
func replaceFax(tx *wtx, f *fax.Fax) error {
	if _, err := tx.Exec(`DELETE FROM faxes WHERE id = ?`, f.ID); err != nil {
		return fmt.Errorf("sqlite: settle inbound: %w", err)
	}
	return insertFax(tx, f)
}

// RetryInbound records a failed fetch and schedules the next at at.
func (s *Store) RetryInbound(ctx context.Context, jobID, errText string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`UPDATE inbound_jobs SET attempts = attempts + 1, next_at = ?, lease_until = NULL, last_error = ?, updated_at = ?
			WHERE id = ? AND status = 'pending'`, ms(at), workflow.Clip(errText, workflow.MaxErrorText), ms(s.now()), jobID)
		if err != nil {
			return fmt.Errorf("sqlite: retry inbound: %w", err)
		}
		return nil
	})
}

// RecordAudit appends an audit entry.
func (s *Store) RecordAudit(ctx context.Context, e *fax.AuditEntry) error {
	return s.write(ctx, func(tx *wtx) error {
		return s.recordAuditTx(tx, e)
	})
}

func (s *Store) recordAuditTx(tx *wtx, e *fax.AuditEntry) error {
	at := e.At
	if at.IsZero() {
		at = s.now().UTC()
	}
	_, err := tx.Exec(`INSERT INTO audit (id, at, actor, action, target_type, target_id, outcome, remote_addr, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.ids.New(fax.PrefixAudit, at), ms(at), e.Actor, e.Action, e.TargetType, e.TargetID,
		e.Outcome, e.RemoteAddr, workflow.Clip(e.Detail, workflow.MaxAuditDetail))
	if err != nil {
		return fmt.Errorf("sqlite: record audit: %w", err)
	}
	return nil
}

// FindAudit lists audit entries newest first.
func (s *Store) FindAudit(ctx context.Context, fl fax.AuditFilter) ([]*fax.AuditEntry, string, error) {
	q := `SELECT id, at, actor, action, target_type, target_id, outcome, remote_addr, detail FROM audit WHERE 1=1`
	var args []any
	add := func(cond string, v any) { q += " AND " + cond; args = append(args, v) }
	if fl.Action != "" {
		add("action = ?", fl.Action)
	}
	if fl.Actor != "" {
		add("actor = ?", fl.Actor)
	}
	if fl.TargetID != "" {
		add("target_id = ?", fl.TargetID)
	}
	if fl.Since != nil {
		add("at >= ?", ms(*fl.Since))
	}
	if fl.Until != nil {
		add("at < ?", ms(*fl.Until))
	}
	if fl.Cursor != "" {
		add("id < ?", fl.Cursor)
	}
	limit := fax.PageLimit(fl.Limit)
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: find audit: %w", err)
	}
	defer rows.Close()
	var out []*fax.AuditEntry
	for rows.Next() {
		var e fax.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.TargetType, &e.TargetID, &e.Outcome, &e.RemoteAddr, &e.Detail); err != nil {
			return nil, "", fmt.Errorf("sqlite: find audit: %w", err)
		}
		e.At = fromMS(at)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: find audit: %w", err)
	}
	out, next := fax.Page(out, limit, func(e *fax.AuditEntry) string { return e.ID })
	return out, next, nil
}
