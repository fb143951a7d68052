package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
)

// EnqueueInbound records a received fax whose document is elsewhere: the
// carrier event (for deduplication), the fax itself with its document
// pending and its fax.receiving event, and a job to fetch the document, in
// one transaction, so that the carrier can be answered at once and the fax
// is listed from then on.
func (s *Store) EnqueueInbound(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	b, err := json.Marshal(u)
	if err != nil {
		return res, fmt.Errorf("postgres: enqueue inbound: %w", err)
	}
	err = s.write(ctx, func(tx *wtx) error {
		res = fax.ApplyResult{}
		now := s.now().UTC()
		key := u.DedupeKey()
		f, c, err := workflow.ReceivePending(&s.ids, u, now)
		if err != nil {
			return err
		}
		// The job is inserted only when the carrier event is new; the fax
		// and its event follow in the next round trip, then.
		var fresh bool
		var endpoints []*fax.Endpoint
		tx.queue(`WITH ce AS (
				INSERT INTO carrier_events (provider, event_key, outcome, fax_id, received_at) VALUES ($1, $2, 'fetching', $6, $3)
				ON CONFLICT (provider, event_key) DO NOTHING RETURNING true AS fresh
			), job AS (
				INSERT INTO inbound_jobs (id, provider, event_key, update_json, status, fax_id, next_at, created_at, updated_at)
				SELECT $4, $1, $2, $5::json, 'pending', $6, $3, $3, $3 FROM ce
			)
			SELECT fresh FROM ce`, u.Provider, key, ms(now), s.ids.New("inj_", now), string(b), f.ID).
			QueryRow(func(row pgx.Row) error { return noRowsOK(row.Scan(&fresh)) })
		tx.queue(`SELECT fax_id FROM carrier_events WHERE provider = $1 AND event_key = $2`, u.Provider, key).
			QueryRow(func(row pgx.Row) error { return noRowsOK(row.Scan(&res.FaxID)) })
		queueRoutable(tx, nil, &endpoints)
		if err := tx.flush(); err != nil {
			return fmt.Errorf("postgres: enqueue inbound: %w", err)
		}
		if !fresh {
			res.Duplicate = true
			return nil
		}
		insertReceived(tx, f)
		s.insertEvents(tx, f, c.Events, endpoints, now)
		res = c.Result
		tx.wake |= wakeInbound
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
// reaches the other carriers' jobs queued behind it. Rows are taken with
// FOR UPDATE SKIP LOCKED, so instances claiming at once get disjoint jobs.
func (s *Store) ClaimInboundJobsExcept(ctx context.Context, leaseFor time.Duration, limit int, except []string) ([]*fax.InboundJob, error) {
	if except == nil {
		except = []string{}
	}
	var jobs []*fax.InboundJob
	err := s.write(ctx, func(tx *wtx) error {
		jobs = nil
		now := s.now().UTC()
		err := tx.query(func(rows pgx.Rows) error {
			for rows.Next() {
				var j fax.InboundJob
				var raw []byte
				if err := rows.Scan(&j.ID, &raw, &j.Attempts); err != nil {
					return err
				}
				if err := json.Unmarshal(raw, &j.Update); err != nil {
					return fmt.Errorf("inbound job %s: %w", j.ID, err)
				}
				jobs = append(jobs, &j)
			}
			return rows.Err()
		}, `SELECT id, update_json, attempts FROM inbound_jobs
			WHERE status = 'pending' AND next_at <= $1 AND (lease_until IS NULL OR lease_until < $1)
			AND NOT (provider = ANY($3))
			ORDER BY next_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`, ms(now), limit, except)
		if err != nil {
			return fmt.Errorf("postgres: claim inbound jobs: %w", err)
		}
		if len(jobs) > 0 {
			ids := make([]string, len(jobs))
			for i, j := range jobs {
				ids[i] = j.ID
			}
			tx.queue(`UPDATE inbound_jobs SET lease_until = $1 WHERE id = ANY($2)`, ms(now.Add(leaseFor)), ids)
		}
		return nil
	})
	return jobs, err
}

// CompleteInbound settles the document of a fetch job: u.Document.Key set
// attaches the stored document, none records it unavailable (u.Failure says
// why); the fax's fax.received event goes out and the job is closed, in one
// transaction. The job's row is locked, so two instances completing one
// job settle it once. A job queued before faxes were listed at once has no
// fax yet: it is created now, as it was then.
func (s *Store) CompleteInbound(ctx context.Context, jobID string, u *fax.Update) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	err := s.write(ctx, func(tx *wtx) error {
		res = fax.ApplyResult{}
		var status, faxID string
		var endpoints []*fax.Endpoint
		var found bool
		tx.queueRow(&found, func(row pgx.Row) error { return row.Scan(&status, &faxID) },
			`SELECT status, fax_id FROM inbound_jobs WHERE id = $1 FOR UPDATE`, jobID)
		queueRoutable(tx, nil, &endpoints)
		if err := tx.flush(); err != nil {
			return fmt.Errorf("postgres: complete inbound: %w", err)
		}
		if !found {
			return fax.Errorf(fax.ECodeNotFound, "inbound job %s not found", jobID)
		}
		if status != "pending" {
			res = fax.ApplyResult{FaxID: faxID, Duplicate: true}
			return nil
		}
		r, err := s.settleJobTx(tx, jobID, faxID, u, endpoints, s.now().UTC())
		res = r
		return err
	})
	return res, err
}

// settleJobTx settles the fax of the pending fetch job jobID, locked by the
// caller, with u (see CompleteInbound) and closes the job.
func (s *Store) settleJobTx(tx *wtx, jobID, faxID string, u *fax.Update, endpoints []*fax.Endpoint, now time.Time) (fax.ApplyResult, error) {
	var res fax.ApplyResult
	if faxID == "" {
		r, err := s.receiveTx(tx, u, endpoints, now)
		if err != nil {
			return r, err
		}
		res, faxID = r, r.FaxID
	} else {
		f, err := lockFax(tx, faxID)
		if err != nil {
			return res, err
		}
		c, err := workflow.Settle(&s.ids, f, u, now)
		if err != nil {
			return res, err
		}
		res = c.Result
		if c.Save {
			tx.queue(`UPDATE faxes SET status = $1, pages = $2, pages_sent = $3, failure = $4, document_key = $5, document_type = $6,
				document_size = $7, document_sha256 = $8, document_status = $9, document_error = $10, updated_at = $11,
				station_id = $12, caller_id = $13, duration_seconds = $14, bit_rate = $15 WHERE id = $16`,
				f.Status, f.Pages, f.PagesSent, failureJSON(f.Failure), f.DocumentKey, f.DocumentType, f.DocumentSize, f.DocumentSHA256,
				string(f.DocumentStatus), f.DocumentError, ms(f.UpdatedAt),
				nullString(f.Details.StationID), nullString(f.Details.CallerID), nullInt(f.Details.DurationSeconds), nullInt(f.Details.BitRate), f.ID)
			s.insertEvents(tx, f, c.Events, endpoints, now)
		}
	}
	tx.queue(`UPDATE inbound_jobs SET status = 'done', fax_id = $1, lease_until = NULL, updated_at = $2 WHERE id = $3`,
		faxID, ms(now), jobID)
	tx.queue(`UPDATE carrier_events SET outcome = 'applied', fax_id = $1 WHERE provider = $2 AND event_key = $3`,
		faxID, u.Provider, u.DedupeKey())
	return res, nil
}

// settleByWebhookTx handles a repeated inbound carrier event (key, first
// recorded for faxID) that brings its document itself: while the first
// one's fetch is pending, this settles it; otherwise it is a duplicate.
func (s *Store) settleByWebhookTx(tx *wtx, u *fax.Update, key, faxID string, endpoints []*fax.Endpoint, now time.Time) (fax.ApplyResult, error) {
	var jobID string
	var found bool
	tx.queueRow(&found, func(row pgx.Row) error { return row.Scan(&jobID) },
		`SELECT id FROM inbound_jobs WHERE provider = $1 AND event_key = $2 AND status = 'pending' FOR UPDATE`, u.Provider, key)
	if err := tx.flush(); err != nil {
		return fax.ApplyResult{}, fmt.Errorf("postgres: settle inbound: %w", err)
	}
	if !found {
		return fax.ApplyResult{Duplicate: true, FaxID: faxID}, nil
	}
	return s.settleJobTx(tx, jobID, faxID, u, endpoints, now)
}

// RetryInbound records a failed fetch and schedules the next at at.
func (s *Store) RetryInbound(ctx context.Context, jobID, errText string, at time.Time) error {
	return s.write(ctx, func(tx *wtx) error {
		tx.queue(`UPDATE inbound_jobs SET attempts = attempts + 1, next_at = $1, lease_until = NULL, last_error = $2, updated_at = $3
			WHERE id = $4 AND status = 'pending'`, ms(at), pgText(errText, workflow.MaxErrorText), ms(s.now()), jobID)
		return nil
	})
}

// RecordAudit appends an audit entry.
func (s *Store) RecordAudit(ctx context.Context, e *fax.AuditEntry) error {
	return s.write(ctx, func(tx *wtx) error {
		s.recordAuditTx(tx, e)
		return nil
	})
}

func (s *Store) recordAuditTx(tx *wtx, e *fax.AuditEntry) {
	at := e.At
	if at.IsZero() {
		at = s.now().UTC()
	}
	tx.queue(`INSERT INTO audit (id, at, actor, action, target_type, target_id, outcome, remote_addr, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, s.ids.New(fax.PrefixAudit, at), ms(at), e.Actor, e.Action, e.TargetType, e.TargetID,
		e.Outcome, e.RemoteAddr, pgText(e.Detail, workflow.MaxAuditDetail))
}

// FindAudit lists audit entries newest first.
func (s *Store) FindAudit(ctx context.Context, fl fax.AuditFilter) ([]*fax.AuditEntry, string, error) {
	q := `SELECT id, at, actor, action, target_type, target_id, outcome, remote_addr, detail FROM audit WHERE true`
	var a args
	if fl.Action != "" {
		q += ` AND action = ` + a.add(fl.Action)
	}
	if fl.Actor != "" {
		q += ` AND actor = ` + a.add(fl.Actor)
	}
	if fl.TargetID != "" {
		q += ` AND target_id = ` + a.add(fl.TargetID)
	}
	if fl.Since != nil {
		q += ` AND at >= ` + a.add(ms(*fl.Since))
	}
	if fl.Until != nil {
		q += ` AND at < ` + a.add(ms(*fl.Until))
	}
	if fl.Cursor != "" {
		q += ` AND id < ` + a.add(fl.Cursor)
	}
	limit := fax.PageLimit(fl.Limit)
	q += ` ORDER BY id DESC LIMIT ` + a.add(limit+1)
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: find audit: %w", err)
	}
	out, err := collect(rows, func(r pgx.Rows) (*fax.AuditEntry, error) {
		var e fax.AuditEntry
		var at int64
		if err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.TargetType, &e.TargetID, &e.Outcome, &e.RemoteAddr, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		return &e, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("postgres: find audit: %w", err)
	}
	out, next := fax.Page(out, limit, func(e *fax.AuditEntry) string { return e.ID })
	return out, next, nil
}
