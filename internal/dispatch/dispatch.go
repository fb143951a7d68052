// Package dispatch hands outbound faxes to their carriers: workers claim
// queued faxes from the store with a lease, send each through its carrier's
// Sender and record the outcome. A fax is handed over at most once unless
// the carrier clearly did not take it: after an ambiguous outcome (a
// timeout, a 5xx, an unreadable answer, a crash mid-send) a carrier that
// can be asked is asked, and only repeated empty answers allow another
// send; a carrier that cannot be asked never gets the fax again, which is
// held as not confirmed until the carrier's callback or the carrier's
// result timeout settles it. Faxes handed over whose result does not come
// are checked with the carrier (where it can be asked) and ended at the
// result timeout. Each carrier has its own slots, so that a slow carrier
// never holds back another.
//
// It imports internal/fax only.
package dispatch

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store is what dispatch needs of the store.
type Store interface {
	ClaimFaxesPerCarrier(ctx context.Context, leaseFor time.Duration, slots fax.ClaimSlots) ([]*fax.DispatchJob, error)
	ClaimResultChecks(ctx context.Context, holdFor time.Duration, slots fax.ClaimSlots) ([]*fax.DispatchJob, error)
	ExtendLease(ctx context.Context, id string, leaseFor time.Duration) error
	MarkOnWire(ctx context.Context, id string) error
	MarkHandedAttempt(ctx context.Context, id string, attempts int, providerFaxID string, checkAt time.Time) error
	ScheduleCheck(ctx context.Context, id string, at time.Time) error
	RescheduleDispatch(ctx context.Context, id string, at time.Time) error
	FailDispatch(ctx context.Context, id string, failure *fax.Failure) error
	FailoverDispatch(ctx context.Context, id string, failure *fax.Failure, fallback []string) (next string, err error)
}

// Sender hands one fax to a carrier and returns the carrier's id for it.
// Errors should be *fax.SendError; others count as ambiguous.
type Sender interface {
	Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (providerFaxID string, err error)
}

// Resumer is a Sender that can be asked whether it has a fax: found reports
// whether it does, with its id. found=false must mean the carrier answered
// that it has no such fax; a carrier that cannot prove absence returns an
// error instead.
type Resumer interface {
	Find(ctx context.Context, f *fax.Fax) (providerFaxID string, found bool, err error)
}

// Checker is a Sender that can be asked for the result of a fax it has
// (f.ProviderFaxID): a final status update, or nil while it is still on its
// way.
type Checker interface {
	CheckResult(ctx context.Context, f *fax.Fax) (*fax.Update, error)
}

// Carrier configures one carrier's slots and result checks; zero fields
// take the Options' defaults.
type Carrier struct {
	// Concurrency caps the faxes of this carrier being sent or checked at
	// once.
	Concurrency int
	// ResultTimeout ends a fax handed to the carrier, or held as not
	// confirmed, whose final result has not come this long after the
	// hand-over: failed with code not_confirmed, which the carrier's own
	// late final report still replaces.
	ResultTimeout time.Duration
	// CheckAfter is when a handed fax without a result is first checked,
	// and CheckEvery how often after that.
	CheckAfter, CheckEvery time.Duration
}

