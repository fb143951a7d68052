package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Stats counts faxes, deliveries and queued work for metrics.
func (s *Store) Stats(ctx context.Context) (fax.Stats, error) {
	var st fax.Stats
	rows, err := s.rdb.QueryContext(ctx, `SELECT provider, direction, status, COUNT(*) FROM faxes GROUP BY provider, direction, status`)
	if err != nil {
		return st, fmt.Errorf("sqlite: stats: %w", err)
	}
	for rows.Next() {
		var c fax.StatsCount
		if err := rows.Scan(&c.Provider, &c.Direction, &c.Status, &c.Count); err != nil {
			rows.Close()
			return st, fmt.Errorf("sqlite: stats: %w", err)
		}
		st.Faxes = append(st.Faxes, c)
	}
	rows.Close()
	rows, err = s.rdb.QueryContext(ctx, `SELECT status, COUNT(*) FROM deliveries GROUP BY status`)
	if err != nil {
		return st, fmt.Errorf("sqlite: stats: %w", err)
	}
	for rows.Next() {
		var c fax.StatsCount
		if err := rows.Scan(&c.Status, &c.Count); err != nil {
			rows.Close()
			return st, fmt.Errorf("sqlite: stats: %w", err)
		}
		st.Deliveries = append(st.Deliveries, c)
	}
	rows.Close()
	now := s.now()
	for _, q := range []struct{ name, query string }{
		{"dispatch", `SELECT COUNT(*), MIN(created_at) FROM faxes WHERE dispatch_state IN ('pending', 'inflight')`},
		{"delivery", `SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE status = 'pending'`},
		{"inbound", `SELECT COUNT(*), MIN(created_at) FROM inbound_jobs WHERE status = 'pending'`},
		// Faxes handed to a carrier (or held as not confirmed) still
		// awaiting their final result, aged from the hand-over.
		{"result", `SELECT COUNT(*), MIN(handed_at) FROM faxes WHERE dispatch_state = 'handed'`},
	} {
		var n int64
		var oldest sql.NullInt64
		if err := s.rdb.QueryRowContext(ctx, q.query).Scan(&n, &oldest); err != nil {
			return st, fmt.Errorf("sqlite: stats: %w", err)
		}
		qs := fax.QueueStats{Name: q.name, Depth: n}
		if oldest.Valid {
			qs.OldestAge = max(now.Sub(fromMS(oldest.Int64)), time.Duration(0))
		}
		st.Queues = append(st.Queues, qs)
	}
	return st, nil
}
