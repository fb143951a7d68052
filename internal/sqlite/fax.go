package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
)

const faxColumns = `id, direction, status, to_number, from_number, provider, provider_fax_id, pages, pages_sent,
	failure, callback_url, header_text, document_key, document_type, document_size, document_sha256, document_purged,
	owner_key_id, idempotency_key, callback_token, created_at, updated_at, completed_at, document_status, document_error,
	station_id, caller_id, duration_seconds, bit_rate, max_attempts, attempts, batch_id`

type scanner interface{ Scan(...any) error }

// faxRow holds the scan targets of one faxes row.
type faxRow struct {
	f                fax.Fax
	failure, idem    sql.NullString
	attempts         sql.NullString
	batch            sql.NullString
	created, updated int64
	completed        sql.NullInt64
	purged           int
	station, caller  sql.NullString
	duration, rate   sql.NullInt64
}

func (r *faxRow) targets() []any {
	f := &r.f
	return []any{&f.ID, &f.Direction, &f.Status, &f.To, &f.From, &f.Provider, &f.ProviderFaxID, &f.Pages, &f.PagesSent,
		&r.failure, &f.CallbackURL, &f.HeaderText, &f.DocumentKey, &f.DocumentType, &f.DocumentSize, &f.DocumentSHA256, &r.purged,
		&f.OwnerKeyID, &r.idem, &f.CallbackToken, &r.created, &r.updated, &r.completed, &f.DocumentStatus, &f.DocumentError,
		&r.station, &r.caller, &r.duration, &r.rate, &f.MaxAttempts, &r.attempts, &r.batch}
}

