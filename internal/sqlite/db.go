// Package sqlite is faxgate's embedded default store: one SQLite file in WAL
// mode, written by a single writer goroutine that commits many callers'
// operations in one transaction (group commit), each inside its own
// savepoint, and read through a pool of read-only connections.
//
// It imports internal/fax and internal/workflow (the rules it saves the
// outcome of) and nothing above them.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// documents to fetch; and "endpoint" after a commit that disabled or
	// deleted a webhook endpoint, before its callers hear of the commit. It
	// must not block.
	OnWork func(kind string)
	// DisableAfter disables an endpoint whose deliveries have failed for
	// this long without a success (default 5 days; negative never).
	DisableAfter time.Duration
	// Redial says when a busy line is dialed again (interval default 5m);
	// how many times is each fax's MaxAttempts.
	Redial fax.RedialPolicy
	// ReleaseLeases ends claims at start-up (but not of fax sends that may
	// be on the wire: they wait out their leases). Only a process that owns
	// the database alone may set it (faxgate serve holds a lock on the data
	// directory): the claims of a crashed predecessor then resume at once
	// instead of waiting for their leases to run out.
	ReleaseLeases bool
}

// Store is the SQLite implementation of faxgate's store.
type Store struct {
	path string
	wdb  *sql.DB
	wc   *writeConn // the writer goroutine's connection
	rdb  *sql.DB
	// faxes remembers faxes the writer updated, for planning the next
	// update (see applyplan.go).
	faxes  faxCache
	now    func() time.Time
	log    *slog.Logger
	onWork func(string)
	ids    fax.IDGen

	disableAfter time.Duration
	redial       fax.RedialPolicy

	// routes caches the routable global endpoints between transactions
	// (see endpointcache.go); only the writer goroutine touches it.
	routes endpointCache

	ops      chan *op
	maxBatch int
	// turn is the writer's turn: the connection, passed between the two
	// writer goroutines (see writer).
	turn chan struct{}
	// syncSlot is held from a batch's COMMIT until its fsync is done and
	// its callers answered: one batch at a time waits for the disk.
	syncSlot chan struct{}
	wal      *os.File
	// syncErr, once an fsync of the WAL failed, fails every later write:
	// what the kernel holds of the file can no longer be trusted to reach
	// the disk.
	syncErr atomic.Pointer[error]
	done    chan struct{}
	closeMu sync.Mutex
	closed  bool
	wg      sync.WaitGroup
}

// wake flags record what work a batch created.
const (
	wakeFax = 1 << iota
	wakeDelivery
	wakeInbound
	wakeEndpoint // an endpoint was disabled or deleted
)

// wtx is a write transaction shared by a batch of operations. Its Exec,
// Query and QueryRow run prepared statements cached on the writer's
// connection (see writeconn.go).
type wtx struct {
	c    *writeConn
	wake int
	// endpointsChanged is set by a store method that wrote endpoints
	// routing reads (see endpointsWritten): routing then reads the table,
	// not the cache.
	endpointsChanged bool
}

// endpointsWritten says that the transaction changed which endpoints events
// are routed to. Every store method that writes the endpoints table, other
// than the health columns (failing_since, last_success_at) routing never
// reads, calls it, whatever its SQL looks like: a CTE, a trigger or a
// RETURNING clause is no reason for a stale route.
func (tx *wtx) endpointsWritten() { tx.endpointsChanged = true }

