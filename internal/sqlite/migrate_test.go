package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestMigrateDeliveriesWithoutRowid: a database made by schema version 4,
// with a pending delivery and a delivered one, keeps both through
// migration 5's table rebuild, and they behave as before: the pending one
// is claimed with its event, the unique (event, endpoint) pair still holds.
func TestMigrateDeliveriesWithoutRowid(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "faxgate.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for v, name := range []string{"0001_init.sql", "0002_inbound_jobs_audit.sql", "0003_endpoint_health.sql", "0004_sms.sql"} {
		body, err := fs.ReadFile(migrationFS, "migrations/"+name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations VALUES (?, 0)`, v+1)
	}
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixMilli()
	exec(`INSERT INTO endpoints (id, url, api_version, secret, created_at, updated_at) VALUES ('ep_1', 'https://a.example/hook', '2026-11-01', 'whsec_c2VjcmV0', ?, ?)`, at, at)
	exec(`INSERT INTO events (id, fax_id, type, created_at, data) VALUES ('evt_1', 'fax_1', 'fax.sent', ?, '{"id":"fax_1"}'), ('evt_2', 'fax_1', 'fax.queued', ?, '{}')`, at, at)
	exec(`INSERT INTO deliveries (id, endpoint_id, event_id, event_type, fax_id, status, attempt_count, next_attempt_at, created_at, updated_at)
		VALUES ('dlv_1', 'ep_1', 'evt_1', 'fax.sent', 'fax_1', 'pending', 2, ?, ?, ?),
		       ('dlv_0', 'ep_1', 'evt_2', 'fax.queued', 'fax_1', 'succeeded', 1, NULL, ?, ?)`, at, at, at, at, at)
	db.Close()

	s, err := Open(ctx, path, Options{Now: func() time.Time { return time.UnixMilli(at).Add(time.Minute) }})
	if err != nil {
		t.Fatalf("open (migrating): %v", err)
	}
	defer s.Close()
	var version int
	var schema string
	s.rdb.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version)
	s.rdb.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = 'deliveries'`).Scan(&schema)
	if version < 5 || !strings.Contains(schema, "WITHOUT ROWID") {
		t.Fatalf("schema version %d after open, deliveries %s; want version 5 or later, WITHOUT ROWID", version, schema)
	}
	d, err := s.FindDeliveryByID(ctx, "dlv_0")
	if err != nil || d.Status != fax.DeliverySucceeded || d.AttemptCount != 1 || d.EventID != "evt_2" {
		t.Errorf("delivered delivery after migration: %+v %v", d, err)
	}
	jobs, err := s.ClaimDeliveries(ctx, time.UnixMilli(at).Add(time.Minute), time.Minute, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim after migration: %d jobs, %v; want dlv_1", len(jobs), err)
	}
	if j := jobs[0]; j.Delivery.ID != "dlv_1" || j.Delivery.AttemptCount != 2 || string(j.Event.Data) != `{"id":"fax_1"}` || j.Endpoint.ID != "ep_1" {
		t.Errorf("claimed %+v", j)
	}
	if again, _ := s.ClaimDeliveries(ctx, time.UnixMilli(at).Add(time.Minute), time.Minute, 10); len(again) != 0 {
		t.Errorf("a leased delivery was claimed again: %d jobs", len(again))
	}
	byEvent, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{EventID: "evt_1"})
	if err != nil || len(byEvent) != 1 || byEvent[0].ID != "dlv_1" {
		t.Errorf("deliveries of evt_1: %v %v", byEvent, err)
	}
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `INSERT INTO deliveries (id, endpoint_id, event_id, event_type, status, created_at, updated_at)
		VALUES ('dlv_2', 'ep_1', 'evt_1', 'fax.sent', 'pending', 0, 0)`); err == nil {
		t.Error("a second delivery of evt_1 to ep_1 was accepted")
	}
}
