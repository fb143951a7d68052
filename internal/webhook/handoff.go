package webhook

import (
	"sync"

	"github.com/faxgate/faxgate/internal/fax"
)

// handoff lets an attempt that takes longer than stallAfter finish on a
// goroutine of its own, so that its worker goes on to other destinations'
// deliveries: a receiver that accepts and never answers, or trickles its
// answer, holds a connection until the timeout, not a worker. Once a
// destination has an attempt handed off, its next ones are handed off at
// once, so many stalled destinations cost the pool a stallAfter each, not
// a timeout per delivery. At most slots attempts are handed off at once;
// beyond that a slow attempt keeps its worker, as it would without this.
type handoff struct {
	slots chan struct{}
	mu    sync.Mutex
	slow  map[string]int // destination → attempts handed off and running
}

func newHandoff(n int) *handoff {
	return &handoff{slots: make(chan struct{}, max(n, 1)), slow: map[string]int{}}
}

// pressed reports whether more than half the slots are taken: then a
// destination with an attempt handed off gets one attempt at a time, so
// that many stalled destinations leave slots for the others.
func (h *handoff) pressed() bool {
	return 2*len(h.slots) > cap(h.slots)
}

// heavy reports whether job's attempt carries a document (a received fax's
// PDF, in a phaxio-format webhook or an email): it is never handed off, so
// that the documents in memory stay bounded by the workers.
func heavy(job *fax.DeliveryJob) bool {
	return job.Event.Type == fax.EventFaxReceived && (job.Endpoint.Format == fax.FormatPhaxio || isMailto(job.Endpoint.URL))
}

// isSlow reports whether key has an attempt handed off and still running.
func (h *handoff) isSlow(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.slow[key] > 0
}

// take reserves a slot for an attempt to key, false when none is free.
func (h *handoff) take(key string) bool {
	select {
	case h.slots <- struct{}{}:
	default:
		return false
	}
	h.mu.Lock()
	h.slow[key]++
	h.mu.Unlock()
	return true
}

// release frees the slot of a handed-off attempt to key that has ended.
func (h *handoff) release(key string) {
	h.mu.Lock()
	if h.slow[key] <= 1 {
		delete(h.slow, key)
	} else {
		h.slow[key]--
	}
	h.mu.Unlock()
	<-h.slots
}
