package postgres_test

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/postgres"
	"github.com/jackc/pgx/v5"
)

// Migrations run while other instances serve on the same database. A DDL
// statement that waits for a table lock makes every later query on that
// table queue behind it; a running transaction that holds a lock on the
// table (a long report, a slow request) then stops every instance's writes
// until it ends. These tests keep a store writing while another Open
// applies a pending, test-only migration (numbered 9001, beyond any real
// one) that such a transaction holds up, and require the writes to keep
// completing before that transaction ends.

// TestMigrationLetsWritesThrough: an ALTER TABLE on faxes waits behind a
// transaction that read faxes; writes to faxes still complete meanwhile,
// and the migration is applied once the transaction ends.
func TestMigrationLetsWritesThrough(t *testing.T) {
	t.Parallel()
	db := mustDatabase(t)
	s := mustOpen(t, db, postgres.Options{})
	ctx := context.Background()
	blocker := mustBlocker(t, db, `SELECT count(*) FROM faxes`)

	migrated := openWithMigration(t, db, "9001_online_test.sql", "ALTER TABLE faxes ADD COLUMN online_test INTEGER;\n")
	waitForLockWait(t, db, "ALTER TABLE faxes%", migrated)
	mustKeepWriting(t, s, 20)

	if err := blocker.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatalf("Open with the pending migration: %v", err)
	}
	var n int
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	conn := mustConn(t, db)
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'faxes' AND column_name = 'online_test'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the migration's column: got %d, %v; want it added", n, err)
	}
}

// TestMigrationBuildsIndexConcurrently: a no-transaction migration builds
// an index with CREATE INDEX CONCURRENTLY, which does not stop writes while
// a transaction that wrote to the table is still open, and the index is
// valid afterwards.
func TestMigrationBuildsIndexConcurrently(t *testing.T) {
	t.Parallel()
	db := mustDatabase(t)
	s := mustOpen(t, db, postgres.Options{})
	ctx := context.Background()
	blocker := mustBlocker(t, db, `UPDATE faxes SET pages = pages WHERE false`)
	if _, err := blocker.Exec(ctx, `LOCK TABLE faxes IN ROW EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	migrated := openWithMigration(t, db, "9001_online_index_test.sql", "-- faxgate:no-transaction\n"+
		"-- Safe to run again after a failure part-way: a failed build leaves an invalid index.\n"+
		"DROP INDEX CONCURRENTLY IF EXISTS faxes_online_test;\n"+
		"CREATE INDEX CONCURRENTLY faxes_online_test ON faxes (updated_at);\n")
	waitForLockWait(t, db, "CREATE INDEX CONCURRENTLY%", migrated)
	mustKeepWriting(t, s, 20)

	if err := blocker.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatalf("Open with the pending migration: %v", err)
	}
	conn := mustConn(t, db)
	var valid bool
	if err := conn.QueryRow(ctx, `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'faxes_online_test'`).Scan(&valid); err != nil || !valid {
		t.Errorf("the migration's index: valid %v, %v; want a valid index", valid, err)
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil || version != 9001 {
		t.Errorf("schema version: got %d, %v; want 9001", version, err)
	}
}

// mustBlocker opens a transaction that runs sql and stays open (holding the
// locks sql took) until the test commits it.
func mustBlocker(t *testing.T, db, sql string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := mustConn(t, db).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(ctx) })
	return tx
}

// openWithMigration opens a second store on db whose migrations are the
// schema's plus one pending file, in the background; the channel gets
// Open's error.
func openWithMigration(t *testing.T, db, name, body string) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		s, err := postgres.Open(context.Background(), db, postgres.Options{
			Migrations:         fstest.MapFS{name: {Data: []byte(body)}},
			MigrateLockTimeout: 50 * time.Millisecond,
		})
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	return done
}

// waitForLockWait waits until a statement like pattern waits for a lock,
// so that the writes after it are queued behind it if anything is; Open
// returning first is a failure.
func waitForLockWait(t *testing.T, db, pattern string, migrated <-chan error) {
	t.Helper()
	conn := mustConn(t, db)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE $1`, pattern).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		select {
		case err := <-migrated:
			t.Fatalf("Open returned (%v) before the migration waited for a lock", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no statement like %q waited for a lock", pattern)
		}
		time.Sleep(time.Millisecond)
	}
}

// mustKeepWriting creates n faxes, one after another, each of which must
// complete while the migration is pending. The deadline only keeps a
// failing run from hanging: without the migration's lock timeout the writes
// wait until the blocking transaction ends, which is after this returns.
func mustKeepWriting(t *testing.T, s *postgres.Store, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		if _, _, err := s.CreateFax(ctx, &fax.Fax{To: "+15551230000", Provider: "simulator"}, fax.CreateOptions{}); err != nil {
			t.Fatalf("write %d of %d while the migration was pending: %v", i+1, n, err)
		}
	}
}
