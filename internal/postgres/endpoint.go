package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
)

const endpointColumns = `id, url, events, inflight, format, numbers, description, api_version, secret, previous_secret,
	previous_secret_expires_at, fax_id, enabled, disabled_reason, owner_key_id, created_at, updated_at`

// endpointRow holds the scan targets of one endpoints row.
type endpointRow struct {
	e                fax.Endpoint
	events, numbers  string
	prevExp          *int64
	created, updated int64
}

func (r *endpointRow) targets() []any {
	e := &r.e
	return []any{&e.ID, &e.URL, &r.events, &e.Inflight, &e.Format, &r.numbers, &e.Description, &e.APIVersion, &e.Secret,
		&e.PreviousSecret, &r.prevExp, &e.FaxID, &e.Enabled, &e.DisabledReason, &e.OwnerKeyID, &r.created, &r.updated}
}

func (r *endpointRow) finish() (*fax.Endpoint, error) {
	e := &r.e
	if err := json.Unmarshal([]byte(r.events), &e.Events); err != nil {
		return nil, fmt.Errorf("postgres: endpoint %s events: %w", e.ID, err)
	}
	if err := json.Unmarshal([]byte(r.numbers), &e.Numbers); err != nil {
		return nil, fmt.Errorf("postgres: endpoint %s numbers: %w", e.ID, err)
	}
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

// CreateEndpoint stores a new webhook endpoint.
func (s *Store) CreateEndpoint(ctx context.Context, e *fax.Endpoint) (*fax.Endpoint, error) {
	var c *fax.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		c = workflow.NewEndpoint(&s.ids, e, s.now().UTC())
		insertEndpoint(tx, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func insertEndpoint(tx *wtx, e *fax.Endpoint) {
	tx.queue(`INSERT INTO endpoints (`+endpointColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		e.ID, e.URL, jsonList(e.Events), e.Inflight, e.Format, jsonList(e.Numbers), e.Description, e.APIVersion,
		e.Secret, e.PreviousSecret, msPtr(e.PreviousSecretExpiresAt), e.FaxID, e.Enabled, e.DisabledReason,
		e.OwnerKeyID, ms(e.CreatedAt), ms(e.UpdatedAt))
}

// routableEndpointsSQL selects the endpoints events about the faxes $1 may
// go to: enabled global and number-bound endpoints and the faxes' own.
const routableEndpointsSQL = `SELECT ` + endpointColumns + ` FROM endpoints
	WHERE enabled AND NOT deleted AND (fax_id = '' OR fax_id = ANY($1)) ORDER BY id`

// routableEndpoints loads the endpoints events about faxIDs may go to.
func (s *Store) routableEndpoints(tx *wtx, faxIDs []string) ([]*fax.Endpoint, error) {
	var out []*fax.Endpoint
	queueRoutable(tx, faxIDs, &out)
	if err := tx.flush(); err != nil {
		return nil, fmt.Errorf("postgres: routable endpoints: %w", err)
	}
	return out, nil
}

// queueRoutable queues the routable endpoints query, filling *out when the
// batch is sent.
func queueRoutable(tx *wtx, faxIDs []string, out *[]*fax.Endpoint) {
	if faxIDs == nil {
		faxIDs = []string{}
	}
	tx.queue(routableEndpointsSQL, faxIDs).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			e, err := scanEndpoint(rows)
			if err != nil {
				return err
			}
			*out = append(*out, e)
		}
		return rows.Err()
	})
}

