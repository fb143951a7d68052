// Package bench is the load generator behind `faxgate bench`: it runs a
// whole gateway in this process (or, for the soak, `faxgate serve` as a
// child), drives it with signed carrier callbacks over a raw HTTP client,
// receives its webhooks on a raw HTTP receiver that verifies each one, and
// reports throughput, latency and memory. It builds gateways only through
// the OpenFunc cmd/faxgate gives it, so it must not import cmd/faxgate, and
// nothing but cmd/faxgate may import it.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/phaxio"
	"github.com/faxgate/faxgate/internal/webhook"
)

// options are the bench command's flags.
type options struct {
	clients     int
	pages       int
	ingest      int
	drain       int
	e2eRate     float64
	e2eDuration time.Duration
	databaseURL string
	dir         string
	jsonFile    string
	cpuProfile  string
	memProfile  string
	check       bool

	// compare runs the scenarios on SQLite and on the PostgreSQL server of
	// databaseURL, rounds times each, alternating (compare.go).
	compare bool
	rounds  int

	// instances, when set, runs that many `faxgate serve` children on one
	// PostgreSQL database instead (instances.go), with sends faxes sent
	// through the API besides the callbacks.
	instances int
	sends     int

	// soak, when set, runs the soak instead of the scenarios (soak.go).
	soak       time.Duration
	soakRate   float64
	soakSample time.Duration
}

// The budget faxgate is held to on a 2-core machine (BENCHMARKS.md).
const (
	budgetIngestRate = 10000
	budgetIngestP99  = 20 * time.Millisecond
	budgetDrainRate  = 10000
	budgetE2ERate    = 5000
	// defaultE2ERate is what the end-to-end scenario offers by default: a
	// little above the budget, since the sustained rate is measured (over
	// the sending window, ±0.5%) and must itself reach the budget.
	defaultE2ERate = budgetE2ERate * 1.05
	budgetE2EP99   = 50 * time.Millisecond
	budgetIdleRSS  = 25 << 20
	budgetPeakRSS  = 150 << 20
	budgetReady    = 200 * time.Millisecond
)

// Gateway is a whole gateway opened in this process but not serving yet;
// cmd/faxgate's Main is one. The bench stops and starts its webhook
// deliveries to build backlogs.
type Gateway interface {
	// URL is where the gateway listens.
	URL() string
	// Run serves until ctx ends, then shuts down.
	Run(ctx context.Context) error
	// Close releases a gateway that never ran.
	Close() error
	StopDeliveries() error
	StartDeliveries()
}

// Store is what the bench writes before a gateway serves: the faxes the
// callbacks are about and the receiver's endpoint.
type Store interface {
	CreateFax(ctx context.Context, f *fax.Fax, opts fax.CreateOptions) (*fax.Fax, bool, error)
	MarkHanded(ctx context.Context, id, providerFaxID string, checkAt time.Time) error
	CreateEndpoint(ctx context.Context, e *fax.Endpoint) (*fax.Endpoint, error)
}

// OpenFunc opens a gateway on cfg, logging to log, and returns it with its
// store.
type OpenFunc func(ctx context.Context, cfg config.Config, log io.Writer) (Gateway, Store, error)

// UsageError is a mistake in the command line.
type UsageError string

func (e UsageError) Error() string { return string(e) }

