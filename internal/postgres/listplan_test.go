package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/jackc/pgx/v5"
)

// openListStore opens a Store on a fresh database of the test server
// (FAXGATE_TEST_DATABASE_URL), dropped when the test ends; it skips
// without one.
func openListStore(tb testing.TB) *Store {
	tb.Helper()
	base := os.Getenv("FAXGATE_TEST_DATABASE_URL")
	if base == "" {
		tb.Skip("FAXGATE_TEST_DATABASE_URL is not set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "faxgate_list_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close(ctx)
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(ctx)
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	s, err := Open(ctx, u.String(), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestListPlans: every combination of the list's filters, with and
// without a cursor, can be served by an index: with sequential scans
// priced out (an empty table would always be read whole), the plan reads
// no table without one.
func TestListPlans(t *testing.T) {
	s := openListStore(t)
	ctx := context.Background()
	// cols are the columns each setter filters, in order.
	cols := []string{"direction", "status", "to_number", "from_number", "provider", "batch_id", "created_at", "created_at"}
	setters := []func(*fax.FaxFilter){
		func(f *fax.FaxFilter) { f.Direction = fax.Outbound },
		func(f *fax.FaxFilter) { f.Status = fax.StatusSent },
		func(f *fax.FaxFilter) { f.To = "+15551230000" },
		func(f *fax.FaxFilter) { f.From = "+15551230001" },
		func(f *fax.FaxFilter) { f.Provider = "phaxio" },
		func(f *fax.FaxFilter) { f.BatchID = "bat_x" },
		func(f *fax.FaxFilter) { f.CreatedAfter = time.Unix(1, 0) },
		func(f *fax.FaxFilter) { f.CreatedBefore = time.Unix(2, 0) },
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for mask := 0; mask < 1<<len(setters); mask++ {
		for _, cursor := range []string{"", "fax_01M8"} {
			fl := fax.FaxFilter{Cursor: cursor}
			var want []string
			for i, set := range setters {
				if mask&(1<<i) != 0 {
					set(&fl)
					want = append(want, cols[i])
				}
			}
			q, a := faxListQuery(&fl, 50)
			rows, err := tx.Query(ctx, "EXPLAIN "+q, a...)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			rows.Close()
			p := strings.Join(plan, "\n")
			if strings.Contains(p, "Seq Scan") || !strings.Contains(p, "Index") {
				t.Errorf("filters %v: plan\n%s\nwant an index read", want, p)
				continue
			}
			// A filter is served when an index condition names one of its
			// columns, not only the id order.
			served := len(want) == 0
			for _, line := range plan {
				if _, cond, ok := strings.Cut(line, "Index Cond: "); ok {
					for _, c := range want {
						served = served || strings.Contains(cond, c)
					}
				}
			}
			if !served {
				t.Errorf("filters %v: plan\n%s\nwant an index condition on one of them", want, p)
			}
		}
	}
}
