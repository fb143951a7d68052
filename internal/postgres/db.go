// Package postgres is faxgate's PostgreSQL store, for running several
// faxgate instances on one database. It owns the PostgreSQL schema (embedded
// numbered migrations), the store methods with exactly the behaviour of the
// SQLite store (both pass internal/storetest), the cross-instance wake-ups
// (LISTEN/NOTIFY on the faxgate_work channel) and leader election for
// periodic jobs (session advisory locks, see TryLead).
//
// There is no single writer: concurrency, within an instance and between
// instances, is PostgreSQL's. Claims take rows with SELECT … FOR UPDATE SKIP
// LOCKED; carrier updates lock the fax's row; carrier events are
// deduplicated by their primary key and idempotency keys by a unique index;
// changes to an endpoint and its deliveries lock the endpoint first. A
// state change commits with its events, deliveries and NOTIFY in one
// transaction, sent as few pgx batches (usually two round trips), and a
// transaction PostgreSQL aborts for a deadlock or a serialization failure is
// run again.
//
// It imports internal/fax, internal/workflow (the rules it saves the outcome
// of) and pgx, and nothing above them.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tune a Store; the zero value means defaults. The pool itself is
// tuned through the URL (pool_max_conns, pool_min_conns, … as pgxpool reads
// them; default max(4, number of CPUs) connections).
type Options struct {
	// Now is the clock (default time.Now); tests inject one.
	Now func() time.Time
	// Logger receives store diagnostics (default: discard).
	Logger *slog.Logger
	// OnWork is called when any instance commits work: "fax" for faxes to
	// dispatch, "delivery" for webhook deliveries, "inbound" for received
	// documents to fetch; "endpoint" when a webhook endpoint was disabled or
	// deleted. It is called from the listener goroutine (which
	// holds its own connection), and for this Store's own work also right
	// after the commit on the committing goroutine; it must not block. Nil:
	// no listener.
	OnWork func(kind string)
	// DisableAfter disables an endpoint whose deliveries have failed for
	// this long without a success (default 5 days; negative never).
	DisableAfter time.Duration
	// Redial says when a busy line is dialed again (interval default 5m);
	// how many times is each fax's MaxAttempts.
	Redial fax.RedialPolicy
}

// Store is the PostgreSQL implementation of faxgate's store. Several Stores,
// in one process or many, may share a database.
type Store struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	log    *slog.Logger
	onWork func(string)
	notes  *notifier
	ids    fax.IDGen

	disableAfter time.Duration
	redial       fax.RedialPolicy

	closed     atomic.Bool
	closeOnce  sync.Once
	stopListen context.CancelFunc
	wg         sync.WaitGroup

	leadMu sync.Mutex
	leads  map[*lead]struct{}
}

// errClosed is returned by writes after Close.
var errClosed = fax.Errorf(fax.ECodeUnavailable, "the store is shutting down")

// Open connects to the database at url (postgres://…), applies pending
// migrations and, when opts.OnWork is set, starts listening for work. It
// refuses a database whose schema is newer than this binary knows.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	s := &Store{now: opts.Now, log: opts.Logger, onWork: opts.OnWork, leads: map[*lead]struct{}{}}
	s.notes = newNotifier(s.sendNotify)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.disableAfter, s.redial = opts.DisableAfter, opts.Redial
	if s.disableAfter == 0 {
		s.disableAfter = 5 * 24 * time.Hour
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: database URL: %w", err)
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "faxgate"
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := migrate(ctx, s.pool, s.log, s.now); err != nil {
		s.pool.Close()
		return nil, err
	}
	if s.onWork != nil {
		if err := s.startListener(ctx); err != nil {
			s.pool.Close()
			return nil, err
		}
	}
	return s, nil
}

// Migrate applies pending migrations to the database at url and returns;
// `faxgate migrate` uses it to upgrade the schema ahead of a deployment.
func Migrate(ctx context.Context, url string) error {
	// The URL is the one Open takes, pool settings included.
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("postgres: database URL: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return migrate(ctx, conn, slog.New(slog.DiscardHandler), time.Now)
}

// Close stops the listener, ends every lead this Store holds and closes the
// pool, waiting for calls in progress to return their connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.notes.close()
		if s.stopListen != nil {
			s.stopListen()
		}
		s.wg.Wait()
		s.leadMu.Lock()
		leads := make([]*lead, 0, len(s.leads))
		for l := range s.leads {
			leads = append(leads, l)
		}
		s.leadMu.Unlock()
		for _, l := range leads {
			l.release()
		}
		s.pool.Close()
	})
	return nil
}

// Ping checks that the database answers; readiness uses it.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// migrateLockKey is the pg_advisory_xact_lock key that serialises
// migrations of instances starting together. It lies outside the int4 range
// of hashtext, so no TryLead name can collide with it.
const migrateLockKey int64 = 0x6661786761746500 // "faxgate\x00"

type migration struct {
	v    int
	name string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	var migs []migration
	for _, e := range entries {
		n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s has no number", e.Name())
		}
		migs = append(migs, migration{n, e.Name()})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].v < migs[j].v })
	return migs, nil
}

// beginner is a pool or a single connection.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// migrate applies pending migrations one transaction each. Every
// transaction first takes an advisory transaction lock and re-reads the
// schema version, so instances starting at once apply each migration once.
func migrate(ctx context.Context, db beginner, log *slog.Logger, now func() time.Time) error {
	migs, err := migrations()
	if err != nil {
		return err
	}
	for {
		applied, err := migrateNext(ctx, db, migs, now)
		if err != nil {
			return err
		}
		if applied == 0 {
			return nil
		}
		log.Info("applied migration", "version", applied)
	}
}

// migrateNext applies the first pending migration and returns its version,
// or 0 when the schema is current.
func migrateNext(ctx context.Context, db beginner, migs []migration, now func() time.Time) (int, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
		return 0, fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	latest := 0
	if len(migs) > 0 {
		latest = migs[len(migs)-1].v
	}
	if current > latest {
		return 0, fmt.Errorf("postgres: the database schema is version %d but this faxgate knows only up to %d; upgrade faxgate", current, latest)
	}
	for _, m := range migs {
		if m.v <= current {
			continue
		}
		body, err := fs.ReadFile(migrationFS, "migrations/"+m.name)
		if err != nil {
			return 0, fmt.Errorf("postgres: migrate: %w", err)
		}
		// Without arguments pgx uses the simple protocol, which runs a
		// file of several statements.
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return 0, fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.v, now().UnixMilli()); err != nil {
			return 0, fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return 0, fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		return m.v, nil
	}
	return 0, tx.Commit(ctx)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func msPtr(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMilli()
	return &v
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v *int64) *time.Time {
	if v == nil {
		return nil
	}
	t := fromMS(*v)
	return &t
}
