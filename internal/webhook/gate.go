package webhook

import (
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// DefaultPerHost is how many attempts to one destination run at once by
// default.
const DefaultPerHost = 4

// admission is what the gate decided about a job.
type admission int

const (
	admitStart admission = iota // run it now
	admitHold                   // hold it until its endpoint has room
	admitDrop                   // no room to hold it either: leave it to its lease
)

// gate caps the attempts running at once per key (a destination, see
// destination), so that one slow receiver cannot take every worker. A job
// for a key at its cap is held in a per-key queue, without a worker, and
// started when one of that key's attempts finishes. A gate belongs to the
// one goroutine that dispatches jobs and is not safe for concurrent use.
//
// Holding is bounded two ways. In number: at most hold jobs per key and
// total jobs in all; a job beyond is dropped, so its lease lapses and it is
// claimed again later. When the total is reached, a stalled key (one that
// has started nothing for a while) gives up its newest held job to a key
// that is not, or failing that the key holding the most gives one up to a
// key holding fewer, so that a stalled destination's backlog never makes
// another destination's jobs wait out their leases. In time: a job held longer than
// maxWait is dropped when its turn comes instead of started, because its
// lease could lapse during the attempt and another worker claim and send it
// too.
type gate struct {
	limit   int
	hold    int           // per key; negative: unlimited
	total   int           // across endpoints; negative: unlimited
	maxWait time.Duration // zero: unlimited
	// stalled says whether a key has stopped starting its held jobs; nil:
	// none has.
	stalled func(key string) bool
	// capFor is a key's cap now, at most limit; nil: limit for every key.
	capFor  func(key string) int
	active  map[string]int
	waiting map[string][]heldJob
	held    int
}

type heldJob struct {
	job   *fax.DeliveryJob
	key   string    // its destination
	since time.Time // when it was claimed
	gen   uint64    // the worker's endpoint generation before its claim
}

func newGate(limit, hold, total int, maxWait time.Duration) *gate {
	return &gate{
		limit: max(limit, 1), hold: hold, total: total, maxWait: maxWait,
		active: map[string]int{}, waiting: map[string][]heldJob{},
	}
}

// cap is key's cap now.
func (g *gate) cap(key string) int {
	if g.capFor == nil {
		return g.limit
	}
	return min(max(g.capFor(key), 1), g.limit)
}

// mailRelay is the destination of every mailto: endpoint: they all go
// through the worker's one Mailer, and so one relay.
const mailRelay = "smtp relay"

// destination is where a job's attempt connects, which is what the gate
// limits: the SMTP relay for a mailto: endpoint, else the URL's host and
// port, so that all the endpoints on one host share its limit. A URL that
// does not parse is its endpoint's own destination (its attempt fails
// without connecting).
func destination(job *fax.DeliveryJob) string {
	if d, ok := urlDestination(job.Endpoint.URL); ok {
		return d
	}
	return "endpoint " + endpointKey(job)
}

// urlDestination is the destination of an endpoint URL, false when the URL
// does not name one.
func urlDestination(raw string) (string, bool) {
	if isMailto(raw) {
		return mailRelay, true
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port), true
}

// destinations remembers the destination of the endpoint URLs seen lately,
// so that Run parses an endpoint's URL once, not once a delivery. It is
// used by one goroutine.
type destinations map[string]string

// maxDestinations bounds what destinations remembers; past it, it starts
// again.
const maxDestinations = 1024

func (d destinations) of(job *fax.DeliveryJob) string {
	raw := job.Endpoint.URL
	if key, ok := d[raw]; ok {
		return key
	}
	key, ok := urlDestination(raw)
	if !ok {
		return "endpoint " + endpointKey(job)
	}
	if len(d) >= maxDestinations {
		clear(d)
	}
	d[raw] = key
	return key
}

// endpointKey is the endpoint a job's attempt goes to.
func endpointKey(job *fax.DeliveryJob) string {
	if job.Endpoint.ID != "" {
		return job.Endpoint.ID
	}
	return job.Delivery.EndpointID
}

// admit decides about a job for its key. A started job counts against its
// key until done is called for it. To hold the job when the
// total is reached, it may evict another key's newest held job, which it
// returns: that one is left to its lease.
func (g *gate) admit(h heldJob) (admission, *fax.DeliveryJob) {
	key := h.key
	if g.active[key] < g.cap(key) {
		g.active[key]++
		return admitStart, nil
	}
	if g.hold >= 0 && len(g.waiting[key]) >= g.hold {
		return admitDrop, nil
	}
	var evicted *fax.DeliveryJob
	if g.total >= 0 && g.held >= g.total {
		if evicted = g.evict(key); evicted == nil {
			return admitDrop, nil
		}
	}
	g.waiting[key] = append(g.waiting[key], h)
	g.held++
	return admitHold, evicted
}

// evict drops the newest held job of another key to make room for one of
// key: the stalled key holding the most, when key is not stalled itself,
// else the key holding the most if it would still hold more than key does
// once it holds one more. A stalled key never takes the place of one that
// is not.
func (g *gate) evict(key string) *fax.DeliveryJob {
	stalled := func(k string) bool { return g.stalled != nil && g.stalled(k) }
	victim, most := "", 0
	if !stalled(key) {
		for k, q := range g.waiting {
			if k != key && len(q) > most && stalled(k) {
				victim, most = k, len(q)
			}
		}
	}
	if victim == "" {
		most = len(g.waiting[key]) + 1
		for k, q := range g.waiting {
			if k != key && len(q) > most && (stalled(k) || !stalled(key)) {
				victim, most = k, len(q)
			}
		}
	}
	if victim == "" {
		return nil
	}
	q := g.waiting[victim]
	job := q[len(q)-1].job
	q[len(q)-1] = heldJob{}
	g.waiting[victim] = q[:len(q)-1]
	g.held--
	return job
}

// done records that an attempt to endpoint key finished at now. It returns
// the held job to start in its place, already counted, with when it was
// admitted, or no job, and the held jobs dropped on the way for having
// waited too long.
func (g *gate) done(key string, now time.Time) (next heldJob, expired []*fax.DeliveryJob) {
	if g.active[key] > g.cap(key) {
		// The key's cap came down: this slot is not taken again.
		g.active[key]--
		return next, nil
	}
	q := g.waiting[key]
	for len(q) > 0 && next.job == nil {
		h := q[0]
		q[0] = heldJob{}
		q = q[1:]
		g.held--
		if g.maxWait > 0 && now.Sub(h.since) > g.maxWait {
			expired = append(expired, h.job)
			continue
		}
		next = h
	}
	if len(q) == 0 {
		delete(g.waiting, key)
	} else {
		g.waiting[key] = q
	}
	if next.job == nil {
		if g.active[key] <= 1 {
			delete(g.active, key)
		} else {
			g.active[key]--
		}
	}
	return next, expired
}
