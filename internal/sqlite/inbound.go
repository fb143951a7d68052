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
// carrier event (for deduplication) and a job to fetch the document, in one
// transaction, so that the carrier can be answered at once.
func (s *Store) EnqueueInbound(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	err := s.write(ctx, func(tx *wtx) error {
		res = fax.ApplyResult{}
		now := s.now().UTC()
		key := u.DedupeKey()
		ins, err := tx.Exec(`INSERT INTO carrier_events (provider, event_key, outcome, received_at) VALUES (?, ?, 'fetching', ?)
			ON CONFLICT (provider, event_key) DO NOTHING`, u.Provider, key, ms(now))
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
		if _, err := tx.Exec(`INSERT INTO inbound_jobs (id, provider, event_key, update_json, status, next_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)`, s.ids.New("inj_", now), u.Provider, key, string(b), ms(now), ms(now), ms(now)); err != nil {
			return fmt.Errorf("sqlite: enqueue inbound: %w", err)
		}
		tx.wake |= wakeInbound
		res.Applied = true
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

// CompleteInbound creates the received fax of a fetch job whose document is
// now stored (u.Document.Key set), with its fax.received event, and closes
// the job, in one transaction.
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
		now := s.now().UTC()
		r, err := s.receiveTx(tx, u, now)
		if err != nil {
			return err
		}
		res = r
		if _, err := tx.Exec(`UPDATE inbound_jobs SET status = 'done', fax_id = ?, lease_until = NULL, updated_at = ? WHERE id = ?`,
			r.FaxID, ms(now), jobID); err != nil {
			return fmt.Errorf("sqlite: complete inbound: %w", err)
		}
		if _, err := tx.Exec(`UPDATE carrier_events SET outcome = 'applied', fax_id = ? WHERE provider = ? AND event_key = ?`,
			r.FaxID, u.Provider, u.DedupeKey()); err != nil {
			return fmt.Errorf("sqlite: complete inbound: %w", err)
		}
		return nil
	})
	return res, err
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
