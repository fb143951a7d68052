package webhook

import "time"

// stallAfter is how long an endpoint with deliveries held for it may go
// without starting one before it counts as stalled.
const stallAfter = time.Second

// forgetAfter is how long progress remembers the pace of an endpoint that
// has started nothing.
const forgetAfter = time.Minute

// progress tells an endpoint that is working through the deliveries held
// for it from one that is stuck, and a fast one from a slow one, on the
// real clock: when each endpoint last started a delivery, and how often it
// has been starting them.
//
// Held deliveries of an endpoint that keeps up count against the claims,
// like running ones: claiming more than the pool can start only leaves them
// to lapse, and a busy endpoint would lose most of its backlog to leases
// that way. Those of a stalled endpoint do not, so that the claims go on
// feeding the workers with other endpoints' deliveries.
//
// An endpoint is fast when, at the pace it has been starting deliveries,
// a deep hold of them would all start within half the longest a delivery
// may be held (maxHold). A fast endpoint may have that many held, and while
// one is keeping up the claims may take that many more: a claim takes a
// commit's time or more, and an endpoint that answers in a fraction of a
// millisecond would otherwise sit idle between claims with its four slots
// (the bench's one fast receiver: a claim window of 32 let it deliver about
// 5,000/s with a backlog building; a deep hold of 128, over 20,000/s).
type progress struct {
	deep    int           // held deliveries a fast endpoint may have
	maxHold time.Duration // the longest a delivery may be held (gate.maxWait)
	pace    map[string]*pace
}

type pace struct {
	last  time.Time     // when the endpoint last started a delivery
	every time.Duration // moving average of the time between starts; 0: unknown
}

func newProgress(deep int, maxHold time.Duration) *progress {
	return &progress{deep: deep, maxHold: maxHold, pace: map[string]*pace{}}
}

// started records that a delivery to key started at now.
func (p *progress) started(key string, now time.Time) {
	pc := p.pace[key]
	if pc == nil {
		p.pace[key] = &pace{last: now}
		return
	}
	d := max(now.Sub(pc.last), 0)
	if pc.every == 0 {
		pc.every = max(d, time.Nanosecond)
	} else {
		pc.every += (d - pc.every) / 8
		pc.every = max(pc.every, time.Nanosecond)
	}
	pc.last = now
}

// forget drops the pace of endpoints with nothing running or held that
// have started nothing for forgetAfter.
func (p *progress) forget(g *gate, now time.Time) {
	for key, pc := range p.pace {
		if g.active[key] == 0 && len(g.waiting[key]) == 0 && now.Sub(pc.last) >= forgetAfter {
			delete(p.pace, key)
		}
	}
}

// keepingUp says whether key started a delivery within stallAfter.
func (p *progress) keepingUp(key string, now time.Time) bool {
	pc := p.pace[key]
	return pc != nil && now.Sub(pc.last) < stallAfter
}

// fast says whether key is keeping up at a pace that starts a deep hold
// within half of maxHold.
func (p *progress) fast(key string, now time.Time) bool {
	pc := p.pace[key]
	return pc != nil && pc.every > 0 && now.Sub(pc.last) < stallAfter &&
		pc.every*time.Duration(p.deep) <= p.maxHold/2
}

// held counts the deliveries held for endpoints that are keeping up.
func (p *progress) held(g *gate, now time.Time) int {
	n := 0
	for key, q := range g.waiting {
		if p.keepingUp(key, now) {
			n += len(q)
		}
	}
	return n
}

// extra is the room beyond the pool's window that the claims may take: a
// deep hold while some endpoint is fast, else none.
func (p *progress) extra(now time.Time) int {
	for key := range p.pace {
		if p.fast(key, now) {
			return p.deep
		}
	}
	return 0
}