// Command runs `faxgate bench` with args: the scenarios, or with --soak the
// soak, on gateways open builds.
func Command(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, open OpenFunc) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	help := `faxgate bench [flags]: run a whole gateway in this process on a temporary data directory,
with Phaxio as the carrier and a loopback webhook receiver that verifies every signature, and measure:
  ceiling     a plain net/http handler (read the body, answer 200) driven by the same clients and bodies
  ingest      signed Phaxio callbacks for existing faxes, acknowledged after their commit
  drain       a backlog of pending webhook deliveries, delivered
  end to end  callback in → verified webhook out, at a set rate
  memory      resident set idle after start and peak under load; start to ready on an existing database
The gateway's log goes to gateway.log in the data directory.
With --compare it runs the scenarios on SQLite and on PostgreSQL in turn and prints the ratios;
with --instances N it runs N faxgate serve processes on one PostgreSQL database and spreads the load over them.`
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nFlags:\n", help)
		fs.PrintDefaults()
	}
	var o options
	fs.IntVar(&o.clients, "clients", 32, "concurrent clients sending carrier callbacks (each one keep-alive connection)")
	fs.IntVar(&o.ingest, "ingest", 60000, "carrier callbacks sent in the ingest scenario and to the ceiling")
	fs.IntVar(&o.drain, "drain", 20000, "pending webhook deliveries in the drain scenario's backlog")
	fs.Float64Var(&o.e2eRate, "e2e-rate", defaultE2ERate, "carrier callbacks a second offered in the end-to-end scenario (5% above the budget's 5000, so that a run that keeps up shows a sustained rate above it)")
	fs.DurationVar(&o.e2eDuration, "e2e-duration", 10*time.Second, "how long the end-to-end scenario sends")
	fs.IntVar(&o.pages, "pages", 9, "pages per fax: each fax gets this many transmitting_page callbacks, then fax_completed")
	fs.StringVar(&o.databaseURL, "database-url", "", "a postgres:// URL to measure PostgreSQL (default: SQLite in the data directory)")
	fs.StringVar(&o.dir, "dir", "", "data directory, which must not exist yet or be empty (default: a temporary one, removed afterwards)")
	fs.StringVar(&o.jsonFile, "json", "", "also write the results as JSON to `FILE`")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each scenario to `FILE` with the scenario's name inserted: cpu.pprof gives cpu-ingest.pprof, …")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile taken after the scenarios to `FILE`")
	fs.BoolVar(&o.check, "check", false, "also exit non-zero when a figure misses its budget (with --compare: when a ratio misses)")
	fs.BoolVar(&o.compare, "compare", false, "run the scenarios on SQLite and on PostgreSQL (--database-url, in a new database per run, dropped afterwards) alternating, and print the ratios PostgreSQL / SQLite against their budget")
	fs.IntVar(&o.instances, "instances", 0, "run this many `faxgate serve` processes on the PostgreSQL database of --database-url, each on its own loopback port, spread the load over them and check that no work is claimed twice")
	fs.IntVar(&o.sends, "sends", 2000, "with --instances, faxes sent through the API (POST /v1/faxes) to the fake carrier")
	fs.IntVar(&o.rounds, "rounds", 1, "with --compare, runs on each store; each store's figure is its median round")
	fs.DurationVar(&o.soak, "soak", 0, "instead of the scenarios, run `faxgate serve` as a child process and send it callbacks at --soak-rate for this long, sampling its resident set")
	fs.Float64Var(&o.soakRate, "soak-rate", 1000, "carrier callbacks a second offered during --soak")
	fs.DurationVar(&o.soakSample, "soak-sample", 30*time.Second, "how often --soak samples the child's memory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return UsageError("bench takes no arguments")
	case o.clients < 1 || o.clients > 4096:
		return UsageError("--clients must be from 1 to 4096")
	case o.pages < 1 || o.pages > 1000:
		return UsageError("--pages must be from 1 to 1000")
	case o.ingest < 1 || o.drain < 1:
		return UsageError("--ingest and --drain must be positive")
	case o.e2eRate <= 0 || o.e2eDuration <= 0:
		return UsageError("--e2e-rate and --e2e-duration must be positive")
	case o.soak < 0 || o.soakRate <= 0 || o.soakSample <= 0:
		return UsageError("--soak must not be negative, --soak-rate and --soak-sample must be positive")
	case o.compare && o.databaseURL == "":
		return UsageError("--compare needs --database-url (a postgres:// URL whose user may create databases)")
	case o.compare && o.soak > 0:
		return UsageError("--compare and --soak do not go together")
	case o.rounds < 1 || o.rounds > 100:
		return UsageError("--rounds must be from 1 to 100")
	case o.instances < 0 || o.instances > 64:
		return UsageError("--instances must be from 1 to 64")
	case o.instances > 0 && o.databaseURL == "":
		return UsageError("--instances needs --database-url: several processes share one PostgreSQL database")
	case o.instances > 0 && (o.compare || o.soak > 0):
		return UsageError("--instances goes with neither --compare nor --soak")
	case o.sends < 1:
		return UsageError("--sends must be positive")
	}

	b := &bench{o: o, getenv: getenv, progress: stderr, open: open}
	if o.soak > 0 {
		return b.runSoak(ctx, stdout)
	}
	if o.compare {
		return b.compareCommand(ctx, stdout)
	}
	if o.instances > 0 {
		return b.runInstances(ctx, stdout)
	}
	res, err := b.run(ctx)
	if res != nil {
		res.print(stdout)
		if o.jsonFile != "" {
			j, _ := json.MarshalIndent(res, "", "  ")
			if werr := os.WriteFile(o.jsonFile, append(j, '\n'), 0o644); werr != nil {
				err = errors.Join(err, fmt.Errorf("bench: --json: %w", werr))
			}
		}
	}
	if err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("bench: %d problems:\n  %s", len(res.Errors), strings.Join(res.Errors, "\n  "))
	}
	if o.check {
		if missed := res.missed(); len(missed) > 0 {
			return fmt.Errorf("bench: over budget: %s", strings.Join(missed, "; "))
		}
	}
	return nil
}