type op struct {
	fn   func(*wtx) error
	done chan error
	// noUndo: fn fails only before its first write, or because the
	// database failed, so it runs without a savepoint (which costs a copy
	// of every page it touches); if it fails anyway, the whole batch is
	// rolled back.
	noUndo bool
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
	s.disableAfter, s.redial = opts.DisableAfter, opts.Redial
	if s.disableAfter == 0 {
		s.disableAfter = 5 * 24 * time.Hour
	}
	readers := opts.Readers
	if readers <= 0 {
		readers = 4
	}
	// Durability: a commit is on disk before any caller hears of it. The
	// store fsyncs the WAL itself after each commit (see writer and sync),
	// which is what synchronous=FULL would do inside COMMIT, so that the
	// fsync of one batch overlaps the running of the next;
	// synchronous=NORMAL keeps SQLite's own syncs of the WAL header and
	// around checkpoints.
	// temp_store=MEMORY keeps the savepoints' statement journals, which only
	// ever roll back within a transaction and play no part in recovery, off
	// the disk.
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)" +
		"&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(8000)&_txlock=immediate"
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
		// A fax whose send may be on the wire (the carrier finishing a
		// request the dead process made) keeps its lease and waits it out.
		if _, err := s.wdb.ExecContext(ctx, `UPDATE faxes SET lease_until = 0 WHERE dispatch_state = 'inflight' AND on_wire = 0`); err != nil {
			s.wdb.Close()
			return nil, fmt.Errorf("sqlite: release leases: %w", err)
		}
		if _, err := s.wdb.ExecContext(ctx, `UPDATE inbound_jobs SET lease_until = NULL WHERE status = 'pending' AND lease_until IS NOT NULL`); err != nil {
			s.wdb.Close()
			return nil, fmt.Errorf("sqlite: release leases: %w", err)
		}
		// Webhook deliveries keep their leases: one claimed before a crash
		// may be on the wire with its receiver still at work on it, and is
		// sent again only once its lease runs out (at least once, never
		// twice at once).
	}
	if s.wc, err = newWriteConn(ctx, s.wdb); err != nil {
		s.wdb.Close()
		return nil, err
	}
	// The WAL exists once the database is open in WAL mode; sync what
	// the migrations and lease releases wrote.
	if s.wal, err = os.OpenFile(path+"-wal", os.O_RDWR, 0); err == nil {
		err = syncData(s.wal)
	}
	if err != nil {
		s.wc.close()
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: open the write-ahead log: %w", err)
	}
	s.rdb, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		s.wal.Close()
		s.wc.close()
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	s.rdb.SetMaxOpenConns(readers)
	s.rdb.SetMaxIdleConns(readers)
	s.rdb.SetConnMaxIdleTime(0)
	s.rdb.SetConnMaxLifetime(0)
	s.ops = make(chan *op, 4096)
	s.done = make(chan struct{})
	s.turn = make(chan struct{}, 1)
	s.turn <- struct{}{}
	s.syncSlot = make(chan struct{}, 1)
	s.wg.Add(2)
	go s.writer()
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
	err2 := s.wc.close()
	err3 := s.wdb.Close()
	err4 := s.wal.Close()
	return errors.Join(err1, err2, err3, err4)
}

// Ping checks that the database answers; readiness uses it.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	// After a failed fsync no write is trusted again (see sync): the
	// store is not ready until a restart.
	if p := s.syncErr.Load(); p != nil {
		return *p
	}
	return nil
}

// write runs fn in the writer's next transaction and waits for its commit.
// fn runs inside a savepoint: its error rolls back only its own changes.
// Once queued, write waits for the outcome even if ctx ends, so a caller
// never mistakes a committed change for a failed one.
func (s *Store) write(ctx context.Context, fn func(*wtx) error) error {
	return s.queue(ctx, &op{fn: fn, done: make(chan error, 1)})
}

// writeNoUndo is write for an operation that returns an error only before
// it wrote anything, or when the database itself fails: it runs without a
// savepoint, and its error rolls back the whole transaction, failing the
// other operations of the batch with it.
func (s *Store) writeNoUndo(ctx context.Context, fn func(*wtx) error) error {
	return s.queue(ctx, &op{fn: fn, done: make(chan error, 1), noUndo: true})
}

func (s *Store) queue(ctx context.Context, o *op) error {
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
	return resourceError(<-o.done)
}

