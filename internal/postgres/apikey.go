package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
)

// CreateAPIKey stores a key (its hash only).
func (s *Store) CreateAPIKey(ctx context.Context, k *fax.APIKey) (*fax.APIKey, error) {
	var c *fax.APIKey
	err := s.write(ctx, func(tx *wtx) error {
		c = workflow.NewAPIKey(&s.ids, k, s.now().UTC())
		tx.queue(`INSERT INTO api_keys (id, name, hash, prefix, scopes, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.ID, c.Name, c.Hash, c.Prefix, jsonList(c.Scopes), ms(c.CreatedAt))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

const apiKeyColumns = `id, name, hash, prefix, scopes, created_at, last_used_at`

func scanAPIKey(row scanner) (*fax.APIKey, error) {
	var k fax.APIKey
	var scopes string
	var created int64
	var used *int64
	if err := row.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &scopes, &created, &used); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, fmt.Errorf("postgres: api key %s scopes: %w", k.ID, err)
	}
	k.CreatedAt = fromMS(created)
	k.LastUsedAt = fromNullMS(used)
	return &k, nil
}

// FindAPIKeyByHash returns the live key with that hash, or unauthorized.
func (s *Store) FindAPIKeyByHash(ctx context.Context, hash string) (*fax.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeUnauthorized, "invalid API key")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: find api key: %w", err)
	}
	return k, nil
}

// FindAPIKeys lists live keys, newest first.
func (s *Store) FindAPIKeys(ctx context.Context) ([]*fax.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE revoked_at IS NULL ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("postgres: find api keys: %w", err)
	}
	out, err := collect(rows, func(r pgx.Rows) (*fax.APIKey, error) { return scanAPIKey(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: find api keys: %w", err)
	}
	return out, nil
}

// DeleteAPIKey revokes a key.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		n, err := tx.exec(`UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`, ms(s.now()), id)
		if err != nil {
			return fmt.Errorf("postgres: delete api key: %w", err)
		}
		if n == 0 {
			return fax.Errorf(fax.ECodeNotFound, "API key %s not found", id)
		}
		return nil
	})
}
