package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store is what the worker needs from the database: claiming due deliveries
// under a lease, and recording each attempt with the delivery's new status.
type Store interface {
	// ClaimDeliveries returns up to limit pending deliveries due at now and
	// leases them for leaseFor: until then no other claim returns them.
	ClaimDeliveries(ctx context.Context, now time.Time, leaseFor time.Duration, limit int) ([]*fax.DeliveryJob, error)
	// RecordAttempt appends a to the delivery's attempts, sets its status and
	// next attempt time (nil unless status is pending) and ends the lease.
	RecordAttempt(ctx context.Context, deliveryID string, a fax.Attempt, status fax.DeliveryStatus, next *time.Time) error
}

// Options configures a Worker. The zero value is the production setting.
type Options struct {
	// Workers is how many attempts run at once. Default: 16.
	Workers int
	// Schedule is the wait before each retry: a delivery whose attempt n
	// fails waits Schedule[n-1], and fails for good after 1+len(Schedule)
	// attempts. Default (nil): fax.DefaultRetrySchedule(), 16 retries over
	// about three days. An empty non-nil schedule means no retries.
	Schedule []time.Duration
	// MaxRetryAfter caps how long a receiver's Retry-After can delay the next
	// attempt beyond the schedule. Default: 1h.
	MaxRetryAfter time.Duration
	// LeaseFor is how long a claimed delivery stays claimed: one not recorded
	// by then (the process died) is claimed again. It must exceed the client's
	// timeout. Default: 1m.
	LeaseFor time.Duration
	// PollInterval is how often Run looks for due deliveries when nothing
	// wakes it; Notify wakes it at once. Default: 1s.
	PollInterval time.Duration
	// BatchSize is the most deliveries one claim asks for. Default: 256.
	BatchSize int
	// ResponseCap is how many bytes of a response body an attempt keeps.
	// At most 64 KiB of a body is read; the rest is not. Default: 1024.
	ResponseCap int
	// Now is the clock for attempt times and the retry schedule; latency is
	// measured on the real monotonic clock. Default: time.Now.
	Now func() time.Time
	// Client sends the attempts. Default: NewClient(ClientOptions{}).
	Client *http.Client
	// Logger receives one record per attempt. Default: discard.
	Logger *slog.Logger
	// ObserveFunc, when set, is told of every attempt made: its outcome
	// (succeeded, retry or failed) and how long it took. Main points it at
	// the delivery metrics. Default nil.
	ObserveFunc func(outcome string, latency time.Duration)
	// PerHost caps the attempts running at once to one destination: an
	// HTTP endpoint's host and port, shared by every endpoint there, or the
	// SMTP relay, shared by every mailto: endpoint. So a slow or stalled
	// receiver, or many endpoints on one, cannot take the workers from the
	// others. Deliveries to a destination at its cap wait without holding a
	// worker (see Run). Default: DefaultPerHost (4).
	PerHost int
	// Email sends the deliveries of mailto: endpoints, one email per event.
	// Default nil: they fail with "email is not configured: set
	// FAXGATE_SMTP_URL".
	Email Mailer
	// EmailAttachPDF attaches a received fax's PDF to its fax.received email,
	// read through Document. Default (nil): true.
	EmailAttachPDF *bool
	// Document returns the stored PDF of a fax, for email attachments and
	// the file part of phaxio-format fax.received webhooks. An *fax.Error
	// with code not_found or gone sends the email or webhook without it; any
	// other error retries the attempt. Default nil: no attachments.
	Document func(ctx context.Context, faxID string) ([]byte, error)
}

// Worker defaults.
const (
	DefaultWorkers       = 16
	DefaultMaxRetryAfter = time.Hour
	DefaultLeaseFor      = time.Minute
	DefaultPollInterval  = time.Second
	DefaultBatchSize     = 256
	DefaultResponseCap   = 1024
	// maxResponseRead is how much of a response body is read (so the
	// connection can be reused) before the rest is abandoned.
	maxResponseRead = 64 << 10
	// recordTimeout bounds RecordAttempt, which runs even after Run's context
	// is canceled so that an attempt made is an attempt recorded.
	recordTimeout = 10 * time.Second
)

