package metrics

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/sqlite"
)

// BenchmarkScrape measures a /metrics scrape over a SQLite store holding
// 500 and 500,000 faxes (and as many deliveries), and the store read that
// the cache makes at most once per period, which every scrape used to make:
//
//	go test ./internal/metrics -run '^$' -bench BenchmarkScrape -benchtime 100x
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{500, 500_000} {
		st := benchStore(b, n)
		b.Run(fmt.Sprintf("scrape/faxes=%d", n), func(b *testing.B) {
			m := New(st, nil, slog.New(slog.DiscardHandler), DefaultStoreCache)
			h := m.Handler()
			scrape := func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
				if rec.Code != 200 {
					b.Fatalf("scrape: %d", rec.Code)
				}
			}
			scrape() // the first scrape after start waits for the first read
			b.ResetTimer()
			for b.Loop() {
				scrape()
			}
		})
		b.Run(fmt.Sprintf("store_read/faxes=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := st.Stats(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchStore is a migrated SQLite store with n faxes and n deliveries,
// spread over carriers and statuses, written directly in one transaction.
func benchStore(b *testing.B, n int) *sqlite.Store {
	b.Helper()
	path := filepath.Join(b.TempDir(), "faxgate.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	fx, err := tx.Prepare(`INSERT INTO faxes (id, direction, status, to_number, provider, created_at, updated_at) VALUES (?, ?, ?, '+15551234567', ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	dl, err := tx.Prepare(`INSERT INTO deliveries (id, endpoint_id, event_id, event_type, fax_id, status, created_at, updated_at) VALUES (?, 'ep_bench', ?, 'fax.sent', ?, ?, ?, ?)`)
	if err != nil {
		b.Fatal(err)
	}
	providers := []string{"simulator", "phaxio", "sinch", "gofax", "asterisk"}
	outbound := []string{"sent", "sent", "sent", "failed", "canceled", "queued", "sending"}
	deliveries := []string{"succeeded", "succeeded", "succeeded", "failed", "pending"}
	now := time.Now().UnixMilli()
	for i := range n {
		id := fmt.Sprintf("fax_%026d", i)
		dir, status := "outbound", outbound[i%len(outbound)]
		if i%4 == 0 {
			dir, status = "inbound", "received"
		}
		if _, err := fx.Exec(id, dir, status, providers[i%len(providers)], now, now); err != nil {
			b.Fatal(err)
		}
		if _, err := dl.Exec(fmt.Sprintf("dlv_%026d", i), fmt.Sprintf("evt_%026d", i), id, deliveries[i%len(deliveries)], now, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	st, err = sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