// bench is one run of the bench command.
type bench struct {
	o        options
	getenv   func(string) string
	progress io.Writer
	open     OpenFunc

	dir     string
	env     map[string]string // the gateway's settings, for a child process
	cfg     config.Config
	logFile *os.File
	token   string
	recv    *benchReceiver
	carrier *fakeCarrier
}

func (b *bench) say(format string, args ...any) {
	fmt.Fprintf(b.progress, "bench: "+format+"\n", args...)
}

func (b *bench) run(ctx context.Context) (*Results, error) {
	o := b.o
	res := newResults(o)

	cleanup, err := b.prepare()
	if err != nil {
		return nil, err
	}
	defer cleanup()

	// 1. A gateway on a new database, to see what it takes at rest.
	b.say("starting a gateway on a new database in %s", b.dir)
	g, err := b.start(ctx, nil)
	if err != nil {
		return nil, err
	}
	res.StartNewMS = ms(g.ready)
	time.Sleep(500 * time.Millisecond)
	idle, _ := memStatus()
	res.Memory.IdleRSSMB = mb(idle)
	if err := g.stop(); err != nil {
		return nil, err
	}

	// The receiver and the ceiling start after the gateway's resident set
	// at rest was read: they are the bench's, not the gateway's.
	secret := webhook.NewSecret()
	if b.recv, err = newBenchReceiver(secret); err != nil {
		return nil, fmt.Errorf("bench: receiver: %w", err)
	}
	defer b.recv.close()
	ceiling, ceilingURL, err := ceilingServer()
	if err != nil {
		return nil, fmt.Errorf("bench: ceiling: %w", err)
	}
	defer ceiling.Close()

	// 2. The faxes the callbacks are about, handed to "Phaxio", and the
	// receiver's endpoint, which wants every event including pages.
	e2eN := int(o.e2eRate * o.e2eDuration.Seconds())
	perFax := o.pages + 1
	nFax := ceilDiv(o.ingest, perFax) + ceilDiv(o.drain, o.pages+2) + ceilDiv(e2eN, perFax)
	var faxes []benchFax
	b.say("creating %d faxes (%d pages each) and the webhook endpoint", nFax, o.pages)
	g, err = b.start(ctx, func(st Store) error {
		var err error
		faxes, err = b.setup(ctx, st, nFax, secret)
		return err
	})
	if err != nil {
		return nil, err
	}
	defer g.stop()
	ingestPlan := newBenchPlan("ingest", faxes, o.pages, o.ingest)
	faxes = faxes[len(ingestPlan.faxes):]
	drainPlan := newBenchPlan("drain", faxes, o.pages, callbacksFor(o.drain, o.pages))
	faxes = faxes[len(drainPlan.faxes):]
	e2ePlan := newBenchPlan("end to end", faxes, o.pages, e2eN)
	b.say("signing %d callbacks", ingestPlan.n+drainPlan.n+e2ePlan.n)
	for _, p := range []*benchPlan{ingestPlan, drainPlan, e2ePlan} {
		p.sign(b.token, b.cfg.PublicURL)
	}

	load := newLoader(o.clients)
	sampler := startMemSampler()
	defer sampler.close()
	// measure starts a scenario's CPU accounting (and profile, with
	// --cpuprofile); its stop returns the CPU time the process used.
	measure := func(name string) (stop func() time.Duration) {
		t0 := cpuTime()
		if o.cpuProfile == "" {
			return func() time.Duration { return cpuTime() - t0 }
		}
		ext := filepath.Ext(o.cpuProfile)
		f, err := os.Create(strings.TrimSuffix(o.cpuProfile, ext) + "-" + name + ext)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			b.say("--cpuprofile: %v", err)
			return func() time.Duration { return cpuTime() - t0 }
		}
		return func() time.Duration {
			pprof.StopCPUProfile()
			f.Close()
			return cpuTime() - t0
		}
	}
	timeout := func(n int) time.Duration { return 30*time.Second + time.Duration(n)*time.Millisecond }
	var lr loadResult

	// 3. The ceiling: the same clients and bodies against a plain handler.
	b.say("ceiling: %d callbacks to a plain net/http handler, %d clients", ingestPlan.n, o.clients)
	stop := measure("ceiling")
	lr = load.run(ctx, ceilingURL, ingestPlan, 0, time.Now(), nil)
	res.Ceiling = loadFigure("ceiling (net/http)", lr)
	res.Ceiling.setCPU(stop())
	res.addErrors("ceiling", lr)

	// 4. Ingest, with the webhook worker stopped: every callback pays for
	// its whole transaction (the event and its delivery written) without
	// deliveries competing for the CPU. Then the worker delivers what
	// ingest caused.
	if err := g.stopWorker(); err != nil {
		return nil, fmt.Errorf("bench: stopping the webhook worker: %w", err)
	}
	b.say("ingest: %d callbacks, %d clients", ingestPlan.n, o.clients)
	base := b.recv.verified.Load()
	stop = measure("ingest")
	lr = load.run(ctx, g.gw.URL(), ingestPlan, 0, time.Now(), nil)
	res.Ingest = loadFigure("ingest", lr)
	res.Ingest.setCPU(stop())
	res.addErrors("ingest", lr)
	b.say("delivering the %d webhooks ingest caused", ingestPlan.webhooks())
	g.startWorker()
	if err := b.recv.waitVerified(ctx, base+int64(ingestPlan.webhooks()), timeout(ingestPlan.webhooks())); err != nil {
		res.Errors = append(res.Errors, "ingest backlog: "+err.Error())
	}

	// 5. Drain: a backlog built through callbacks while the worker is
	// stopped, then delivered.
	b.say("drain: building a backlog of %d deliveries", drainPlan.webhooks())
	if err := g.stopWorker(); err != nil {
		return nil, fmt.Errorf("bench: stopping the webhook worker: %w", err)
	}
	lr = load.run(ctx, g.gw.URL(), drainPlan, 0, time.Now(), nil)
	res.addErrors("drain backlog", lr)
	base = b.recv.verified.Load()
	stop = measure("drain")
	start := time.Now()
	g.startWorker()
	derr := b.recv.waitVerified(ctx, base+int64(drainPlan.webhooks()), timeout(drainPlan.webhooks()))
	res.Drain = rateFigure("drain", drainPlan.webhooks(), time.Since(start))
	res.Drain.setCPU(stop())
	if derr != nil {
		res.Errors = append(res.Errors, "drain: "+derr.Error())
		res.Drain.Errors++
	}

	// 6. End to end at a set rate: callback sent → verified webhook in.
	b.say("end to end: %d callbacks at %.0f/s", e2ePlan.n, o.e2eRate)
	epoch := time.Now()
	tr := newBenchTracker(e2ePlan, epoch)
	b.recv.track.Store(tr)
	sent := make([]atomic.Int64, e2ePlan.n)
	base = b.recv.verified.Load()
	stop = measure("e2e")
	lr = load.run(ctx, g.gw.URL(), e2ePlan, o.e2eRate, epoch, sent)
	res.addErrors("end to end", lr)
	if err := b.recv.waitVerified(ctx, base+int64(e2ePlan.webhooks()), timeout(e2ePlan.webhooks())); err != nil {
		res.Errors = append(res.Errors, "end to end: "+err.Error())
	}
	cpu := stop()
	b.recv.track.Store(nil)
	res.EndToEnd = e2eFigure(tr, sent, lr)
	res.EndToEnd.setCPU(cpu)
	if tr.dup.Load() > 0 {
		res.EndToEnd.Note += fmt.Sprintf("; %d webhooks arrived twice", tr.dup.Load())
	}

	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			return nil, err
		}
	}
	_, hwm := memStatus()
	res.Memory.PeakRSSMB = mb(max(sampler.peak.Load(), hwm))
	if err := g.stop(); err != nil {
		res.Errors = append(res.Errors, "stopping the gateway: "+err.Error())
	}

	// 7. Start to ready on the database the run filled.
	b.say("restarting on the existing database")
	g, err = b.start(ctx, nil)
	if err != nil {
		return res, err
	}
	res.StartToReadyMS = ms(g.ready)
	if err := g.stop(); err != nil {
		res.Errors = append(res.Errors, "stopping the gateway: "+err.Error())
	}

	if n := b.recv.invalid.Load(); n > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d webhooks failed verification (first: %s)", n, *b.recv.firstBad.Load()))
	}
	if n := b.carrier.calls.Load(); n > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("the gateway called the carrier's API %d times; no scenario sends a fax", n))
	}
	res.finish()
	return res, nil
}

