package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
)

// CreateAPIKey stores a key (its hash only).
func (s *Store) CreateAPIKey(ctx context.Context, k *fax.APIKey) (*fax.APIKey, error) {
	var c *fax.APIKey
	err := s.write(ctx, func(tx *wtx) error {
		c = workflow.NewAPIKey(&s.ids, k, s.now().UTC())
		_, err := tx.Exec(`INSERT INTO api_keys (id, name, hash, prefix, scopes, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, c.Hash, c.Prefix, jsonList(c.Scopes), ms(c.CreatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: create api key: %w", err)
		}
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
	var used sql.NullInt64
	if err := row.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &scopes, &created, &used); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, fmt.Errorf("sqlite: api key %s scopes: %w", k.ID, err)
	}
	k.CreatedAt = fromMS(created)
	k.LastUsedAt = fromNullMS(used)
	return &k, nil
}

// FindAPIKeyByHash returns the live key with that hash, or unauthorized.
func (s *Store) FindAPIKeyByHash(ctx context.Context, hash string) (*fax.APIKey, error) {
	k, err := scanAPIKey(s.rdb.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ? AND revoked_at IS NULL`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fax.Errorf(fax.ECodeUnauthorized, "invalid API key")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: find api key: %w", err)
	}
	return k, nil
}

// FindAPIKeys lists live keys, newest first.
func (s *Store) FindAPIKeys(ctx context.Context) ([]*fax.APIKey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE revoked_at IS NULL ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find api keys: %w", err)
	}
	defer rows.Close()
	var out []*fax.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: find api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteAPIKey revokes a key.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.Exec(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ms(s.now()), id)
		if err != nil {
			return fmt.Errorf("sqlite: delete api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fax.Errorf(fax.ECodeNotFound, "API key %s not found", id)
		}
		return nil
	})
}
