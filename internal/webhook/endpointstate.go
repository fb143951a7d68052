package webhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// EndpointFinder is what the worker needs, when the store has it, to check
// that an endpoint is still enabled before an attempt to it claimed before
// an endpoint was removed.
type EndpointFinder interface {
	FindEndpointByID(ctx context.Context, id string) (*fax.Endpoint, error)
}

// EndpointsChanged tells the worker that an endpoint was disabled or
// deleted: each delivery claimed before then is checked against the store
// before its attempt, and dropped if its endpoint is gone, so that nothing
// is sent to an endpoint after its removal, even a delivery held for a busy
// host when the removal came. It never blocks.
func (w *Worker) EndpointsChanged() {
	w.endpointGen.Add(1)
}

// removed reports whether job's endpoint was disabled or deleted since the
// job was claimed in generation gen. Per-fax endpoints (a fax's
// callback_url) cannot be removed. When the store cannot say, the job goes
// ahead: its claim found the endpoint enabled.
func (w *Worker) removed(ctx context.Context, job *fax.DeliveryJob, gen uint64) bool {
	now := w.endpointGen.Load()
	finder, ok := w.store.(EndpointFinder)
	if gen == now || !ok || job.Endpoint.FaxID != "" || job.Endpoint.ID == "" {
		return false
	}
	id := job.Endpoint.ID
	w.checkMu.Lock()
	if w.checkGen != now {
		w.checkGen, w.checks = now, map[string]bool{}
	}
	enabled, seen := w.checks[id]
	w.checkMu.Unlock()
	if seen {
		return !enabled
	}
	e, err := finder.FindEndpointByID(ctx, id)
	switch {
	case fax.ErrorCode(err) == fax.ECodeNotFound:
		enabled = false
	case err != nil:
		w.log.Warn("webhook: could not check the endpoint; sending as claimed", slog.String("endpoint_id", id), slog.Any("error", err))
		return false
	default:
		enabled = e.Enabled
	}
	w.checkMu.Lock()
	if w.checkGen == now {
		w.checks[id] = enabled
	}
	w.checkMu.Unlock()
	return !enabled
}

// holdEndpoint records that job's endpoint asked, with Retry-After, not to
// be sent to before until.
func (w *Worker) holdEndpoint(job *fax.DeliveryJob, until time.Time) {
	w.holdMu.Lock()
	defer w.holdMu.Unlock()
	if w.held == nil {
		w.held = map[string]time.Time{}
	}
	if until.After(w.held[job.Endpoint.ID]) {
		w.held[job.Endpoint.ID] = until
	}
}

// endpointHeld reports whether job's endpoint asked to wait and the wait is
// not over; it forgets waits that are.
func (w *Worker) endpointHeld(job *fax.DeliveryJob) bool {
	w.holdMu.Lock()
	defer w.holdMu.Unlock()
	until, ok := w.held[job.Endpoint.ID]
	if !ok {
		return false
	}
	if !w.opts.Now().Before(until) {
		delete(w.held, job.Endpoint.ID)
		return false
	}
	return true
}
