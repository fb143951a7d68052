package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/bench"
	"github.com/jackc/pgx/v5"
)

// testServerURL is the test PostgreSQL server's URL, or skips (fails in CI).
func testServerURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("FAXGATE_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("FAXGATE_TEST_DATABASE_URL is not set: scripts/test starts a PostgreSQL server (scripts/pg start)")
		}
		t.Skip(`no PostgreSQL: run eval "$(bash scripts/pg start)" first`)
	}
	return base
}

// benchDatabases counts the databases bench --compare creates for its runs.
func benchDatabases(t *testing.T, base string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname LIKE 'faxgate_bench_%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBenchCompareSmall runs bench --compare at a small size: both stores
// run every scenario without errors, the output and the JSON carry both
// figures and their ratios, and the databases of the PostgreSQL runs are
// dropped. Speed is not checked.
func TestBenchCompareSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateways")
	}
	base := testServerURL(t)
	before := benchDatabases(t, base)
	out := filepath.Join(t.TempDir(), "compare.json")
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--compare", "--database-url", base, "--clients", "4", "--ingest", "200", "--drain", "100",
		"--e2e-rate", "200", "--e2e-duration", "1s", "--pages", "3", "--json", out}
	if code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("bench --compare exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "PostgreSQL against SQLite") || !strings.Contains(stdout.String(), "faxgate bench: postgres") ||
		!strings.Contains(stdout.String(), "faxgate bench: sqlite") {
		t.Errorf("output lacks a store's table or the ratios:\n%s", stdout.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var c bench.Comparison
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.SQLite) != 1 || len(c.Postgres) != 1 || len(c.Ratios) != 3 || len(c.Errors) != 0 {
		t.Fatalf("got %d SQLite runs, %d PostgreSQL runs, %d ratios, errors %v; want 1, 1, 3, none", len(c.SQLite), len(c.Postgres), len(c.Ratios), c.Errors)
	}
	if c.SQLite[0].Machine.Store != "sqlite" || c.Postgres[0].Machine.Store != "postgres" {
		t.Errorf("stores %q and %q, want sqlite and postgres", c.SQLite[0].Machine.Store, c.Postgres[0].Machine.Store)
	}
	for _, r := range c.Ratios {
		if r.SQLiteRate <= 0 || r.PostgresRate <= 0 || r.Ratio <= 0 || r.Budget == "" {
			t.Errorf("%s: %+v, want both rates, a ratio and its budget", r.Name, r)
		}
	}
	if after := benchDatabases(t, base); after != before {
		t.Errorf("%d faxgate_bench_ databases after the run, %d before: the run's database was not dropped", after, before)
	}
}

// TestBenchInstancesSmall runs bench --instances 2 from the built binary,
// whose children are `faxgate serve` processes on one fresh database:
// every scenario completes across the fleet, every send reaches the
// carrier once and no webhook arrives twice. Speed is not checked.
func TestBenchInstancesSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateway processes")
	}
	db := freshDatabase(t)
	bin := buildBinary(t)
	out := filepath.Join(t.TempDir(), "instances.json")
	cmd := exec.Command(bin, "bench", "--instances", "2", "--database-url", db, "--clients", "4", "--ingest", "200", "--drain", "100",
		"--e2e-rate", "200", "--e2e-duration", "1s", "--pages", "3", "--sends", "60", "--json", out)
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench --instances: %v\n%s", err, output)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res bench.InstancesResults
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Instances != 2 || len(res.Errors) != 0 || res.DuplicateWebhooks != 0 || res.DuplicateSends != 0 {
		t.Fatalf("instances %d, errors %v, claimed twice %d webhooks and %d sends; want 2, none, 0 and 0", res.Instances, res.Errors, res.DuplicateWebhooks, res.DuplicateSends)
	}
	for _, f := range []bench.Figure{res.Ingest, res.Drain, res.Sends, res.EndToEnd} {
		if f.Count == 0 || f.Rate <= 0 || f.Errors != 0 {
			t.Errorf("%s: %+v, want a count, a rate and no errors", f.Name, f)
		}
	}
	if res.Sends.Count != 60 || res.EndToEnd.Count != 200 {
		t.Errorf("sends %d, end to end %d; want 60 and 200", res.Sends.Count, res.EndToEnd.Count)
	}
}