// prepare makes the data directory, the gateway's log file in it, the fake
// carrier and the configuration; cleanup undoes what prepare made.
func (b *bench) prepare() (cleanup func(), err error) {
	var undo []func()
	undoAll := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	// A failing return sets cleanup to nil, so the undoing must not go
	// through it.
	defer func() {
		if err != nil {
			undoAll()
		}
	}()
	b.dir = b.o.dir
	if b.dir == "" {
		d, err := os.MkdirTemp("", "faxgate-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		b.dir = d
		undo = append(undo, func() { os.RemoveAll(d) })
	} else if entries, err := os.ReadDir(b.dir); err == nil && len(entries) > 0 {
		return nil, UsageError("--dir " + b.dir + " is not empty")
	}
	if err := os.MkdirAll(b.dir, 0o700); err != nil {
		return nil, fmt.Errorf("bench: --dir: %w", err)
	}
	if b.logFile, err = os.Create(filepath.Join(b.dir, "gateway.log")); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	undo = append(undo, func() { b.logFile.Close() })
	if b.carrier, err = newFakeCarrier(b.o.instances > 0); err != nil {
		return nil, fmt.Errorf("bench: fake carrier: %w", err)
	}
	undo = append(undo, func() { b.carrier.srv.Close() })
	return undoAll, b.configure()
}

// configure builds the gateway's configuration: Phaxio as the carrier with
// its webhook token, the public URL the gateway's own loopback address,
// webhooks allowed to loopback.
func (b *bench) configure() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// The soak reads the child's runtime figures from its metrics listener,
	// which needs no key.
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	metricsAddr := mln.Addr().String()
	mln.Close()
	b.token = "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	env := map[string]string{
		"FAXGATE_ADDR":                   addr,
		"FAXGATE_DATA_DIR":               b.dir,
		"FAXGATE_DATABASE_URL":           b.o.databaseURL,
		"FAXGATE_PUBLIC_URL":             "http://" + addr,
		"FAXGATE_PROVIDER":               phaxio.Name,
		"PHAXIO_API_KEY":                 "bench-key",
		"PHAXIO_API_SECRET":              "bench-secret-" + b.token,
		"PHAXIO_WEBHOOK_TOKEN":           b.token,
		"PHAXIO_BASE_URL":                b.carrier.url,
		"FAXGATE_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
		"FAXGATE_METRICS_ADDR":           metricsAddr,
	}
	if b.o.instances > 0 {
		// The fleet shares documents (a send taken by one instance may
		// be dispatched by another) and sends through the API.
		env["FAXGATE_BLOB_URL"] = "file://" + filepath.Join(b.dir, "documents")
		env["FAXGATE_ADMIN_KEY"] = b.token + "-admin"
		env["FAXGATE_RATE_LIMIT"] = "0"
	}
	// Settings a user may tune for the run; everything else is the bench's.
	for _, k := range []string{"FAXGATE_LOG_LEVEL", "FAXGATE_LOG_FORMAT", "FAXGATE_WEBHOOK_WORKERS", "FAXGATE_DISPATCH_WORKERS"} {
		if v := b.getenv(k); v != "" {
			env[k] = v
		}
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, "")
	if err != nil {
		return fmt.Errorf("bench: configuration:\n%w", err)
	}
	b.cfg, b.env = cfg, env
	return nil
}

