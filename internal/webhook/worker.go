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
	client   *http.Client
	log      *slog.Logger
	builders map[string]buildFunc
	wake     chan struct{}
	running  atomic.Bool
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
	w := &Worker{
		store:    store,
		opts:     opts,
		client:   opts.Client,
		log:      opts.Logger,
		builders: builders(),
		wake:     make(chan struct{}, 1),
	}
	if t := w.attemptTimeout(); t >= opts.LeaseFor {
		w.log.Warn("webhook: attempt timeout is not shorter than the lease; a slow attempt may be made twice",
			slog.Duration("timeout", t), slog.Duration("lease_for", opts.LeaseFor))
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
// ones in flight), so no claimed delivery waits in memory long enough for its
// lease to lapse and be delivered twice.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("webhook: worker is already running")
	}
	defer w.running.Store(false)

	window := 2 * w.opts.Workers
	jobs := make(chan *fax.DeliveryJob, window)
	// done receives one value per job taken off jobs; at most window are
	// ever outstanding, so sends never block.
	done := make(chan struct{}, window)
	var wg sync.WaitGroup
	for range w.opts.Workers {
		wg.Go(func() {
			for job := range jobs {
				if ctx.Err() == nil {
					if err := w.deliver(ctx, job); err != nil {
						w.log.Error("webhook: delivery not recorded", slog.String("delivery_id", job.Delivery.ID), slog.Any("error", err))
					}
				}
				done <- struct{}{}
			}
		})
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()

	ticker := time.NewTicker(w.opts.PollInterval)
	defer ticker.Stop()
	outstanding := 0
	more := true // claim as soon as Run starts
	for {
		// Count finished jobs without waiting.
	drain:
		for {
			select {
			case <-done:
				outstanding--
			default:
				break drain
			}
		}
		if more && outstanding <= w.opts.Workers {
			limit := min(w.opts.BatchSize, window-outstanding)
			claimed, err := w.claim(ctx, limit)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				w.log.Error("webhook: claim failed", slog.Any("error", err))
			}
			for _, job := range claimed {
				outstanding++
				jobs <- job
			}
			more = err == nil && len(claimed) == limit
			if more {
				continue
			}
		}
		// While more work is waiting, a finished job is the signal to claim.
		var room <-chan struct{}
		if more {
			room = done
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
			more = true
		case <-ticker.C:
			more = true
		case <-room:
			outstanding--
		}
	}
}

// DeliverOnce claims one batch of up to BatchSize deliveries, attempts them
// all on up to Workers goroutines, records each, and returns how many it
// claimed. It serves tests and benchmarks, and a one-shot "deliver now"
// command; it must not run alongside Run on the same worker. Errors recording
// attempts are joined into the returned error.
func (w *Worker) DeliverOnce(ctx context.Context) (int, error) {
	claimed, err := w.claim(ctx, w.opts.BatchSize)
	if err != nil {
		return 0, err
	}
	errs := make([]error, len(claimed))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(w.opts.Workers, len(claimed)) {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() == nil {
					errs[i] = w.deliver(ctx, claimed[i])
				}
			}
		})
	}
	for i := range claimed {
		next <- i
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