func (r *faxRow) finish() (*fax.Fax, error) {
	f := &r.f
	if r.failure.Valid && r.failure.String != "" {
		var fl fax.Failure
		if err := json.Unmarshal([]byte(r.failure.String), &fl); err != nil {
			return nil, fmt.Errorf("sqlite: fax %s failure: %w", f.ID, err)
		}
		f.Failure = &fl
	}
	if r.attempts.Valid && r.attempts.String != "" {
		if err := json.Unmarshal([]byte(r.attempts.String), &f.Attempts); err != nil {
			return nil, fmt.Errorf("sqlite: fax %s attempts: %w", f.ID, err)
		}
	}
	f.IdempotencyKey = r.idem.String
	f.BatchID = r.batch.String
	f.DocumentPurged = r.purged != 0
	f.CreatedAt = fromMS(r.created)
	f.UpdatedAt = fromMS(r.updated)
	f.CompletedAt = fromNullMS(r.completed)
	f.Details = fax.Details{StationID: r.station.String, CallerID: r.caller.String,
		DurationSeconds: int(r.duration.Int64), BitRate: int(r.rate.Int64)}
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
func nullInt(n int) any {
	if n == 0 {
		return nil
	}
	return int64(n)
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

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// FindFaxByID returns one fax or a not_found error.
func (s *Store) FindFaxByID(ctx context.Context, id string) (*fax.Fax, error) {
	f, err := scanFax(s.rdb.QueryRowContext(ctx, `SELECT `+faxColumns+` FROM faxes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeNotFound, "fax %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find fax: %w", err)
	}
	return f, nil
}

// FindCallbackToken returns the per-fax callback token of a fax.
func (s *Store) FindCallbackToken(ctx context.Context, id string) (string, error) {
	var tok string
	err := s.rdb.QueryRowContext(ctx, `SELECT callback_token FROM faxes WHERE id = ?`, id).Scan(&tok)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fax.Errorf(fax.ECodeNotFound, "fax %s not found", id)
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: find callback token: %w", err)
	}
	return tok, nil
}

// faxListQuery is the query of one list page: limit+1 rows, so that
// fax.Page can tell whether another page follows. Paging by id, which
// grows with creation, keeps pages stable while faxes are added: a new fax
// sorts before every cursor already handed out.
func faxListQuery(fl *fax.FaxFilter, limit int) (string, []any) {
	q := `SELECT ` + faxColumns + ` FROM faxes WHERE 1=1`
	var args []any
	for _, c := range fl.Conditions() {
		q += ` AND ` + c.Cond + `?`
		args = append(args, c.Arg)
	}
	return q + ` ORDER BY id DESC LIMIT ?`, append(args, limit+1)
}

// FindFaxes lists faxes newest first, a page at a time.
func (s *Store) FindFaxes(ctx context.Context, fl fax.FaxFilter) ([]*fax.Fax, string, error) {
	limit := fax.PageLimit(fl.Limit)
	q, args := faxListQuery(&fl, limit)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: find faxes: %w", err)
	}
	defer rows.Close()
	var out []*fax.Fax
	for rows.Next() {
		f, err := scanFax(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: find faxes: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: find faxes: %w", err)
	}
	out, next := fax.Page(out, limit, func(f *fax.Fax) string { return f.ID })
	return out, next, nil
}

// CreateFax stores a new outbound fax as queued, with its fax.queued event,
// and marks it for dispatch, all in one transaction. When f carries an
// idempotency key already used by the same owner, the earlier fax is
// returned with existed true and nothing is written; reusing a key for a
// different request (RequestHash differs) is a conflict.
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
	requestHash := opts.RequestHash
	var out []*fax.Fax
	var existed bool
	err := s.write(ctx, func(tx *wtx) error {
		out, existed = nil, false
		if first := faxes[0]; first.IdempotencyKey != "" {
			var hash string
			row := tx.QueryRow(`SELECT `+faxColumns+`, request_hash FROM faxes WHERE owner_key_id = ? AND idempotency_key = ?`, first.OwnerKeyID, first.IdempotencyKey)
			prev, err := scanFax(row, &hash)
			if err == nil {
				if err := workflow.Reuse(hash, requestHash); err != nil {
					return err
				}
				out, existed = []*fax.Fax{prev}, true
				if prev.BatchID != "" {
					out, err = findBatchTx(tx, prev.BatchID)
				}
				return err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("sqlite: create fax: %w", err)
			}
		}
		now := s.now().UTC()
		for _, f := range faxes {
			c, err := s.insertOutbound(tx, f, opts, now)
			if err != nil {
				return err
			}
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

// insertOutbound inserts one new outbound fax with its callback endpoint
// and its fax.queued event.
func (s *Store) insertOutbound(tx *wtx, f *fax.Fax, opts fax.CreateOptions, now time.Time) (*fax.Fax, error) {
	c, own, evs, err := workflow.NewOutbound(&s.ids, f, opts, now)
	if err != nil {
		return nil, err
	}
	_, err = tx.Exec(`INSERT INTO faxes (id, direction, status, to_number, from_number, provider, provider_fax_id, pages,
		callback_url, header_text, document_key, document_type, document_size, document_sha256, owner_key_id,
		idempotency_key, request_hash, callback_token, dispatch_state, dispatch_at, created_at, updated_at, batch_id, max_attempts)
		VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
		c.ID, c.Direction, c.Status, c.To, c.From, c.Provider, c.Pages, c.CallbackURL, c.HeaderText,
		c.DocumentKey, c.DocumentType, c.DocumentSize, c.DocumentSHA256, c.OwnerKeyID,
		nullString(c.IdempotencyKey), opts.RequestHash, c.CallbackToken, ms(now), ms(now), ms(now), nullString(c.BatchID), c.MaxAttempts)
	if err != nil {
		return nil, fmt.Errorf("sqlite: create fax: %w", err)
	}
	if own != nil {
		if err := insertEndpoint(tx, own); err != nil {
			return nil, err
		}
	}
	if err := s.insertEvents(tx, c, evs, now); err != nil {
		return nil, err
	}
	return c, nil
}

// findBatchTx returns the faxes of a batch in the order they were made.
func findBatchTx(tx *wtx, batchID string) ([]*fax.Fax, error) {
	rows, err := tx.Query(`SELECT `+faxColumns+` FROM faxes WHERE batch_id = ? ORDER BY id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find batch: %w", err)
	}
	defer rows.Close()
	var out []*fax.Fax
	for rows.Next() {
		f, err := scanFax(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: find batch: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// insertEvents inserts events about f (nil for an SMS) and a pending
// delivery for every endpoint the workflow routes each to.
func (s *Store) insertEvents(tx *wtx, f *fax.Fax, evs []fax.Event, now time.Time) error {
	if len(evs) == 0 {
		return nil
	}
	// Only a fax sent with a callback_url has an endpoint of its own
	// (CreateFax makes it); the others need not look for one.
	own := ""
	if f != nil && f.CallbackURL != "" {
		own = f.ID
	}
	endpoints, err := s.routableEndpoints(tx, own)
	if err != nil {
		return err
	}
	for i := range evs {
		ev := &evs[i]
		if err := insertEvent(tx, ev); err != nil {
			return err
		}
		for _, e := range workflow.Route(ev, f, endpoints) {
			if err := s.insertDelivery(tx, e.ID, ev, now); err != nil {
				return err
			}
		}
	}
	return nil
}

func insertEvent(tx *wtx, ev *fax.Event) error {
	if _, err := tx.Exec(`INSERT INTO events (id, fax_id, type, created_at, data) VALUES (?, ?, ?, ?, ?)`,
		ev.ID, ev.FaxID, ev.Type, ms(ev.CreatedAt), []byte(ev.Data)); err != nil {
		return fmt.Errorf("sqlite: record event: %w", err)
	}
	return nil
}

func (s *Store) insertDelivery(tx *wtx, endpointID string, ev *fax.Event, now time.Time) error {
	_, err := tx.Exec(`INSERT INTO deliveries (id, endpoint_id, event_id, event_type, fax_id, status, attempt_count, next_attempt_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
		s.ids.New(fax.PrefixDelivery, now), endpointID, ev.ID, ev.Type, ev.FaxID, ms(now), ms(now), ms(now))
	if err != nil {
		return fmt.Errorf("sqlite: create delivery: %w", err)
	}
	tx.wake |= wakeDelivery
	return nil
}

// saveFax writes the mutable fields of f; a fax that became final is
// also done with dispatch, in the same statement.
func saveFax(tx *wtx, f *fax.Fax) error {
	var err error
	if f.Status.Final() {
		_, err = tx.Exec(`UPDATE faxes SET status = ?, provider_fax_id = ?, pages = ?, pages_sent = ?, failure = ?,
			updated_at = ?, completed_at = ?, station_id = ?, caller_id = ?, duration_seconds = ?, bit_rate = ?,
			dispatch_state = 'done', lease_until = NULL WHERE id = ?`,
			f.Status, f.ProviderFaxID, f.Pages, f.PagesSent, failureJSON(f.Failure), ms(f.UpdatedAt), msPtr(f.CompletedAt),
			nullString(f.Details.StationID), nullString(f.Details.CallerID), nullInt(f.Details.DurationSeconds), nullInt(f.Details.BitRate), f.ID)
	} else {
		_, err = tx.Exec(`UPDATE faxes SET status = ?, provider_fax_id = ?, pages = ?, pages_sent = ?, failure = ?,
			updated_at = ?, completed_at = ?, station_id = ?, caller_id = ?, duration_seconds = ?, bit_rate = ? WHERE id = ?`,
			f.Status, f.ProviderFaxID, f.Pages, f.PagesSent, failureJSON(f.Failure), ms(f.UpdatedAt), msPtr(f.CompletedAt),
			nullString(f.Details.StationID), nullString(f.Details.CallerID), nullInt(f.Details.DurationSeconds), nullInt(f.Details.BitRate), f.ID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: save fax: %w", err)
	}
	return nil
}

func findFaxTx(tx *wtx, id string) (*fax.Fax, error) {
	f, err := scanFax(tx.QueryRow(`SELECT `+faxColumns+` FROM faxes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeNotFound, "fax %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find fax: %w", err)
	}
	return f, nil
}

// FindEventsByFax returns a fax's timeline, oldest first.
func (s *Store) FindEventsByFax(ctx context.Context, faxID string) ([]*fax.Event, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, fax_id, type, created_at, data FROM events WHERE fax_id = ? ORDER BY id`, faxID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find events: %w", err)
	}
	defer rows.Close()
	var out []*fax.Event
	for rows.Next() {
		var e fax.Event
		var at int64
		var data []byte
		if err := rows.Scan(&e.ID, &e.FaxID, &e.Type, &at, &data); err != nil {
			return nil, fmt.Errorf("sqlite: find events: %w", err)
		}
		e.CreatedAt = fromMS(at)
		e.Data = data
		out = append(out, &e)
	}
	return out, rows.Err()
}