// writer runs batches of operations, one transaction each, and is run by
// two goroutines that take turns with the connection. The one whose batch
// just committed hands the turn over and goes straight on to fsync the WAL
// and answer the batch's callers, while the other takes in the next
// batch. So the fsync that every caller waits for starts the moment
// COMMIT returns: handing the batch to another goroutine instead would
// have it wait for the scheduler (on two busy CPUs, 180 µs on average,
// 600 µs at p90), whereas the goroutine taking the next turn has a whole
// fsync's time to be scheduled before it is needed.
func (s *Store) writer() {
	defer s.wg.Done()
	batch := make([]*op, 0, s.maxBatch)
	for {
		<-s.turn
		var first *op
		select {
		case first = <-s.ops:
		case <-s.done:
			// Drain what was queued before Close, then let the other
			// goroutine see done too.
			for {
				select {
				case o := <-s.ops:
					if c := s.commit([]*op{o}); c != nil {
						s.sync(c)
					}
				default:
					s.turn <- struct{}{}
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
		c := s.commit(batch)
		s.turn <- struct{}{}
		if c != nil {
			s.sync(c)
		}
	}
}

// committed is a batch whose transaction committed, waiting for the WAL
// to reach the disk before its callers are answered.
type committed struct {
	ops  []*op
	errs []error
	wake int
}

// sync answers a committed batch once the WAL holding it is on disk, and
// then announces the work it created. Its writer took syncSlot before
// COMMIT; sync gives it back once the callers are answered.
func (s *Store) sync(c *committed) {
	var err error
	if p := s.syncErr.Load(); p != nil {
		err = *p
	} else if err = syncData(s.wal); err != nil {
		err = unavailable(fmt.Errorf("sqlite: fsync the write-ahead log: %w", err))
		s.syncErr.Store(&err)
		s.log.Error("sqlite: fsync failed; every later write will fail", "err", err)
	}
	// The webhook worker hears of a removed endpoint before the caller
	// that removed it, so that nothing is sent to it once the API answers.
	if err == nil && s.onWork != nil && c.wake&wakeEndpoint != 0 {
		s.onWork("endpoint")
	}
	for i, o := range c.ops {
		if err != nil {
			o.done <- err
		} else {
			o.done <- c.errs[i]
		}
	}
	<-s.syncSlot
	if err == nil && s.onWork != nil {
		if c.wake&wakeFax != 0 {
			s.onWork("fax")
		}
		if c.wake&wakeDelivery != 0 {
			s.onWork("delivery")
		}
		if c.wake&wakeInbound != 0 {
			s.onWork("inbound")
		}
	}
}

// commit runs a batch of operations in one transaction, each in a
// savepoint so that its error undoes only its own changes. While the
// previous batch still waits for its fsync, the transaction stays open and
// takes in more operations as they arrive: under load a batch grows to
// what arrives during one fsync, so commits, their WAL frames and fsyncs
// are shared by many operations, and the writer never waits idle. Once
// syncSlot is free the transaction commits, and commit returns the batch
// for sync to answer after its fsync. A transaction in which every
// operation failed is rolled back and answered once syncSlot is free, that
// is once every earlier commit is on disk, since its answers may rest on
// them; one that fails as a whole (the database failing) is rolled back
// and answered with the error at once. Either way commit then returns nil.
func (s *Store) commit(first []*op) *committed {
	c := s.wc
	batch := slices.Clone(first)
	errs := make([]error, 0, len(batch))
	fail := func(err error) {
		for _, o := range batch {
			o.done <- err
		}
	}
	if p := s.syncErr.Load(); p != nil {
		fail(*p)
		return nil
	}
	if _, err := c.exec("BEGIN IMMEDIATE"); err != nil {
		fail(fmt.Errorf("sqlite: begin: %w", err))
		return nil
	}
	w := &wtx{c: c}
	abort := func(err error) {
		c.exec("ROLLBACK")
		s.routes.endTx(w)
		fail(err)
	}
	if err := s.routes.beginTx(c); err != nil {
		abort(err)
		return nil
	}
	ok := 0
	run := func(o *op) error {
		if o.noUndo {
			if err := runOp(o, w); err != nil {
				return err
			}
			ok++
			errs = append(errs, nil)
			return nil
		}
		if _, err := c.exec("SAVEPOINT op"); err != nil {
			return fmt.Errorf("sqlite: savepoint: %w", err)
		}
		err := runOp(o, w)
		if err != nil {
			if _, rerr := c.exec("ROLLBACK TO op"); rerr != nil {
				return fmt.Errorf("sqlite: rollback to savepoint: %w", rerr)
			}
		} else {
			ok++
		}
		errs = append(errs, err)
		if _, err := c.exec("RELEASE op"); err != nil {
			return fmt.Errorf("sqlite: release savepoint: %w", err)
		}
		return nil
	}
	for _, o := range first {
		if err := run(o); err != nil {
			abort(err)
			return nil
		}
	}
	// Take in more until the previous batch is on disk (or this one full).
wait:
	for len(batch) < s.maxBatch {
		select {
		case s.syncSlot <- struct{}{}:
			break wait
		case o := <-s.ops:
			batch = append(batch, o)
			if err := run(o); err != nil {
				abort(err)
				return nil
			}
		}
	}
	if len(batch) >= s.maxBatch {
		s.syncSlot <- struct{}{}
	}
	if ok == 0 {
		c.exec("ROLLBACK")
		<-s.syncSlot
		s.routes.endTx(w)
		for i, o := range batch {
			o.done <- errs[i]
		}
		return nil
	}
	if _, err := c.exec("COMMIT"); err != nil {
		<-s.syncSlot
		abort(fmt.Errorf("sqlite: commit: %w", err))
		return nil
	}
	s.routes.endTx(w)
	return &committed{ops: batch, errs: errs, wake: w.wake}
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
