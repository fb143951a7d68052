package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Migrations run while other instances keep serving on the same database,
// so no step may hold a lock that stops their queries for longer than a
// moment. A DDL statement waiting for a table lock makes every later query
// on that table queue behind it, so each statement waits at most the lock
// timeout, then the step is rolled back (the queue drains) and tried again
// after a pause. A file whose first line is noTransactionMark runs its
// statements one by one outside a transaction, for CREATE INDEX
// CONCURRENTLY, which builds an index without blocking writes; such a file
// must be safe to run again after a failure part-way (DROP INDEX
// CONCURRENTLY IF EXISTS before the CREATE).

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the advisory lock key that serialises migrations of
// instances starting together. It lies outside the int4 range of hashtext,
// so no TryLead name can collide with it.
const migrateLockKey int64 = 0x6661786761746500 // "faxgate\x00"

// noTransactionMark, as a migration's first line, runs its statements
// outside a transaction.
const noTransactionMark = "-- faxgate:no-transaction"

// Migration retries: a step that could not take its locks is tried again
// after a pause growing from migrateMinPause to migrateMaxPause, at most
// migrateTries times in all.
const (
	defaultMigrateLockTimeout = 2 * time.Second
	migrateMinPause           = 100 * time.Millisecond
	migrateMaxPause           = 5 * time.Second
	migrateTries              = 30
	// migrateLockPoll is how often an instance looks whether another one
	// has finished migrating.
	migrateLockPoll = 50 * time.Millisecond
)

type migration struct {
	v    int
	name string
	body string
	noTx bool
}

// migrator applies pending migrations on one session of its own.
type migrator struct {
	fsys        fs.FS // nil: the embedded migrations
	log         *slog.Logger
	now         func() time.Time
	lockTimeout time.Duration // 0: defaultMigrateLockTimeout
}

func (m migrator) load() ([]migration, error) {
	fsys := m.fsys
	if fsys == nil {
		sub, err := fs.Sub(migrationFS, "migrations")
		if err != nil {
			return nil, fmt.Errorf("postgres: migrate: %w", err)
		}
		fsys = sub
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	var migs []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s has no number", e.Name())
		}
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("postgres: migrate: %w", err)
		}
		first, _, _ := strings.Cut(string(body), "\n")
		migs = append(migs, migration{n, e.Name(), string(body), strings.TrimSpace(first) == noTransactionMark})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].v < migs[j].v })
	return migs, nil
}

// run connects to cfg and applies every pending migration, one step each.
func (m migrator) run(ctx context.Context, cfg *pgx.ConnConfig) error {
	if m.lockTimeout <= 0 {
		m.lockTimeout = defaultMigrateLockTimeout
	}
	migs, err := m.load()
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	pause, tries := migrateMinPause, 0
	for {
		applied, err := m.next(ctx, conn, migs)
		if isLockTimeout(err) && tries+1 < migrateTries {
			tries++
			m.log.Warn("migration waits for a table lock that a running transaction holds; trying again",
				"err", err, "attempt", tries, "retry_in", pause.String())
			select {
			case <-ctx.Done():
				return fmt.Errorf("postgres: migrate: %w", ctx.Err())
			case <-time.After(pause):
			}
			pause = min(2*pause, migrateMaxPause)
			continue
		}
		if err != nil {
			return err
		}
		if applied == 0 {
			return nil
		}
		if applied < 0 {
			continue
		}
		m.log.Info("applied migration", "version", applied)
		pause, tries = migrateMinPause, 0
	}
}