// runningGateway is a gateway serving in this process.
type runningGateway struct {
	gw     Gateway
	ready  time.Duration // from before Open until /readyz answered 200
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// stopWorker stops the webhook worker once the attempts in flight are
// recorded. Deliveries created meanwhile wait, pending, until startWorker.
func (g *runningGateway) stopWorker() error { return g.gw.StopDeliveries() }

func (g *runningGateway) startWorker() { g.gw.StartDeliveries() }

// start opens a gateway, runs setup on its store before it serves, and
// waits until /readyz answers.
func (b *bench) start(ctx context.Context, setup func(Store) error) (*runningGateway, error) {
	t0 := time.Now()
	gw, st, err := b.open(ctx, b.cfg, b.logFile)
	if err != nil {
		return nil, fmt.Errorf("bench: the gateway did not start: %w", err)
	}
	if setup != nil {
		if err := setup(st); err != nil {
			gw.Close()
			return nil, fmt.Errorf("bench: setup: %w", err)
		}
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g := &runningGateway{gw: gw, cancel: cancel, done: make(chan error, 1)}
	go func() { g.done <- gw.Run(rctx) }()
	if err := waitReady(ctx, gw.URL()+"/readyz", 30*time.Second); err != nil {
		g.stop()
		return nil, fmt.Errorf("bench: the gateway did not become ready: %w", err)
	}
	g.ready = time.Since(t0)
	return g, nil
}

func (g *runningGateway) stop() error {
	g.once.Do(func() {
		werr := g.stopWorker()
		g.cancel()
		g.err = errors.Join(werr, <-g.done)
	})
	return g.err
}

func waitReady(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = &statusError{resp.StatusCode}
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Microsecond):
		}
	}
}

