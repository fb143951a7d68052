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

const endpointColumns = `id, url, events, inflight, format, numbers, description, api_version, secret, previous_secret,
	previous_secret_expires_at, fax_id, enabled, disabled_reason, owner_key_id, created_at, updated_at`

// endpointRow holds the scan targets of one endpoints row.
type endpointRow struct {
	e                 fax.Endpoint
	events, numbers   string
	prevExp           sql.NullInt64
	inflight, enabled int
	created, updated  int64
}

func (r *endpointRow) targets() []any {
	e := &r.e
	return []any{&e.ID, &e.URL, &r.events, &r.inflight, &e.Format, &r.numbers, &e.Description, &e.APIVersion, &e.Secret,
		&e.PreviousSecret, &r.prevExp, &e.FaxID, &r.enabled, &e.DisabledReason, &e.OwnerKeyID, &r.created, &r.updated}
}

func (r *endpointRow) finish() (*fax.Endpoint, error) {
	e := &r.e
	if err := json.Unmarshal([]byte(r.events), &e.Events); err != nil {
		return nil, fmt.Errorf("sqlite: endpoint %s events: %w", e.ID, err)
	}
	if err := json.Unmarshal([]byte(r.numbers), &e.Numbers); err != nil {
		return nil, fmt.Errorf("sqlite: endpoint %s numbers: %w", e.ID, err)
	}
	e.Inflight, e.Enabled = r.inflight != 0, r.enabled != 0
	e.PreviousSecretExpiresAt = fromNullMS(r.prevExp)
	e.CreatedAt, e.UpdatedAt = fromMS(r.created), fromMS(r.updated)
	return e, nil
}

func scanEndpoint(row scanner) (*fax.Endpoint, error) {
	var r endpointRow
	if err := row.Scan(r.targets()...); err != nil {
		return nil, err
	}
	return r.finish()
}

