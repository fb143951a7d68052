package webhook

import "time"

// stallAfter is how long an endpoint with deliveries held for it may go
// without starting one before it counts as stalled.
const stallAfter = time.Second

// progress tells an endpoint that is working through the deliveries held
// for it from one that is stuck, on the real clock: when each endpoint with
// deliveries held or running last started one.
//
// Held deliveries of an endpoint that keeps up count against the claims,
// like running ones: claiming more than the pool can start only leaves them
// to lapse, and a busy endpoint would lose most of its backlog to leases
// that way. Those of a stalled endpoint do not count, so that the claims go
// on feeding the workers with other endpoints' deliveries.
type progress struct {
	last map[string]time.Time
}

func newProgress() *progress { return &progress{last: map[string]time.Time{}} }

// started records that a delivery to key started.
func (p *progress) started(key string, now time.Time) { p.last[key] = now }

// idle forgets an endpoint with nothing running or held.
func (p *progress) idle(g *gate, key string) {
	if g.active[key] == 0 && len(g.waiting[key]) == 0 {
		delete(p.last, key)
	}
}

// held counts the deliveries held for endpoints that are keeping up.
func (p *progress) held(g *gate, now time.Time) int {
	n := 0
	for key, q := range g.waiting {
		if now.Sub(p.last[key]) < stallAfter {
			n += len(q)
		}
	}
	return n
}
