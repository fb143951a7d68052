package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
)

const faxColumns = `id, direction, status, to_number, from_number, provider, provider_fax_id, pages, pages_sent,
	failure, callback_url, header_text, document_key, document_type, document_size, document_sha256, document_purged,
	owner_key_id, idempotency_key, callback_token, created_at, updated_at, completed_at, document_status, document_error,
	station_id, caller_id, duration_seconds, bit_rate, max_attempts, attempts, batch_id`

type scanner interface{ Scan(...any) error }

// faxRow holds the scan targets of one faxes row.
type faxRow struct {
	f                fax.Fax
	failure, idem    *string
	attempts         *string
	batch            *string
	created, updated int64
	completed        *int64
	station, caller  *string
	duration, rate   *int64
}

func (r *faxRow) targets() []any {
	f := &r.f
	return []any{&f.ID, &f.Direction, &f.Status, &f.To, &f.From, &f.Provider, &f.ProviderFaxID, &f.Pages, &f.PagesSent,
		&r.failure, &f.CallbackURL, &f.HeaderText, &f.DocumentKey, &f.DocumentType, &f.DocumentSize, &f.DocumentSHA256, &f.DocumentPurged,
		&f.OwnerKeyID, &r.idem, &f.CallbackToken, &r.created, &r.updated, &r.completed, &f.DocumentStatus, &f.DocumentError,
		&r.station, &r.caller, &r.duration, &r.rate, &f.MaxAttempts, &r.attempts, &r.batch}
}

func (r *faxRow) finish() (*fax.Fax, error) {
	f := &r.f
	if r.failure != nil && *r.failure != "" {
		var fl fax.Failure
		if err := json.Unmarshal([]byte(*r.failure), &fl); err != nil {
			return nil, fmt.Errorf("postgres: fax %s failure: %w", f.ID, err)
		}
		f.Failure = &fl
	}
	if r.attempts != nil && *r.attempts != "" {
		if err := json.Unmarshal([]byte(*r.attempts), &f.Attempts); err != nil {
			return nil, fmt.Errorf("postgres: fax %s attempts: %w", f.ID, err)
		}
	}
	if r.idem != nil {
		f.IdempotencyKey = *r.idem
	}
	if r.batch != nil {
		f.BatchID = *r.batch
	}
	f.CreatedAt = fromMS(r.created)
	f.UpdatedAt = fromMS(r.updated)
	f.CompletedAt = fromNullMS(r.completed)
	if r.station != nil {
		f.Details.StationID = *r.station
	}
	if r.caller != nil {
		f.Details.CallerID = *r.caller
	}
	if r.duration != nil {
		f.Details.DurationSeconds = int(*r.duration)
	}
	if r.rate != nil {
		f.Details.BitRate = int(*r.rate)
	}
	return f, nil
}

func scanFax(row scanner, extra ...any) (*fax.Fax, error) {
	var r faxRow
	if err := row.Scan(append(r.targets(), extra...)...); err != nil {
		return nil, err
	}
	return r.finish()
}

func failureJSON(fl *fax.Failure) any {
	if fl == nil {
		return nil
	}
	b, _ := json.Marshal(fl)
	return string(b)
}

// nullInt is n, or NULL for 0 (a detail the carrier did not report).
func nullInt(n int) *int64 {
	if n == 0 {
		return nil
	}
	v := int64(n)
	return &v
}