// Options configure a Dispatcher.
type Options struct {
	Senders map[string]Sender
	// Carriers holds per-carrier settings by carrier name.
	Carriers map[string]Carrier
	// Document returns a fax's stored document.
	Document func(ctx context.Context, f *fax.Fax) ([]byte, error)
	// ApplyFunc records a carrier's update (a result check's answer) as
	// a callback would.
	ApplyFunc func(ctx context.Context, u *fax.Update) error
	Workers   int           // all carriers together; default 8
	LeaseFor  time.Duration // default 2m; renewed for the whole attempt
	Poll      time.Duration // default 1s; Notify wakes workers sooner
	// Concurrency is the default Carrier.Concurrency (default 4).
	Concurrency int
	// ResultTimeout (default 24h), CheckAfter (default 30m) and CheckEvery
	// (default 30m) are the defaults of the Carrier fields.
	ResultTimeout, CheckAfter, CheckEvery time.Duration
	// FindSettle is how long after an ambiguous send, or a resumed one,
	// the carrier is first asked whether it has the fax (default 30s):
	// a carrier may record a request only when it ends. FindSpacing
	// separates further questions (default 30s), and FindEmpty is how
	// many empty answers in a row allow sending again (default and least
	// 2: one empty answer is never proof). Asking stops after FindEmpty+2
	// questions; the fax is then held as not confirmed.
	FindSettle, FindSpacing time.Duration
	FindEmpty               int
	// Retry is when a hand-over that failed with a retryable error is tried
	// again, and how many attempts end a fax that carriers kept refusing.
	// Zero fields take the defaults: 30s doubling, capped at 30m; 10
	// attempts; a carrier's Retry-After honoured up to 24h.
	Retry fax.RetryPolicy
	// Fallback lists the carriers, in order, a send moves to when its
	// carrier definitively did not accept it: refused it (a 4xx, a
	// rejected credential) or could not be reached before anything was
	// sent. Never after an ambiguous outcome. Empty: no failover.
	Fallback []string
	// Grace is how long in-flight sends may run after shutdown begins.
	Grace  time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Dispatcher runs the workers.
type Dispatcher struct {
	store Store
	opts  Options
	log   *slog.Logger
	wake  chan struct{}

	mu      sync.Mutex
	busy    map[string]int // running jobs per carrier ("" for carriers not configured)
	running int
	// active holds the faxes this process is working on, with the number
	// of earlier attempts (fax.Fax.Attempts) of the job. A lease that
	// lapses while its own send still runs (a stalled renewal) lets the
	// fax be claimed again; handling it twice at once would ask the
	// carrier before the running send is recorded and send it again.
	active map[string]int
	// next holds, by fax, a new attempt (a redial or a failover) claimed
	// while the attempt before it was still being recorded here: it runs
	// once that one ends.
	next map[string]*fax.DispatchJob

	lastChecks time.Time // when result checks were last claimed (claiming goroutine only)
}

// New returns a Dispatcher.
func New(store Store, opts Options) *Dispatcher {
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.LeaseFor <= 0 {
		opts.LeaseFor = 2 * time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.ResultTimeout <= 0 {
		opts.ResultTimeout = 24 * time.Hour
	}
	if opts.CheckAfter <= 0 {
		opts.CheckAfter = 30 * time.Minute
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = 30 * time.Minute
	}
	if opts.FindSettle <= 0 {
		opts.FindSettle = 30 * time.Second
	}
	if opts.FindSpacing <= 0 {
		opts.FindSpacing = 30 * time.Second
	}
	if opts.FindEmpty <= 1 {
		opts.FindEmpty = 2
	}
	if opts.Retry.Backoff <= 0 && len(opts.Retry.Schedule) == 0 {
		opts.Retry.Backoff, opts.Retry.MaxBackoff = 30*time.Second, 30*time.Minute
	}
	if opts.Retry.Attempts <= 0 {
		opts.Retry.Attempts = 10
	}
	if opts.Retry.MaxRetryAfter <= 0 {
		// As long as the carriers' own cap (carrier.MaxRetryAfter).
		opts.Retry.MaxRetryAfter = 24 * time.Hour
	}
	if opts.Grace <= 0 {
		opts.Grace = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{store: store, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1), busy: map[string]int{}, active: map[string]int{}, next: map[string]*fax.DispatchJob{}}
}

// carrier returns a carrier's settings with defaults filled in. A lone
// carrier has no other to hold back: by default it may use every worker.
func (d *Dispatcher) carrier(name string) Carrier {
	c := d.opts.Carriers[name]
	if c.Concurrency <= 0 {
		c.Concurrency = d.opts.Concurrency
		if len(d.opts.Senders) == 1 {
			c.Concurrency = d.opts.Workers
		}
	}
	if c.ResultTimeout <= 0 {
		c.ResultTimeout = d.opts.ResultTimeout
	}
	if c.CheckAfter <= 0 {
		c.CheckAfter = d.opts.CheckAfter
	}
	if c.CheckEvery <= 0 {
		c.CheckEvery = d.opts.CheckEvery
	}
	return c
}

// Notify wakes the dispatcher after new faxes were committed.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// slots shares the free workers among the carriers, one at a time in turn
// up to each carrier's free slots, so that a claim is fair to every
// carrier; faxes of carriers not configured get one slot first, to be
// failed.
func (d *Dispatcher) slots() fax.ClaimSlots {
	d.mu.Lock()
	defer d.mu.Unlock()
	free := d.opts.Workers - d.running
	names := make([]string, 0, len(d.opts.Senders))
	for n := range d.opts.Senders {
		names = append(names, n)
	}
	slices.Sort(names)
	sl := fax.ClaimSlots{PerProvider: make(map[string]int, len(names))}
	for n := range d.opts.Senders {
		sl.PerProvider[n] = 0
	}
	if free > 0 && d.busy[""] == 0 {
		sl.Other = 1
		free--
	}
	for progress := true; free > 0 && progress; {
		progress = false
		for _, n := range names {
			if free > 0 && d.busy[n]+sl.PerProvider[n] < d.carrier(n).Concurrency {
				sl.PerProvider[n]++
				free--
				progress = true
			}
		}
	}
	return sl
}

// take and done count a job against its carrier's slots.
func (d *Dispatcher) take(j *fax.DispatchJob) {
	name := d.slotName(j)
	d.mu.Lock()
	d.busy[name]++
	d.running++
	d.mu.Unlock()
}

func (d *Dispatcher) done(name string) {
	d.mu.Lock()
	d.busy[name]--
	d.running--
	d.mu.Unlock()
}

// slotName is the carrier a job's slot is counted against.
func (d *Dispatcher) slotName(j *fax.DispatchJob) string {
	if _, ok := d.opts.Senders[j.Fax.Provider]; !ok {
		return ""
	}
	return j.Fax.Provider
}

// begin marks a claimed job's fax as worked on here, or, when this
// process still works on it (its lease lapsed meanwhile), gives the slot
// back and reports false: the running attempt keeps the fax, and its
// renewals take the new lease over. A new attempt of a fax whose last
// attempt is still being recorded here (it was redialed or failed over
// from inside its send) is kept, slot and all, for end to hand over.
func (d *Dispatcher) begin(j *fax.DispatchJob) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n, ok := d.active[j.Fax.ID]; ok {
		if !j.Resumed && !j.Check && len(j.Fax.Attempts) > n && d.next[j.Fax.ID] == nil {
			d.next[j.Fax.ID] = j
			d.log.Debug("new attempt claimed while the last one is being recorded; it runs next", "fax_id", j.Fax.ID, "provider", j.Fax.Provider)
			return false
		}
		d.busy[d.slotName(j)]--
		d.running--
		d.log.Warn("fax claimed again while this process still works on it; left to the running attempt", "fax_id", j.Fax.ID, "provider", j.Fax.Provider)
		return false
	}
	d.active[j.Fax.ID] = len(j.Fax.Attempts)
	return true
}

// end releases what begin and take counted, and returns the fax's next
// attempt kept by begin, now worked on, or nil.
func (d *Dispatcher) end(j *fax.DispatchJob) *fax.DispatchJob {
	d.mu.Lock()
	next := d.next[j.Fax.ID]
	delete(d.next, j.Fax.ID)
	if next != nil {
		d.active[j.Fax.ID] = len(next.Fax.Attempts)
	} else {
		delete(d.active, j.Fax.ID)
	}
	d.mu.Unlock()
	d.done(d.slotName(j))
	return next
}

// claim takes due sends and then, at most once a Poll unless always, due
// result checks within the free slots.
func (d *Dispatcher) claim(ctx context.Context, always bool) ([]*fax.DispatchJob, error) {
	jobs, err := d.store.ClaimFaxesPerCarrier(ctx, d.opts.LeaseFor, d.slots())
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		d.take(j)
	}
	// Result checks come due over minutes: looking once a Poll is enough,
	// and spares the store a second claim each time a send ends.
	now := time.Now()
	if !always && now.Sub(d.lastChecks) < d.opts.Poll {
		return jobs, nil
	}
	d.lastChecks = now
	sl := d.slots()
	sl.Other = 0
	checks, err := d.store.ClaimResultChecks(ctx, d.opts.LeaseFor, sl)
	for _, j := range checks {
		d.take(j)
	}
	return append(jobs, checks...), err
}

