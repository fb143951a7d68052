package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/jackc/pgx/v5"
)

// Stats counts faxes, deliveries and queued work for metrics, in one round
// trip (read from one snapshot per statement, not one for all).
func (s *Store) Stats(ctx context.Context) (fax.Stats, error) {
	var st fax.Stats
	b := &pgx.Batch{}
	b.Queue(`SELECT provider, direction, status, COUNT(*) FROM faxes GROUP BY provider, direction, status`).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var c fax.StatsCount
			if err := rows.Scan(&c.Provider, &c.Direction, &c.Status, &c.Count); err != nil {
				return err
			}
			st.Faxes = append(st.Faxes, c)
		}
		return rows.Err()
	})
	b.Queue(`SELECT status, COUNT(*) FROM deliveries GROUP BY status`).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var c fax.StatsCount
			if err := rows.Scan(&c.Status, &c.Count); err != nil {
				return err
			}
			st.Deliveries = append(st.Deliveries, c)
		}
		return rows.Err()
	})
	now := s.now()
	for _, q := range []struct{ name, query string }{
		{"dispatch", `SELECT COUNT(*), MIN(created_at) FROM faxes WHERE dispatch_state IN ('pending', 'inflight')`},
		{"delivery", `SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE status = 'pending'`},
		{"inbound", `SELECT COUNT(*), MIN(created_at) FROM inbound_jobs WHERE status = 'pending'`},
		// Faxes handed to a carrier (or held as not confirmed) still
		// awaiting their final result, aged from the hand-over.
		{"result", `SELECT COUNT(*), MIN(handed_at) FROM faxes WHERE dispatch_state = 'handed'`},
	} {
		b.Queue(q.query).QueryRow(func(row pgx.Row) error {
			var n int64
			var oldest *int64
			if err := row.Scan(&n, &oldest); err != nil {
				return err
			}
			qs := fax.QueueStats{Name: q.name, Depth: n}
			if oldest != nil {
				qs.OldestAge = max(now.Sub(fromMS(*oldest)), time.Duration(0))
			}
			st.Queues = append(st.Queues, qs)
			return nil
		})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fax.Stats{}, fmt.Errorf("postgres: stats: %w", err)
	}
	return st, nil
}
