// Package sqlite is faxgate's embedded default store: one SQLite file in WAL
// mode, written by a single writer goroutine that commits many callers'
// operations in one transaction (group commit), each inside its own
// savepoint, and read through a pool of read-only connections.
//
// It imports internal/fax and internal/wire and nothing above them.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tune a Store; the zero value means defaults.
type Options struct {
	// Now is the clock (default time.Now); tests inject one.
	Now func() time.Time
	// Logger receives store diagnostics (default: discard).
	Logger *slog.Logger
	// MaxBatch caps how many write operations share a transaction (default 256).
	MaxBatch int
	// Readers is the size of the read pool (default 4).
	Readers int
	// OnWork is called after a commit that created work: "fax" for faxes to
	// dispatch, "delivery" for webhook deliveries, "inbound" for received
	// documents to fetch. It must not block.
	OnWork func(kind string)
	// DisableAfter disables an endpoint whose deliveries have failed for
	// this long without a success (default 5 days; negative never).
	DisableAfter time.Duration
	// ReleaseLeases ends every claim at start-up. Only a process that owns
	// the database alone may set it (faxgate serve holds a lock on the data
	// directory): the claims of a crashed predecessor then resume at once
	// instead of waiting for their leases to run out.
	ReleaseLeases bool
}

// Store is the SQLite implementation of faxgate's store.
type Store struct {
	path   string
	wdb    *sql.DB
	rdb    *sql.DB
	now    func() time.Time
	log    *slog.Logger
	onWork func(string)
	ids    fax.IDGen

	disableAfter time.Duration

	ops      chan *op
	maxBatch int
	done     chan struct{}
	closeMu  sync.Mutex
	closed   bool
	wg       sync.WaitGroup
}

// wake flags record what work a batch created.
const (
	wakeFax = 1 << iota
	wakeDelivery
	wakeInbound
)

// wtx is a write transaction shared by a batch of operations.
type wtx struct {
	*sql.Tx
	wake int
}

type op struct {
	fn   func(*wtx) error
	done chan error
}

// ErrClosed is returned by writes after Close.
var errClosed = fax.Errorf(fax.ECodeUnavailable, "the store is shutting down")

// Open opens (creating if needed) the database at path and applies migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	s := &Store{path: path, now: opts.Now, log: opts.Logger, onWork: opts.OnWork, maxBatch: opts.MaxBatch}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 256
	}
	s.disableAfter = opts.DisableAfter
	if s.disableAfter == 0 {
		s.disableAfter = 5 * 24 * time.Hour
	}
	readers := opts.Readers
	if readers <= 0 {
		readers = 4
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_txlock=immediate"
	var err error
	s.wdb, err = sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if err := s.wdb.PingContext(ctx); err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.wdb.Close()
		return nil, err
	}
	if opts.ReleaseLeases {
		if _, err := s.wdb.ExecContext(ctx, `UPDATE faxes SET lease_until = 0 WHERE dispatch_state = 'inflight'`); err != nil {
			s.wdb.Close()
			return nil, fmt.Errorf("sqlite: release leases: %w", err)
		}
		if _, err := s.wdb.ExecContext(ctx, `UPDATE inbound_jobs SET lease_until = NULL WHERE status = 'pending' AND lease_until IS NOT NULL`); err != nil {
			s.wdb.Close()
			return nil, fmt.Errorf("sqlite: release leases: %w", err)
		}
		if _, err := s.wdb.ExecContext(ctx, `UPDATE deliveries SET lease_until = NULL WHERE status = 'pending' AND lease_until IS NOT NULL`); err != nil {
			s.wdb.Close()
			return nil, fmt.Errorf("sqlite: release leases: %w", err)
		}
	}
	s.rdb, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	s.rdb.SetMaxOpenConns(readers)
	s.rdb.SetMaxIdleConns(readers)
	s.rdb.SetConnMaxIdleTime(0)
	s.rdb.SetConnMaxLifetime(0)
	s.ops = make(chan *op, 4096)
	s.done = make(chan struct{})
	s.wg.Add(1)
	go s.writer()
	return s, nil
}

// Close stops the writer after the queued writes and closes the database.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.closeMu.Unlock()
	s.wg.Wait()
	err1 := s.rdb.Close()
	err2 := s.wdb.Close()
	return errors.Join(err1, err2)
}

// Ping checks that the database answers; readiness uses it.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// write runs fn in the writer's next transaction and waits for its commit.
// fn runs inside a savepoint: its error rolls back only its own changes.
// Once queued, write waits for the outcome even if ctx ends, so a caller
// never mistakes a committed change for a failed one.
func (s *Store) write(ctx context.Context, fn func(*wtx) error) error {
	o := &op{fn: fn, done: make(chan error, 1)}
	select {
	case <-s.done:
		return errClosed
	default:
	}
	select {
	case s.ops <- o:
	case <-s.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-o.done
}

func (s *Store) writer() {
	defer s.wg.Done()
	batch := make([]*op, 0, s.maxBatch)
	for {
		var first *op
		select {
		case first = <-s.ops:
		case <-s.done:
			// Drain what was queued before Close.
			for {
				select {
				case o := <-s.ops:
					s.commit([]*op{o})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []*op) {
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, o := range batch {
			o.done <- err
		}
	}
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	w := &wtx{Tx: tx}
	for i, o := range batch {
		if len(batch) == 1 {
			errs[i] = runOp(o, w)
			if errs[i] != nil {
				tx.Rollback()
				o.done <- errs[i]
				return
			}
			continue
		}
		if _, err := tx.Exec("SAVEPOINT op"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		errs[i] = runOp(o, w)
		if errs[i] != nil {
			if _, err := tx.Exec("ROLLBACK TO op"); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.Exec("RELEASE op"); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("sqlite: release savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	for i, o := range batch {
		o.done <- errs[i]
	}
	if s.onWork != nil {
		if w.wake&wakeFax != 0 {
			s.onWork("fax")
		}
		if w.wake&wakeDelivery != 0 {
			s.onWork("delivery")
		}
		if w.wake&wakeInbound != 0 {
			s.onWork("inbound")
		}
	}
}

// runOp runs one operation, turning a panic into an error so that one bad
// operation cannot take the writer down with the batch.
func runOp(o *op, w *wtx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: write operation panicked: %v", r)
		}
	}()
	return o.fn(w)
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	type mig struct {
		v    int
		name string
	}
	var migs []mig
	for _, e := range entries {
		n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlite: migration %s has no number", e.Name())
		}
		migs = append(migs, mig{n, e.Name()})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].v < migs[j].v })
	var current int
	if err := s.wdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	latest := 0
	if len(migs) > 0 {
		latest = migs[len(migs)-1].v
	}
	if current > latest {
		return fmt.Errorf("sqlite: the database schema is version %d but this faxgate knows only up to %d; upgrade faxgate", current, latest)
	}
	for _, m := range migs {
		if m.v <= current {
			continue
		}
		body, err := fs.ReadFile(migrationFS, "migrations/"+m.name)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.v, s.now().UnixMilli()); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
		}
		s.log.Info("applied migration", "version", m.v)
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}
