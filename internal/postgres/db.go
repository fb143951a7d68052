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
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options tune a Store; the zero value means defaults. The pool itself is
// tuned through the URL (pool_max_conns, pool_min_conns, … as pgxpool reads
// them; default max(4, number of CPUs) connections).
type Options struct {
	// DirectURL is where the connections that keep session state go: the
	// LISTEN connection, leader locks and migrations (default: the pool's
	// URL). Behind PgBouncer in transaction mode it names the server
	// itself, since those sessions must stay on one server connection.
	DirectURL string
	// Migrations replaces the embedded migrations (files NNNN_name.sql at
	// its root); tests inject pending ones. Nil: the embedded set.
	Migrations fs.FS
	// MigrateLockTimeout bounds how long a migration's statement waits for
	// a table lock before it gives up, lets the running instances' queries
	// queued behind it through, and tries again (default 2s).
	MigrateLockTimeout time.Duration
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
	direct *pgx.ConnConfig // for sessions outside the pool (Options.DirectURL)
	now    func() time.Time
	log    *slog.Logger
	onWork func(string)
	notes  *notifier
	ids    fax.IDGen
	// applier batches carrier updates about outbound faxes.
	applier *applier

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
	s.direct = cfg.ConnConfig.Copy()
	if opts.DirectURL != "" {
		dc, err := pgx.ParseConfig(opts.DirectURL)
		if err != nil {
			return nil, fmt.Errorf("postgres: direct database URL: %w", err)
		}
		if dc.RuntimeParams["application_name"] == "" {
			dc.RuntimeParams["application_name"] = "faxgate"
		}
		s.direct = dc
	}
	s.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	m := migrator{fsys: opts.Migrations, log: s.log, now: s.now, lockTimeout: opts.MigrateLockTimeout}
	if err := m.run(ctx, s.direct); err != nil {
		s.pool.Close()
		return nil, err
	}
	if s.onWork != nil {
		if err := s.startListener(ctx); err != nil {
			s.pool.Close()
			return nil, err
		}
	}
	s.applier = newApplier(s)
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
	return migrator{log: slog.New(slog.DiscardHandler), now: time.Now}.run(ctx, cfg.ConnConfig)
}

// Close stops the listener, ends every lead this Store holds and closes the
// pool, waiting for calls in progress to return their connections.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		// Updates already queued are answered (errClosed) before the
		// pool closes.
		s.applier.stop()
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
