package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// benchFaxes is how many faxes BenchmarkListFiltered1M lists from.
const benchFaxes = 1_000_000

// benchStart is when the first benchmark fax was made; one follows every
// 30 s, so that the million span about a year.
var benchStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fillFaxes inserts n faxes in one statement, as a year of traffic: 9 in
// 10 outbound (1 in 20 of those failed), four carriers in turn, 5000
// numbers, and 3 in 100 faxes in batches of three.
func fillFaxes(b *testing.B, s *Store, n int) {
	b.Helper()
	err := s.write(context.Background(), func(tx *wtx) error {
		_, err := tx.Exec(`WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?)
		INSERT INTO faxes (id, direction, status, to_number, from_number, provider, created_at, updated_at, batch_id)
		SELECT printf('fax_%026d', i),
			CASE WHEN i % 10 = 9 THEN 'inbound' ELSE 'outbound' END,
			CASE WHEN i % 10 = 9 THEN 'received' WHEN i % 20 = 3 THEN 'failed' ELSE 'sent' END,
			printf('+1555%07d', i % 5000), printf('+1666%07d', i % 700),
			CASE i % 4 WHEN 0 THEN 'simulator' WHEN 1 THEN 'phaxio' WHEN 2 THEN 'sinch' ELSE 'gofax' END,
			? + i * 30000, ? + i * 30000,
			CASE WHEN i % 100 < 3 THEN printf('bat_%026d', i / 100) END
		FROM seq`, n, benchStart.UnixMilli(), benchStart.UnixMilli())
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
}

// benchFilters are the filtered pages BenchmarkListFiltered1M reads.
func benchFilters() []struct {
	name string
	fl   fax.FaxFilter
} {
	mid := benchStart.Add(benchFaxes / 2 * 30 * time.Second)
	return []struct {
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
	}
}

// BenchmarkListFiltered1M times one page (50 faxes) of the fax list under
// each filter, from a store of a million faxes:
//
//	go test -run '^$' -bench ListFiltered1M -benchtime 200x -count 5 ./internal/sqlite/
func BenchmarkListFiltered1M(b *testing.B) {
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "list.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	fillFaxes(b, s, benchFaxes)
	ctx := context.Background()
	for _, bf := range benchFilters() {
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