// Worker delivers due webhook deliveries: a fixed pool of goroutines, fed
// by claims from the store, each making one attempt per delivery and
// recording it. Several workers, in one process or several, may share a
// store: the claim's lease keeps them from attempting the same delivery at
// once.
type Worker struct {
	store    Store
	opts     Options
	retry    fax.RetryPolicy // from Schedule and MaxRetryAfter
	client   *http.Client
	log      *slog.Logger
	builders map[string]buildFunc
	wake     chan struct{}
	running  atomic.Bool

	// endpointGen counts the endpoints disabled or deleted (see
	// EndpointsChanged); checks caches, for its generation checkGen, which
	// endpoints were found still enabled or not.
	endpointGen atomic.Uint64
	checkMu     sync.Mutex
	checkGen    uint64
	checks      map[string]bool

	// held maps an endpoint that answered 429 or 503 with Retry-After to
	// when it may be sent to again (on the Now clock).
	holdMu sync.Mutex
	held   map[string]time.Time
}

// NewWorker returns a worker for store with opts, defaults filled in.
func NewWorker(store Store, opts Options) *Worker {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Schedule == nil {
		opts.Schedule = fax.DefaultRetrySchedule()
	} else {
		opts.Schedule = slices.Clone(opts.Schedule)
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if opts.LeaseFor <= 0 {
		opts.LeaseFor = DefaultLeaseFor
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.ResponseCap <= 0 {
		opts.ResponseCap = DefaultResponseCap
	}
	opts.ResponseCap = min(opts.ResponseCap, maxResponseRead)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Client == nil {
		opts.Client = NewClient(ClientOptions{})
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PerHost <= 0 {
		opts.PerHost = DefaultPerHost
	}
	w := &Worker{
		store:    store,
		opts:     opts,
		retry:    fax.ScheduleRetry(opts.Schedule, opts.MaxRetryAfter),
		client:   opts.Client,
		log:      opts.Logger,
		builders: builders(),
		wake:     make(chan struct{}, 1),
	}
	if t := w.attemptTimeout(); t >= opts.LeaseFor {
		w.log.Warn("webhook: attempt timeout is not shorter than the lease; a slow attempt may be made twice",
			slog.Duration("timeout", t), slog.Duration("lease_for", opts.LeaseFor))
	}
	if opts.Email != nil && DefaultEmailTimeout >= opts.LeaseFor {
		w.log.Warn("webhook: email timeout is not shorter than the lease; a slow email may be sent twice",
			slog.Duration("timeout", DefaultEmailTimeout), slog.Duration("lease_for", opts.LeaseFor))
	}
	return w
}

// attemptTimeout is how long one attempt may take: the client's own timeout,
// or DefaultClientTimeout imposed through the context for a client without
// one.
func (w *Worker) attemptTimeout() time.Duration {
	if w.client.Timeout > 0 {
		return w.client.Timeout
	}
	return DefaultClientTimeout
}

// Notify wakes Run to claim at once, after new deliveries were committed. It
// never blocks; wake-ups while Run is busy collapse into one.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done: it claims due deliveries when woken by
// Notify or every PollInterval, and again at once while claims come back
// full. When ctx is done it stops claiming, lets the attempts already in
// flight finish (each bounded by the client's timeout) and record, and
// returns nil. Deliveries claimed but not yet started are left to their lease
// and claimed again later. Run returns an error only if the worker is
// already running.
//
// A claim asks for at most BatchSize deliveries and at most as many as the
// pool can start within one attempt's time (two per goroutine, counting the
// ones in flight and held), and, while some endpoint is keeping up fast (see
// progress), a deep hold more (four times that), so that a claim's time is
// not a fast endpoint's idle time. A claimed delivery is never started once
// its lease could lapse during the attempt (it has waited, held or queued
// for a worker, longer than LeaseFor less the attempt's timeout): it is left
// to its lease and claimed again, so it is never delivered twice at once.
//
// At most PerHost attempts to one destination (see destination) run at
// once; a destination's slot is free once it has answered, and the outcome
// is recorded after (in batches, by one goroutine, when the store is an
// AttemptsRecorder). A delivery to a destination at its cap is held,
// without a worker, until one of that destination's attempts finishes.
// Held deliveries count against the claims while their destination keeps
// starting them, so that a busy one is not claimed beyond what can start;
// those of a destination that has started none for stallAfter do not, so
// the claims go on feeding the workers with other destinations'
// deliveries. A held delivery whose lease could lapse before its attempt
// ends is dropped instead of started, and so is one beyond what may be held
// (the most one claim may ask for, per destination, and twice that in all,
// shared fairly: see gate): its lease lapses and it is claimed again after
// LeaseFor.
//
// An attempt still running after stallAfter is handed off to a goroutine of
// its own (see handoff) and its worker moves on; the claims do not count it.
// So receivers that hang hold connections, not workers, however many
// destinations they are on.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("webhook: worker is already running")
	}
	defer w.running.Store(false)

	window := 2 * w.opts.Workers
	// deep is how many deliveries a fast endpoint may have held, and how
	// much more the claims may take while one is keeping up (see progress).
	deep := 4 * window
	maxHold := w.maxHold()
	// Outstanding jobs (queued or running) never exceed window+deep (see
	// outstanding below), so sends on jobs and done never block.
	// Attempts handed off (see handoff) stay outstanding without holding a
	// worker; the claims leave them out, so up to handoffs more jobs may be
	// outstanding, and each handed-off one that ends may start a held one.
	handoffs := 16 * w.opts.Workers
	jobs := make(chan heldJob, window+deep+2*handoffs)
	done := make(chan doneMsg, window+deep+2*handoffs)
	handed := make(chan struct{}, handoffs)
	ho := newHandoff(handoffs)
	dropped := func(job *fax.DeliveryJob, why string) {
		w.log.Debug("webhook: delivery left for a later claim: "+why,
			slog.String("endpoint_id", endpointKey(job)), slog.String("delivery_id", job.Delivery.ID))
	}
	// The endpoint's slot is free as soon as it has answered; the outcome
	// is recorded after, in a batch when the store can (see recorder.go).
	rec := w.newRecorder()
	var wg sync.WaitGroup
	complete := func(q heldJob, r attemptRecord, wasHanded bool) {
		done <- doneMsg{q.key, wasHanded}
		if rec != nil {
			rec.add(r)
		} else if err := w.record(ctx, r); err != nil {
			w.log.Error("webhook: delivery not recorded", slog.String("delivery_id", q.job.Delivery.ID), slog.Any("error", err))
		}
	}
	// work is one worker: it takes jobs until jobs is closed, or until an
	// attempt it runs is handed off (see attemptWatched), when a new worker
	// has taken its place.
	var work func()
	// attemptWatched runs q's attempt on the calling worker, so that the
	// common case, an answer within stallAfter, costs no goroutine of its
	// own. If the attempt is still running after stallAfter and a handoff
	// slot is free, a new worker starts in this one's place and this one
	// ends with the attempt: it reports false.
	attemptWatched := func(q heldJob) bool {
		st := &stallWatch{}
		t := time.AfterFunc(stallAfter, func() {
			st.mu.Lock()
			defer st.mu.Unlock()
			if st.finished || !ho.take(q.key) {
				return
			}
			st.handed = true
			handed <- struct{}{}
			wg.Go(work)
		})
		r := w.attempt(ctx, q.job)
		st.mu.Lock()
		st.finished = true
		wasHanded := st.handed
		st.mu.Unlock()
		if !wasHanded {
			t.Stop()
			complete(q, r, false)
			return true
		}
		ho.release(q.key)
		complete(q, r, true)
		return false
	}
	work = func() {
		for q := range jobs {
			job := q.job
			if ctx.Err() != nil {
				done <- doneMsg{key: q.key}
				continue
			}
			// A job that waited for a worker so long that its lease
			// could lapse during the attempt is left to the lease:
			// another claim could take it and send it too.
			if w.opts.Now().UTC().Sub(q.since) > maxHold {
				done <- doneMsg{key: q.key}
				dropped(job, "queued too long for its lease")
				continue
			}
			if w.removed(ctx, job, q.gen) {
				done <- doneMsg{key: q.key}
				dropped(job, "its endpoint was disabled or deleted")
				continue
			}
			// The store put the delivery off when it recorded the
			// Retry-After; this one was claimed before.
			if w.endpointHeld(job) {
				done <- doneMsg{key: q.key}
				dropped(job, "its endpoint asked to wait (Retry-After) or answered 410")
				continue
			}
			if heavy(job) {
				complete(q, w.attempt(ctx, job), false)
				continue
			}
			// A destination with an attempt handed off gets its next
			// ones handed off at once, while slots are free.
			if ho.isSlow(q.key) && ho.take(q.key) {
				handed <- struct{}{}
				wg.Go(func() {
					r := w.attempt(ctx, job)
					ho.release(q.key)
					complete(q, r, true)
				})
				continue
			}
			if !attemptWatched(q) {
				return
			}
		}
	}
	for range w.opts.Workers {
		wg.Go(work)
	}
	defer func() {
		close(jobs)
		wg.Wait()
		if rec != nil {
			rec.close()
		}
	}()

	ticker := time.NewTicker(w.opts.PollInterval)
	defer ticker.Stop()
	// A claim asks for at most window+deep-outstanding-held (see below):
	// at most that many may be held for one endpoint, so that a claim of
	// one endpoint's deliveries holds them all, and twice that in all.
	g := newGate(w.opts.PerHost, window+deep, 2*(window+deep), maxHold)
	p := newProgress(deep, maxHold)
	g.stalled = func(key string) bool { return !p.keepingUp(key, time.Now()) }
	g.capFor = func(key string) int {
		if ho.pressed() && ho.isSlow(key) {
			return 1
		}
		return w.opts.PerHost
	}
	// outstanding counts jobs sent on jobs and not finished: queued or
	// running. A held job starts only in place of a finished one of its
	// endpoint, and a claim asks for at most window+deep-outstanding, so
	// outstanding never exceeds window+deep.
	outstanding := 0
	// handedOut counts the outstanding jobs handed off, which hold no
	// worker: the claims count outstanding less these (busy).
	handedOut := 0
	finish := func(m doneMsg) {
		key := m.key
		outstanding--
		if m.handed {
			handedOut--
		}
		next, expired := g.done(key, w.opts.Now().UTC())
		for _, job := range expired {
			dropped(job, "held too long for its lease")
		}
		if next.job != nil {
			outstanding++
			p.started(key, time.Now())
			jobs <- next
		}
	}
	// Claims run on a goroutine of their own, so that finished attempts go
	// on starting held ones while a claim waits for the store.
	type claimResult struct {
		jobs  []*fax.DeliveryJob
		err   error
		limit int
		at    time.Time
		gen   uint64
	}
	dests := destinations{}
	claimReq := make(chan int, 1)
	claimRes := make(chan claimResult, 1)
	go func() {
		for limit := range claimReq {
			at := w.opts.Now().UTC()
			// Read before the claim, so that a removal committed while
			// it runs counts as after it.
			gen := w.endpointGen.Load()
			jobs, err := w.claim(ctx, limit)
			claimRes <- claimResult{jobs, err, limit, at, gen}
		}
	}()
	defer close(claimReq)
	claiming := false
	more := true // claim as soon as Run starts
	for {
		// Count finished jobs without waiting.
	drain:
		for {
			select {
			case m := <-done:
				finish(m)
			case <-handed:
				handedOut++
			default:
				break drain
			}
		}
		busy := outstanding - max(handedOut, 0)
		if more && !claiming && busy <= w.opts.Workers {
			now := time.Now()
			if room := window - busy - p.held(g, now) + p.extra(now); room > 0 {
				claimReq <- min(w.opts.BatchSize, room)
				claiming = true
			}
		}
		// A finished job may start a held one, and while more work is
		// waiting it is the signal to claim.
		select {
		case <-ctx.Done():
			return nil
		case r := <-claimRes:
			claiming = false
			if ctx.Err() != nil {
				return nil
			}
			if r.err != nil {
				w.log.Error("webhook: claim failed", slog.Any("error", r.err))
			}
			for _, job := range r.jobs {
				h := heldJob{job: job, key: dests.of(job), since: r.at, gen: r.gen}
				switch a, evicted := g.admit(h); a {
				case admitStart:
					outstanding++
					p.started(h.key, time.Now())
					jobs <- h
				case admitHold:
					if evicted != nil {
						dropped(evicted, "held beyond its destination's share")
					}
				case admitDrop:
					dropped(job, "destination at its concurrency cap")
				}
			}
			more = r.err == nil && len(r.jobs) == r.limit
		case <-w.wake:
			more = true
		case <-ticker.C:
			more = true
			p.forget(g, time.Now())
		case m := <-done:
			finish(m)
		case <-handed:
			handedOut++
		}
	}
}

// stallWatch is what an attempt run on its worker and the timer that may
// hand it off share: whether the attempt has finished, and whether it was
// handed off before it did.
type stallWatch struct {
	mu       sync.Mutex
	finished bool
	handed   bool
}

// doneMsg says that a job to destination key is finished: its attempt has
// answered, or it was dropped. handed: the attempt had been handed off.
type doneMsg struct {
	key    string
	handed bool
}

// maxHold is how long a claimed delivery may be held for its endpoint and
// still have its whole attempt inside its lease.
func (w *Worker) maxHold() time.Duration {
	t := w.attemptTimeout()
	if w.opts.Email != nil {
		t = max(t, DefaultEmailTimeout)
	}
	// Not zero, which would mean no limit: hold nothing rather.
	return max(w.opts.LeaseFor-t, time.Nanosecond)
}

// DeliverOnce claims one batch of up to BatchSize deliveries, attempts them
// all on up to Workers goroutines, at most PerHost at once to one
// destination, records each, and returns how many it claimed. It serves tests
// and benchmarks, and a one-shot "deliver now" command; it must not run
// alongside Run on the same worker. Errors recording attempts are joined
// into the returned error.
func (w *Worker) DeliverOnce(ctx context.Context) (int, error) {
	claimed, err := w.claim(ctx, w.opts.BatchSize)
	if err != nil {
		return 0, err
	}
	errs := make([]error, len(claimed))
	index := make(map[*fax.DeliveryJob]int, len(claimed))
	next := make(chan int)
	done := make(chan int, len(claimed))
	var wg sync.WaitGroup
	for range min(w.opts.Workers, len(claimed)) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() == nil {
					errs[i] = w.deliver(ctx, claimed[i])
				}
				done <- i
			}
		})
	}
	// Every claimed job is held until its endpoint has room: none is dropped.
	g := newGate(w.opts.PerHost, -1, -1, 0)
	var ready []int
	keys := make([]string, len(claimed))
	for i, job := range claimed {
		index[job] = i
		keys[i] = destination(job)
		if a, _ := g.admit(heldJob{job: job, key: keys[i]}); a == admitStart {
			ready = append(ready, i)
		}
	}
	for _, i := range ready {
		next <- i
	}
	for range claimed {
		i := <-done
		if h, _ := g.done(keys[i], time.Time{}); h.job != nil {
			next <- index[h.job]
		}
	}
	close(next)
	wg.Wait()
	return len(claimed), errors.Join(errs...)
}

// claim asks the store for up to limit due deliveries. It drops nil entries,
// and any beyond limit, which Run has no room for: their leases lapse and
// they are claimed again.
func (w *Worker) claim(ctx context.Context, limit int) ([]*fax.DeliveryJob, error) {
	jobs, err := w.store.ClaimDeliveries(ctx, w.opts.Now().UTC(), w.opts.LeaseFor, limit)
	if err != nil {
		return nil, fmt.Errorf("webhook: claim deliveries: %w", err)
	}
	if len(jobs) > limit {
		jobs = jobs[:limit]
	}
	return slices.DeleteFunc(jobs, func(j *fax.DeliveryJob) bool { return j == nil }), nil
}