// Run claims and sends until ctx ends, then lets in-flight sends finish
// within the grace period; a send cut off by it is left leased, to be
// resumed by the next start.
func (d *Dispatcher) Run(ctx context.Context) error {
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	var wg sync.WaitGroup
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	for ctx.Err() == nil {
		claimed, err := d.claim(ctx, false)
		if err != nil && ctx.Err() == nil {
			d.log.Error("claim faxes", "err", err)
		}
		for _, j := range claimed {
			if !d.begin(j) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer d.Notify()
				for j := j; j != nil; j = d.end(j) {
					d.handle(sendCtx, j)
				}
			}()
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-t.C:
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.opts.Grace):
		cancelSends()
		<-done
	}
	return nil
}

// Once claims one batch of sends and result checks and runs it
// synchronously, for tests and tools.
func (d *Dispatcher) Once(ctx context.Context) (int, error) {
	claimed, err := d.claim(ctx, true)
	var wg sync.WaitGroup
	for _, j := range claimed {
		if !d.begin(j) {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := j; j != nil; j = d.end(j) {
				d.handle(ctx, j)
			}
		}()
	}
	wg.Wait()
	return len(claimed), err
}

func (d *Dispatcher) handle(ctx context.Context, j *fax.DispatchJob) {
	f := j.Fax
	log := d.log.With("fax_id", f.ID, "provider", f.Provider, "attempt", j.Attempt)
	if j.Check {
		d.check(ctx, log, j)
		return
	}
	sender, ok := d.opts.Senders[f.Provider]
	if !ok {
		d.fail(ctx, log, f.ID, &fax.Failure{Code: fax.FailCarrier, Message: "carrier " + f.Provider + " is not configured on this gateway"})
		return
	}
	// The lease is held for the whole attempt, questions to the carrier
	// included, so that no other claim takes the fax meanwhile.
	stop := d.keepLease(ctx, f.ID)
	defer stop()
	if j.Resumed {
		switch id, res := d.resolve(ctx, log, sender, f); res {
		case present:
			log.Info("resumed fax was already with the carrier")
			d.handed(ctx, log, f, id)
			return
		case unknown:
			if ctx.Err() == nil {
				d.holdUnconfirmed(ctx, log, f)
			}
			return
		}
		log.Info("the carrier confirmed it does not have the resumed fax; sending it")
	}
	doc, err := d.opts.Document(ctx, f)
	if err != nil {
		log.Error("read document", "err", err)
		d.fail(ctx, log, f.ID, &fax.Failure{Code: fax.FailDocument, Message: "the document could not be read"})
		return
	}
	if err := d.store.MarkOnWire(ctx, f.ID); err != nil {
		// Unrecorded, a crash would resend it blindly: do not send.
		log.Error("mark on wire", "err", err)
		return
	}
	id, err := sender.Send(ctx, j, doc)
	if err == nil {
		d.handed(ctx, log, f, id)
		return
	}
	se := fax.AsSendError(err)
	switch se.Outcome {
	case fax.SendPermanent:
		fl := se.Failure
		if fl == nil {
			fl = &fax.Failure{Code: fax.FailCarrier, Message: "the carrier refused the fax"}
		}
		log.Warn("carrier refused the fax", "code", fl.Code)
		if d.failover(ctx, log, f, fl) {
			return
		}
		d.fail(ctx, log, f.ID, fl)
	case fax.SendRetryable:
		if se.Down && d.failover(ctx, log, f, &fax.Failure{Code: fax.FailCarrier, Message: carrierName(f.Provider) + " could not be reached."}) {
			return
		}
		d.retry(ctx, log, j, se.RetryAfter, err)
	default:
		if ctx.Err() != nil {
			// Shutdown: the lease runs out and the next start asks.
			log.Info("send interrupted by shutdown; it resumes at the next start")
			return
		}
		log.Warn("send outcome unknown; asking the carrier", "err", err)
		switch id, res := d.resolve(ctx, log, sender, f); res {
		case present:
			d.handed(ctx, log, f, id)
		case absent:
			d.retry(ctx, log, j, 0, err)
		default:
			if ctx.Err() == nil {
				d.holdUnconfirmed(ctx, log, f)
			}
		}
	}
}

