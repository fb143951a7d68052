// Package dispatch hands outbound faxes to their carriers: workers claim
// queued faxes from the store with a lease, send each through its carrier's
// Sender and record the outcome. A fax is handed over at most once unless
// the carrier clearly did not take it; after a crash mid-send, a carrier
// that can be asked is asked before anything is sent again.
//
// It imports internal/fax only.
package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store is what dispatch needs of the store.
type Store interface {
	ClaimFaxes(ctx context.Context, leaseFor time.Duration, limit int) ([]*fax.DispatchJob, error)
	ExtendLease(ctx context.Context, id string, leaseFor time.Duration) error
	MarkHanded(ctx context.Context, id, providerFaxID string) error
	RescheduleDispatch(ctx context.Context, id string, at time.Time) error
	FailDispatch(ctx context.Context, id string, failure *fax.Failure) error
}

// Sender hands one fax to a carrier and returns the carrier's id for it.
// Errors should be *fax.SendError; others count as ambiguous.
type Sender interface {
	Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (providerFaxID string, err error)
}

// Resumer is a Sender that can be asked, after a crash mid-send, whether it
// has the fax: found reports whether it does, with its id.
type Resumer interface {
	Find(ctx context.Context, f *fax.Fax) (providerFaxID string, found bool, err error)
}

// Options configure a Dispatcher.
type Options struct {
	Senders map[string]Sender
	// Document returns a fax's stored document.
	Document func(ctx context.Context, f *fax.Fax) ([]byte, error)
	Workers  int           // default 8
	LeaseFor time.Duration // default 2m; renewed while a send runs
	Poll     time.Duration // default 1s; Notify wakes workers sooner
	// Backoff is the wait before hand-over attempt n+1 after a retryable
	// error (default 30s doubling, capped at 30m).
	Backoff func(attempt int) time.Duration
	// MaxAttempts ends a fax that carriers kept refusing (default 10).
	MaxAttempts int
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
	if opts.Backoff == nil {
		opts.Backoff = func(n int) time.Duration {
			d := 30 * time.Second << min(n-1, 6)
			return min(d, 30*time.Minute)
		}
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
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
	return &Dispatcher{store: store, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// Notify wakes the dispatcher after new faxes were committed.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run claims and sends until ctx ends, then lets in-flight sends finish
// within the grace period; a send cut off by it is left leased, to be
// resumed by the next start.
func (d *Dispatcher) Run(ctx context.Context) error {
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	busy := make(chan struct{}, d.opts.Workers) // one token per running send
	var wg sync.WaitGroup
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	for ctx.Err() == nil {
		// Claim no more than there are free workers, so that claimed faxes
		// never wait out their lease in a queue.
		if free := d.opts.Workers - len(busy); free > 0 {
			claimed, err := d.store.ClaimFaxes(ctx, d.opts.LeaseFor, free)
			if err != nil && ctx.Err() == nil {
				d.log.Error("claim faxes", "err", err)
			}
			for _, j := range claimed {
				busy <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-busy; d.Notify() }()
					d.handle(sendCtx, j)
				}()
			}
			if len(claimed) == free {
				continue
			}
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

// Once claims one batch and sends it synchronously, for tests and tools.
func (d *Dispatcher) Once(ctx context.Context) (int, error) {
	claimed, err := d.store.ClaimFaxes(ctx, d.opts.LeaseFor, d.opts.Workers)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, j := range claimed {
		wg.Add(1)
		go func() { defer wg.Done(); d.handle(ctx, j) }()
	}
	wg.Wait()
	return len(claimed), nil
}

func (d *Dispatcher) handle(ctx context.Context, j *fax.DispatchJob) {
	f := j.Fax
	log := d.log.With("fax_id", f.ID, "provider", f.Provider, "attempt", j.Attempt)
	sender, ok := d.opts.Senders[f.Provider]
	if !ok {
		d.fail(ctx, log, f.ID, &fax.Failure{Code: fax.FailCarrier, Message: "carrier " + f.Provider + " is not configured on this gateway"})
		return
	}
	if j.Resumed {
		if r, ok := sender.(Resumer); ok {
			id, found, err := r.Find(ctx, f)
			if err != nil {
				if j.Attempt > d.opts.MaxAttempts {
					// Never resend blindly: end the fax and say why.
					d.fail(ctx, log, f.ID, &fax.Failure{Code: fax.FailCarrier,
						Message: "the carrier could not confirm whether it took this fax; check with the carrier before sending it again"})
					return
				}
				log.Warn("could not ask the carrier about a resumed fax; will ask again", "err", err)
				return // the lease runs out and the fax is resumed again
			}
			if found {
				log.Info("resumed fax was already with the carrier")
				d.handed(ctx, log, f.ID, id)
				return
			}
		}
	}
	doc, err := d.opts.Document(ctx, f)
	if err != nil {
		log.Error("read document", "err", err)
		d.fail(ctx, log, f.ID, &fax.Failure{Code: fax.FailDocument, Message: "the document could not be read"})
		return
	}
	stop := d.keepLease(ctx, f.ID)
	id, err := sender.Send(ctx, j, doc)
	stop()
	if err == nil {
		d.handed(ctx, log, f.ID, id)
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
		d.fail(ctx, log, f.ID, fl)
	case fax.SendRetryable:
		if j.Attempt >= d.opts.MaxAttempts {
			d.fail(ctx, log, f.ID, &fax.Failure{Code: fax.FailCarrier, Message: "the carrier did not take the fax after repeated attempts"})
			return
		}
		wait := max(d.opts.Backoff(j.Attempt), se.RetryAfter)
		log.Warn("carrier did not take the fax; will retry", "err", err, "retry_in", wait.String())
		if err := d.store.RescheduleDispatch(ctx, f.ID, d.opts.Now().Add(wait)); err != nil {
			log.Error("reschedule", "err", err)
		}
	default:
		// Maybe sent: leave the lease to run out; the resumed claim asks
		// the carrier before sending again.
		if errors.Is(err, context.Canceled) {
			log.Info("send interrupted by shutdown; it resumes at the next start")
			return
		}
		log.Warn("send outcome unknown; the carrier will be asked", "err", err)
	}
}

// keepLease renews the claim while a long send runs.
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

func (d *Dispatcher) handed(ctx context.Context, log *slog.Logger, id, providerFaxID string) {
	if err := d.store.MarkHanded(ctx, id, providerFaxID); err != nil {
		log.Error("mark handed", "err", err)
	}
}

func (d *Dispatcher) fail(ctx context.Context, log *slog.Logger, id string, fl *fax.Failure) {
	if err := d.store.FailDispatch(ctx, id, fl); err != nil {
		log.Error("record failure", "err", err)
	}
}