// next applies the first pending migration and returns its version, 0
// when the schema is current, or -1 when it should look again. Its
// transaction first takes an advisory transaction lock and re-reads the
// schema version, so instances starting at once apply each migration once.
func (m migrator) next(ctx context.Context, conn *pgx.Conn, migs []migration) (int, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The lock is tried, not waited for: CREATE INDEX CONCURRENTLY, run by
	// the instance that holds it, waits for every open transaction to end,
	// so a transaction waiting here for its lock would be a deadlock.
	var got bool
	if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, migrateLockKey).Scan(&got); err != nil {
		return 0, fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	if !got {
		tx.Rollback(ctx)
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("postgres: migrate: %w", ctx.Err())
		case <-time.After(migrateLockPoll):
		}
		return -1, nil
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	mig, err := pending(ctx, tx, migs)
	if err != nil || mig == nil {
		if err == nil {
			err = tx.Commit(ctx)
		}
		return 0, err
	}
	if mig.noTx {
		tx.Rollback(ctx)
		return m.outside(ctx, conn, migs)
	}
	// SET LOCAL ends with the transaction; the advisory lock above was
	// taken without a timeout, since waiting for it holds up no query.
	if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`, lockTimeoutSetting(m.lockTimeout)); err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	// Without arguments pgx uses the simple protocol, which runs a file of
	// several statements.
	if _, err := tx.Exec(ctx, mig.body); err != nil {
		return 0, fmt.Errorf("postgres: migration %s: %w", mig.name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, mig.v, m.now().UnixMilli()); err != nil {
		return 0, fmt.Errorf("postgres: migration %s: %w", mig.name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: migration %s: %w", mig.name, err)
	}
	return mig.v, nil
}

// outside applies the first pending migration, a no-transaction one, under
// the session form of the advisory lock (its statements commit one by one).
func (m migrator) outside(ctx context.Context, conn *pgx.Conn, migs []migration) (v int, err error) {
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, migrateLockKey).Scan(&got); err != nil {
		return 0, fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	if !got {
		return -1, nil // another instance migrates: look again
	}
	defer func() {
		uctx := context.WithoutCancel(ctx)
		_, uerr := conn.Exec(uctx, `SELECT pg_advisory_unlock($1), set_config('lock_timeout', '0', false)`, migrateLockKey)
		if uerr != nil && err == nil {
			err = fmt.Errorf("postgres: migrate: unlock: %w", uerr)
		}
	}()
	mig, err := pending(ctx, conn, migs)
	if err != nil {
		return 0, err
	}
	if mig == nil || !mig.noTx {
		return -1, nil // another instance applied it meanwhile: look again
	}
	if _, err := conn.Exec(ctx, `SELECT set_config('lock_timeout', $1, false)`, lockTimeoutSetting(m.lockTimeout)); err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, stmt := range statements(mig.body) {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return 0, fmt.Errorf("postgres: migration %s: %w", mig.name, err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, mig.v, m.now().UnixMilli()); err != nil {
		return 0, fmt.Errorf("postgres: migration %s: %w", mig.name, err)
	}
	return mig.v, nil
}

// rowQuerier is a transaction or a connection.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// pending is the first migration newer than the database's schema, or nil.
// It refuses a schema newer than this binary knows.
func pending(ctx context.Context, q rowQuerier, migs []migration) (*migration, error) {
	var current int
	if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	latest := 0
	if len(migs) > 0 {
		latest = migs[len(migs)-1].v
	}
	if current > latest {
		return nil, fmt.Errorf("postgres: the database schema is version %d but this faxgate knows only up to %d; upgrade faxgate", current, latest)
	}
	for i := range migs {
		if migs[i].v > current {
			return &migs[i], nil
		}
	}
	return nil, nil
}

// statements splits a no-transaction migration at lines ending in ";",
// leaving out parts that hold only comments.
func statements(body string) []string {
	var out []string
	var cur strings.Builder
	code := false
	for line := range strings.Lines(body) {
		cur.WriteString(line)
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "--") {
			code = true
		}
		if strings.HasSuffix(t, ";") && code {
			out = append(out, cur.String())
			cur.Reset()
			code = false
		}
	}
	if code {
		out = append(out, cur.String())
	}
	return out
}

func lockTimeoutSetting(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10) + "ms"
}

// isLockTimeout reports whether err is PostgreSQL giving up on a lock
// (lock_not_available, which lock_timeout raises).
func isLockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}