// FindEndpointByID returns one endpoint (not deleted) or not_found.
func (s *Store) FindEndpointByID(ctx context.Context, id string) (*fax.Endpoint, error) {
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = $1 AND NOT deleted AND fax_id = ''`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeNotFound, "webhook endpoint %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: find endpoint: %w", err)
	}
	return e, nil
}

// FindEndpoints lists the user's endpoints (not the implicit callback ones),
// newest first.
func (s *Store) FindEndpoints(ctx context.Context, limit int, cursor string) ([]*fax.Endpoint, string, error) {
	limit = fax.PageLimit(limit)
	q := `SELECT ` + endpointColumns + ` FROM endpoints WHERE NOT deleted AND fax_id = ''`
	var a args
	if cursor != "" {
		q += ` AND id < ` + a.add(cursor)
	}
	q += ` ORDER BY id DESC LIMIT ` + a.add(limit+1)
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, "", fmt.Errorf("postgres: find endpoints: %w", err)
	}
	out, err := collect(rows, func(r pgx.Rows) (*fax.Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return nil, "", fmt.Errorf("postgres: find endpoints: %w", err)
	}
	out, next := fax.Page(out, limit, func(e *fax.Endpoint) string { return e.ID })
	return out, next, nil
}

// lockEndpoint reads a user's endpoint and locks its row: changes to an
// endpoint and to its deliveries take the endpoint's lock first, the
// delivery's second, so that they never deadlock.
func lockEndpoint(tx *wtx, id string) (*fax.Endpoint, error) {
	var e *fax.Endpoint
	var found bool
	tx.queueRow(&found, func(row pgx.Row) (err error) {
		e, err = scanEndpoint(row)
		return err
	}, `SELECT `+endpointColumns+` FROM endpoints WHERE id = $1 AND NOT deleted AND fax_id = '' FOR UPDATE`, id)
	if err := tx.flush(); err != nil {
		return nil, fmt.Errorf("postgres: find endpoint: %w", err)
	}
	if !found {
		return nil, fax.Errorf(fax.ECodeNotFound, "webhook endpoint %s not found", id)
	}
	return e, nil
}

// UpdateEndpoint loads an endpoint, lets fn change it, and saves it. When
// fn disables the endpoint, its pending deliveries fail. The endpoint's row
// is locked meanwhile, so fn sees the latest version; fn may run again if
// PostgreSQL aborts the transaction for a deadlock.
func (s *Store) UpdateEndpoint(ctx context.Context, id string, fn func(*fax.Endpoint) error) (*fax.Endpoint, error) {
	var out *fax.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		out = nil
		e, err := lockEndpoint(tx, id)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
		now := s.now().UTC()
		e.UpdatedAt = now
		tx.queue(`UPDATE endpoints SET url = $1, events = $2, inflight = $3, format = $4, numbers = $5, description = $6,
			api_version = $7, secret = $8, previous_secret = $9, previous_secret_expires_at = $10, enabled = $11, disabled_reason = $12,
			updated_at = $13 WHERE id = $14`,
			e.URL, jsonList(e.Events), e.Inflight, e.Format, jsonList(e.Numbers), e.Description, e.APIVersion,
			e.Secret, e.PreviousSecret, msPtr(e.PreviousSecretExpiresAt), e.Enabled, e.DisabledReason, ms(now), e.ID)
		if !e.Enabled {
			failPendingDeliveries(tx, e.ID, now)
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
		n, err := tx.exec(`UPDATE endpoints SET deleted = true, enabled = false, disabled_reason = 'deleted', updated_at = $1
			WHERE id = $2 AND NOT deleted AND fax_id = ''`, ms(now), id)
		if err != nil {
			return fmt.Errorf("postgres: delete endpoint: %w", err)
		}
		if n == 0 {
			return fax.Errorf(fax.ECodeNotFound, "webhook endpoint %s not found", id)
		}
		tx.wake |= wakeEndpoint
		failPendingDeliveries(tx, id, now)
		return nil
	})
}

func failPendingDeliveries(tx *wtx, endpointID string, now time.Time) {
	tx.queue(`UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, lease_until = NULL, updated_at = $1
		WHERE endpoint_id = $2 AND status = 'pending'`, ms(now), endpointID)
}

// Setting returns the named generated setting, creating it with gen the
// first time. Instances racing to create it all get the first one stored.
func (s *Store) Setting(ctx context.Context, name string, gen func() string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("postgres: setting: %w", err)
	}
	if s.closed.Load() {
		return "", errClosed
	}
	// INSERT … ON CONFLICT DO NOTHING waits for a concurrent insert of the
	// same name to commit; the next statement's snapshot then sees the
	// winner's value.
	if _, err := s.pool.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, gen()); err != nil {
		return "", fmt.Errorf("postgres: setting: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v); err != nil {
		return "", fmt.Errorf("postgres: setting: %w", err)
	}
	return v, nil
}
