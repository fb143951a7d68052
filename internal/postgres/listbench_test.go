package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// benchFaxes is how many faxes BenchmarkListFiltered1M lists from.
const benchFaxes = 1_000_000

// benchStart is when the first benchmark fax was made; one follows every
// 30 s, so that the million span about a year.
var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fillFaxes inserts n faxes in one statement, the same year of traffic as
// internal/sqlite's benchmark of the same name, then gathers the
// statistics autovacuum would.
func fillFaxes(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	_, err := s.pool.Exec(ctx, `INSERT INTO faxes (id, direction, status, to_number, from_number, provider, created_at, updated_at, batch_id)
		SELECT 'fax_' || lpad(i::text, 26, '0'),
			CASE WHEN i % 10 = 9 THEN 'inbound' ELSE 'outbound' END,
			CASE WHEN i % 10 = 9 THEN 'received' WHEN i % 20 = 3 THEN 'failed' ELSE 'sent' END,
			'+1555' || lpad((i % 5000)::text, 7, '0'), '+1666' || lpad((i % 700)::text, 7, '0'),
			CASE i % 4 WHEN 0 THEN 'simulator' WHEN 1 THEN 'phaxio' WHEN 2 THEN 'sinch' ELSE 'gofax' END,
			$2::bigint + i * 30000, $2::bigint + i * 30000,
			CASE WHEN i % 100 < 3 THEN 'bat_' || lpad((i / 100)::text, 26, '0') END
		FROM generate_series(0::bigint, $1::bigint - 1) AS i`, n, benchStart.UnixMilli())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE faxes`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkListFiltered1M times one page (50 faxes) of the fax list under
// each filter, from a store of a million faxes, as internal/sqlite's
// benchmark of the same name does:
//
//	go test -run '^$' -bench ListFiltered1M -benchtime 200x -count 5 ./internal/postgres/
func BenchmarkListFiltered1M(b *testing.B) {
	s := openListStore(b)
	fillFaxes(b, s, benchFaxes)
	mid := benchStart.Add(benchFaxes / 2 * 30 * time.Second)
	ctx := context.Background()
	for _, bf := range []struct {
		name string
		fl   fax.FaxFilter
	}{
		{"provider_status", fax.FaxFilter{Provider: "phaxio", Status: fax.StatusFailed}},
		{"to", fax.FaxFilter{To: "+15550001234"}},
		{"batch_id", fax.FaxFilter{BatchID: "bat_00000000000000000000004321"}},
		{"created_week", fax.FaxFilter{CreatedAfter: mid, CreatedBefore: mid.Add(7 * 24 * time.Hour)}},
		{"created_after_recent", fax.FaxFilter{CreatedAfter: benchStart.Add(benchFaxes * 30 * time.Second).Add(-24 * time.Hour)}},
		{"created_before_old", fax.FaxFilter{CreatedBefore: benchStart.Add(30 * 24 * time.Hour)}},
		{"provider_created_before", fax.FaxFilter{Provider: "sinch", CreatedBefore: mid}},
		{"inbound_from_after", fax.FaxFilter{Direction: fax.Inbound, From: "+16660000019", CreatedAfter: mid}},
	} {
		b.Run(bf.name, func(b *testing.B) {
			fl := bf.fl
			fl.Limit = 50
			for b.Loop() {
				if _, _, err := s.FindFaxes(ctx, fl); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