func jsonList[T any](v []T) string {
	if v == nil {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateEndpoint stores a new webhook endpoint.
func (s *Store) CreateEndpoint(ctx context.Context, e *fax.Endpoint) (*fax.Endpoint, error) {
	var c *fax.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		c = workflow.NewEndpoint(&s.ids, e, s.now().UTC())
		return insertEndpoint(tx, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func insertEndpoint(tx *wtx, e *fax.Endpoint) error {
	tx.endpointsWritten()
	_, err := tx.Exec(`INSERT INTO endpoints (`+endpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.URL, jsonList(e.Events), boolInt(e.Inflight), e.Format, jsonList(e.Numbers), e.Description, e.APIVersion,
		e.Secret, e.PreviousSecret, msPtr(e.PreviousSecretExpiresAt), e.FaxID, boolInt(e.Enabled), e.DisabledReason,
		e.OwnerKeyID, ms(e.CreatedAt), ms(e.UpdatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: create endpoint: %w", err)
	}
	return nil
}

// routableEndpoints loads the endpoints an event about faxID may go to:
// enabled global and number-bound endpoints (from the cache) and the fax's
// own, in table order within each.
func (s *Store) routableEndpoints(tx *wtx, faxID string) ([]*fax.Endpoint, error) {
	global, err := s.globalEndpoints(tx)
	if err != nil || faxID == "" {
		return global, err
	}
	// fax_id <> '' lets SQLite use the partial index endpoints_fax.
	own, err := queryEndpoints(tx, `SELECT `+endpointColumns+` FROM endpoints
		WHERE fax_id = ? AND fax_id <> '' AND enabled = 1 AND deleted = 0`, faxID)
	if err != nil || len(own) == 0 {
		return global, err
	}
	return append(own, global...), nil
}

// FindEndpointByID returns one endpoint (not deleted) or not_found.
func (s *Store) FindEndpointByID(ctx context.Context, id string) (*fax.Endpoint, error) {
	e, err := scanEndpoint(s.rdb.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = ? AND deleted = 0 AND fax_id = ''`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeNotFound, "webhook endpoint %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find endpoint: %w", err)
	}
	return e, nil
}

// FindEndpoints lists the user's endpoints (not the implicit callback ones),
// newest first.
func (s *Store) FindEndpoints(ctx context.Context, limit int, cursor string) ([]*fax.Endpoint, string, error) {
	limit = fax.PageLimit(limit)
	q := `SELECT ` + endpointColumns + ` FROM endpoints WHERE deleted = 0 AND fax_id = ''`
	args := []any{}
	if cursor != "" {
		q += ` AND id < ?`
		args = append(args, cursor)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: find endpoints: %w", err)
	}
	defer rows.Close()
	var out []*fax.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: find endpoints: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: find endpoints: %w", err)
	}
	out, next := fax.Page(out, limit, func(e *fax.Endpoint) string { return e.ID })
	return out, next, nil
}

// UpdateEndpoint loads an endpoint, lets fn change it, and saves it. When
// fn disables the endpoint, its pending deliveries fail.
func (s *Store) UpdateEndpoint(ctx context.Context, id string, fn func(*fax.Endpoint) error) (*fax.Endpoint, error) {
	var out *fax.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		e, err := scanEndpoint(tx.QueryRow(`SELECT `+endpointColumns+` FROM endpoints WHERE id = ? AND deleted = 0 AND fax_id = ''`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fax.Errorf(fax.ECodeNotFound, "webhook endpoint %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update endpoint: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
		now := s.now().UTC()
		e.UpdatedAt = now
		tx.endpointsWritten()
		_, err = tx.Exec(`UPDATE endpoints SET url = ?, events = ?, inflight = ?, format = ?, numbers = ?, description = ?,
			api_version = ?, secret = ?, previous_secret = ?, previous_secret_expires_at = ?, enabled = ?, disabled_reason = ?,
			updated_at = ? WHERE id = ?`,
			e.URL, jsonList(e.Events), boolInt(e.Inflight), e.Format, jsonList(e.Numbers), e.Description, e.APIVersion,
			e.Secret, e.PreviousSecret, msPtr(e.PreviousSecretExpiresAt), boolInt(e.Enabled), e.DisabledReason, ms(now), e.ID)
		if err != nil {
			return fmt.Errorf("sqlite: update endpoint: %w", err)
		}
		if !e.Enabled {
			if err := failPendingDeliveries(tx, e.ID, now); err != nil {
				return err
			}
			tx.wake |= wakeEndpoint
		}
		out = e
		return nil
	})
	return out, err
}

// DeleteEndpoint removes an endpoint from use; its delivery log stays.
func (s *Store) DeleteEndpoint(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		now := s.now().UTC()
		tx.endpointsWritten()
		res, err := tx.Exec(`UPDATE endpoints SET deleted = 1, enabled = 0, disabled_reason = 'deleted', updated_at = ?
			WHERE id = ? AND deleted = 0 AND fax_id = ''`, ms(now), id)
		if err != nil {
			return fmt.Errorf("sqlite: delete endpoint: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fax.Errorf(fax.ECodeNotFound, "webhook endpoint %s not found", id)
		}
		tx.wake |= wakeEndpoint
		return failPendingDeliveries(tx, id, now)
	})
}

func failPendingDeliveries(tx *wtx, endpointID string, now time.Time) error {
	if _, err := tx.Exec(`UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, lease_until = NULL, updated_at = ?
		WHERE endpoint_id = ? AND status = 'pending'`, ms(now), endpointID); err != nil {
		return fmt.Errorf("sqlite: fail pending deliveries: %w", err)
	}
	return nil
}

// Setting returns the named generated setting, creating it with gen the
// first time.
func (s *Store) Setting(ctx context.Context, name string, gen func() string) (string, error) {
	var v string
	err := s.write(ctx, func(tx *wtx) error {
		err := tx.QueryRow(`SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: setting: %w", err)
		}
		v = gen()
		if _, err := tx.Exec(`INSERT INTO settings (name, value) VALUES (?, ?)`, name, v); err != nil {
			return fmt.Errorf("sqlite: setting: %w", err)
		}
		return nil
	})
	return v, err
}
