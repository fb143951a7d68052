package webhook

import (
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// DefaultPerEndpoint is how many attempts to one endpoint run at once by
// default.
const DefaultPerEndpoint = 4

// admission is what the gate decided about a job.
type admission int

const (
	admitStart admission = iota // run it now
	admitHold                   // hold it until its endpoint has room
	admitDrop                   // no room to hold it either: leave it to its lease
)

// gate caps the attempts running at once per endpoint, so that one slow
// receiver cannot take every worker. A job for an endpoint at its cap is held
// in a per-endpoint queue, without a worker, and started when one of that
// endpoint's attempts finishes. A gate belongs to the one goroutine that
// dispatches jobs and is not safe for concurrent use.
//
// Holding is bounded two ways. In number: at most hold jobs per endpoint and
// total jobs in all; a job beyond is dropped, so its lease lapses and it is
// claimed again later. In time: a job held longer than maxWait is dropped
// when its turn comes instead of started, because its lease could lapse
// during the attempt and another worker claim and send it too.
type gate struct {
	limit   int
	hold    int           // per endpoint; negative: unlimited
	total   int           // across endpoints; negative: unlimited
	maxWait time.Duration // zero: unlimited
	active  map[string]int
	waiting map[string][]heldJob
	held    int
}

type heldJob struct {
	job   *fax.DeliveryJob
	since time.Time
}

func newGate(limit, hold, total int, maxWait time.Duration) *gate {
	return &gate{
		limit: max(limit, 1), hold: hold, total: total, maxWait: maxWait,
		active: map[string]int{}, waiting: map[string][]heldJob{},
	}
}

// endpointKey is the endpoint a job's attempt goes to.
func endpointKey(job *fax.DeliveryJob) string {
	if job.Endpoint.ID != "" {
		return job.Endpoint.ID
	}
	return job.Delivery.EndpointID
}

// admit decides about a job claimed at now. A started job counts against its
// endpoint until done is called for it.
func (g *gate) admit(job *fax.DeliveryJob, now time.Time) admission {
	key := endpointKey(job)
	if g.active[key] < g.limit {
		g.active[key]++
		return admitStart
	}
	if g.hold >= 0 && len(g.waiting[key]) >= g.hold || g.total >= 0 && g.held >= g.total {
		return admitDrop
	}
	g.waiting[key] = append(g.waiting[key], heldJob{job, now})
	g.held++
	return admitHold
}

// done records that an attempt to endpoint key finished at now. It returns
// the held job to start in its place, already counted, with when it was
// admitted, or no job, and the held jobs dropped on the way for having
// waited too long.
func (g *gate) done(key string, now time.Time) (next heldJob, expired []*fax.DeliveryJob) {
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