// attemptsJSON is how the attempts column holds a fax's earlier tries:
// NULL while there are none.
func attemptsJSON(as []fax.DialAttempt) any {
	if len(as) == 0 {
		return nil
	}
	b, _ := json.Marshal(as)
	return string(b)
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// args collects the arguments of a query built piece by piece and names
// their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// FindFaxByID returns one fax or a not_found error.
func (s *Store) FindFaxByID(ctx context.Context, id string) (*fax.Fax, error) {
	f, err := scanFax(s.pool.QueryRow(ctx, `SELECT `+faxColumns+` FROM faxes WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeNotFound, "fax %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: find fax: %w", err)
	}
	return f, nil
}

// FindCallbackToken returns the per-fax callback token of a fax.
func (s *Store) FindCallbackToken(ctx context.Context, id string) (string, error) {
	var tok string
	err := s.pool.QueryRow(ctx, `SELECT callback_token FROM faxes WHERE id = $1`, id).Scan(&tok)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fax.Errorf(fax.ECodeNotFound, "fax %s not found", id)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: find callback token: %w", err)
	}
	return tok, nil
}

// faxListQuery is the query of one list page: limit+1 rows, so that
// fax.Page can tell whether another page follows. Paging by id, which
// grows with creation, keeps pages stable while faxes are added: a new fax
// sorts before every cursor already handed out.
func faxListQuery(fl *fax.FaxFilter, limit int) (string, args) {
	q := `SELECT ` + faxColumns + ` FROM faxes WHERE true`
	var a args
	for _, c := range fl.Conditions() {
		q += ` AND ` + c.Cond + a.add(c.Arg)
	}
	return q + ` ORDER BY id DESC LIMIT ` + a.add(limit+1), a
}

// FindFaxes lists faxes newest first, a page at a time.
func (s *Store) FindFaxes(ctx context.Context, fl fax.FaxFilter) ([]*fax.Fax, string, error) {
	limit := fax.PageLimit(fl.Limit)
	q, a := faxListQuery(&fl, limit)
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: find faxes: %w", err)
	}
	out, err := collect(rows, func(r pgx.Rows) (*fax.Fax, error) { return scanFax(r) })
	if err != nil {
		return nil, "", fmt.Errorf("postgres: find faxes: %w", err)
	}
	out, next := fax.Page(out, limit, func(f *fax.Fax) string { return f.ID })
	return out, next, nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(pgx.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CreateFax stores a new outbound fax as queued, with its fax.queued event,
// and marks it for dispatch, all in one transaction. When f carries an
// idempotency key already used by the same owner, the earlier fax is
// returned with existed true and nothing is written; reusing a key for a
// different request (RequestHash differs) is a conflict. Two instances
// inserting the same key at once collide on the unique index; the loser
// starts again and finds the winner's fax.
func (s *Store) CreateFax(ctx context.Context, f *fax.Fax, opts fax.CreateOptions) (*fax.Fax, bool, error) {
	out, existed, err := s.CreateFaxes(ctx, []*fax.Fax{f}, opts)
	if err != nil {
		return nil, false, err
	}
	return out[0], existed, nil
}

// CreateFaxes stores the faxes of one send as CreateFax stores one, all or
// none in one transaction. Only the first fax carries the idempotency key;
// a repeat returns the earlier send's faxes: its whole batch when it was
// one.
func (s *Store) CreateFaxes(ctx context.Context, faxes []*fax.Fax, opts fax.CreateOptions) ([]*fax.Fax, bool, error) {
	out, existed, err := s.createFaxes(ctx, faxes, opts)
	if faxes[0].IdempotencyKey != "" && uniqueViolation(err, "faxes_idempotency") {
		out, existed, err = s.createFaxes(ctx, faxes, opts)
	}
	return out, existed, err
}

func (s *Store) createFaxes(ctx context.Context, faxes []*fax.Fax, opts fax.CreateOptions) ([]*fax.Fax, bool, error) {
	requestHash := opts.RequestHash
	var out []*fax.Fax
	var existed bool
	err := s.write(ctx, func(tx *wtx) error {
		out, existed = nil, false
		if first := faxes[0]; first.IdempotencyKey != "" {
			var hash string
			var prev *fax.Fax
			var found bool
			tx.queueRow(&found, func(row pgx.Row) (err error) {
				prev, err = scanFax(row, &hash)
				return err
			}, `SELECT `+faxColumns+`, request_hash FROM faxes WHERE owner_key_id = $1 AND idempotency_key = $2`, first.OwnerKeyID, first.IdempotencyKey)
			if err := tx.flush(); err != nil {
				return fmt.Errorf("postgres: create fax: %w", err)
			}
			if found {
				if err := workflow.Reuse(hash, requestHash); err != nil {
					return err
				}
				out, existed = []*fax.Fax{prev}, true
				if prev.BatchID == "" {
					return nil
				}
				out = nil
				return tx.query(func(rows pgx.Rows) (err error) {
					out, err = collect(rows, func(r pgx.Rows) (*fax.Fax, error) { return scanFax(r) })
					return err
				}, `SELECT `+faxColumns+` FROM faxes WHERE batch_id = $1 ORDER BY id`, prev.BatchID)
			}
		}
		now := s.now().UTC()
		// Routing the fax.queued events needs the global endpoints; each
		// fax's own endpoint is being inserted in this batch.
		endpoints, err := s.routableEndpoints(tx, nil)
		if err != nil {
			return err
		}
		for _, f := range faxes {
			c, own, evs, err := workflow.NewOutbound(&s.ids, f, opts, now)
			if err != nil {
				return err
			}
			tx.queue(`INSERT INTO faxes (id, direction, status, to_number, from_number, provider, provider_fax_id, pages,
				callback_url, header_text, document_key, document_type, document_size, document_sha256, owner_key_id,
				idempotency_key, request_hash, callback_token, dispatch_state, dispatch_at, created_at, updated_at, batch_id, max_attempts)
				VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'pending', $18, $18, $18, $19, $20)`,
				c.ID, c.Direction, c.Status, c.To, c.From, c.Provider, c.Pages, c.CallbackURL, c.HeaderText,
				c.DocumentKey, c.DocumentType, c.DocumentSize, c.DocumentSHA256, c.OwnerKeyID,
				nullString(c.IdempotencyKey), requestHash, c.CallbackToken, ms(now), nullString(c.BatchID), c.MaxAttempts)
			routeTo := endpoints
			if own != nil {
				insertEndpoint(tx, own)
				routeTo = append([]*fax.Endpoint{own}, endpoints...)
			}
			s.insertEvents(tx, c, evs, routeTo, now)
			out = append(out, c)
		}
		tx.wake |= wakeFax
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, existed, nil
}

// insertEvents queues events about f (nil for an SMS) and a pending
// delivery for every endpoint (of those given) the workflow routes each to.
func (s *Store) insertEvents(tx *wtx, f *fax.Fax, evs []fax.Event, endpoints []*fax.Endpoint, now time.Time) {
	var w eventWrites
	w.add(s, f, evs, endpoints, now)
	w.queue(tx)
}

func insertEvent(tx *wtx, ev *fax.Event) {
	tx.queue(`INSERT INTO events (id, fax_id, type, created_at, data) VALUES ($1, $2, $3, $4, $5)`,
		ev.ID, ev.FaxID, ev.Type, ms(ev.CreatedAt), []byte(ev.Data))
}

// insertDelivery queues a pending delivery of ev to an endpoint and returns
// its id.
func (s *Store) insertDelivery(tx *wtx, endpointID string, ev *fax.Event, now time.Time) string {
	id := s.ids.New(fax.PrefixDelivery, now)
	tx.queue(`INSERT INTO deliveries (id, endpoint_id, event_id, event_type, fax_id, status, attempt_count, next_attempt_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $6) ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
		id, endpointID, ev.ID, ev.Type, ev.FaxID, ms(now))
	tx.wake |= wakeDelivery
	return id
}

// saveFax queues the write of the mutable fields of f.
func saveFax(tx *wtx, f *fax.Fax) {
	tx.queue(`UPDATE faxes SET status = $1, provider_fax_id = $2, pages = $3, pages_sent = $4, failure = $5,
		updated_at = $6, completed_at = $7, station_id = $8, caller_id = $9, duration_seconds = $10, bit_rate = $11 WHERE id = $12`,
		f.Status, f.ProviderFaxID, f.Pages, f.PagesSent, failureJSON(f.Failure), ms(f.UpdatedAt), msPtr(f.CompletedAt),
		nullString(f.Details.StationID), nullString(f.Details.CallerID), nullInt(f.Details.DurationSeconds), nullInt(f.Details.BitRate), f.ID)
}

// lockFax reads a fax and locks its row until the transaction ends, so that
// changes to one fax from several instances apply one after the other.
func lockFax(tx *wtx, id string) (*fax.Fax, error) {
	var f *fax.Fax
	var found bool
	tx.queueRow(&found, func(row pgx.Row) (err error) {
		f, err = scanFax(row)
		return err
	}, `SELECT `+faxColumns+` FROM faxes WHERE id = $1 FOR UPDATE`, id)
	if err := tx.flush(); err != nil {
		return nil, fmt.Errorf("postgres: find fax: %w", err)
	}
	if !found {
		return nil, fax.Errorf(fax.ECodeNotFound, "fax %s not found", id)
	}
	return f, nil
}

// FindEventsByFax returns a fax's timeline, oldest first.
func (s *Store) FindEventsByFax(ctx context.Context, faxID string) ([]*fax.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, fax_id, type, created_at, data FROM events WHERE fax_id = $1 ORDER BY seq`, faxID)
	if err != nil {
		return nil, fmt.Errorf("postgres: find events: %w", err)
	}
	out, err := collect(rows, func(r pgx.Rows) (*fax.Event, error) {
		var e fax.Event
		var at int64
		var data []byte
		if err := r.Scan(&e.ID, &e.FaxID, &e.Type, &at, &data); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMS(at)
		e.Data = data
		return &e, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: find events: %w", err)
	}
	return out, nil
}