// setup creates n outbound Phaxio faxes already handed to the carrier (so
// the dispatcher leaves them alone), and then the receiver's endpoint, so
// that creating the faxes causes no webhooks.
func (b *bench) setup(ctx context.Context, st Store, n int, secret string) ([]benchFax, error) {
	faxes := make([]benchFax, n)
	var next atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range b.o.clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f, _, err := st.CreateFax(ctx, &fax.Fax{To: benchTo, From: "+15559870001", Provider: phaxio.Name, Pages: b.o.pages,
					DocumentKey: "bench/document.pdf", DocumentType: "application/pdf"}, fax.CreateOptions{})
				pid := int64(400000000 + i)
				if err == nil {
					err = st.MarkHanded(ctx, f.ID, strconv.FormatInt(pid, 10), time.Now().Add(time.Hour))
				}
				if err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
				faxes[i] = benchFax{id: f.ID, pid: pid}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	_, err := st.CreateEndpoint(ctx, &fax.Endpoint{URL: b.recv.url, Format: fax.FormatJSON, APIVersion: fax.APIVersion,
		Secret: secret, Inflight: true, Description: "faxgate bench receiver"})
	return faxes, err
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// callbacksFor is how many callbacks cause at least w webhooks.
func callbacksFor(w, pages int) int {
	full := w / (pages + 2)
	n := full * (pages + 1)
	if rest := w - full*(pages+2); rest > 0 {
		n += max(rest-1, 1)
	}
	return n
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: --memprofile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		return fmt.Errorf("bench: --memprofile: %w", err)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func mb(b int64) float64 { return float64(b*10>>20) / 10 }