// retry puts a fax the carrier did not take back in line, or ends it once
// the retry policy's attempts are used up.
func (d *Dispatcher) retry(ctx context.Context, log *slog.Logger, j *fax.DispatchJob, after time.Duration, cause error) {
	wait, ok := d.opts.Retry.Next(j.Attempt, after)
	if !ok {
		d.fail(ctx, log, j.Fax.ID, &fax.Failure{Code: fax.FailCarrier, Message: "the carrier did not take the fax after repeated attempts"})
		return
	}
	log.Warn("carrier did not take the fax; will retry", "err", cause, "retry_in", wait.String())
	if err := d.store.RescheduleDispatch(ctx, j.Fax.ID, d.opts.Now().Add(wait)); err != nil {
		log.Error("reschedule", "err", err)
	}
}

// failover moves a fax its carrier definitively did not accept to the next
// carrier of the fallback list, reporting whether it did; false leaves the
// fax to fail or retry as without a fallback.
func (d *Dispatcher) failover(ctx context.Context, log *slog.Logger, f *fax.Fax, fl *fax.Failure) bool {
	if len(d.opts.Fallback) == 0 {
		return false
	}
	next, err := d.store.FailoverDispatch(ctx, f.ID, fl, d.opts.Fallback)
	if err != nil {
		log.Error("fail over", "err", err)
		return false
	}
	if next == "" {
		return false
	}
	log.Warn("carrier did not accept the fax; failing over", "code", fl.Code, "next_provider", next)
	return true
}

// keepLease renews the claim while a long attempt runs.
func (d *Dispatcher) keepLease(ctx context.Context, id string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.opts.LeaseFor / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := d.store.ExtendLease(ctx, id, d.opts.LeaseFor); err != nil && ctx.Err() == nil {
					d.log.Warn("extend lease", "fax_id", id, "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (d *Dispatcher) handed(ctx context.Context, log *slog.Logger, f *fax.Fax, providerFaxID string) {
	c := d.carrier(f.Provider)
	if err := d.store.MarkHandedAttempt(ctx, f.ID, len(f.Attempts), providerFaxID, d.opts.Now().Add(min(c.CheckAfter, c.ResultTimeout))); err != nil {
		log.Error("mark handed", "err", err)
	}
}

func (d *Dispatcher) fail(ctx context.Context, log *slog.Logger, id string, fl *fax.Failure) {
	if err := d.store.FailDispatch(ctx, id, fl); err != nil {
		log.Error("record failure", "err", err)
	}
}
