package api

import (
	clist "container/list"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// DefaultRateLimitKeys caps how many API keys' buckets the limiter keeps
// when Options.RateLimitKeys is 0.
const DefaultRateLimitKeys = 10000

// limiter is a token bucket per API key id: each key may make burst
// requests at once and rate requests a second after that. It is kept as the
// generic cell rate algorithm, which is the same bucket in integer time: a
// key's theoretical arrival time tat advances by one interval per request,
// and a request is allowed while tat is at most the burst's tolerance ahead
// of now. Buckets live in an LRU list capped at max entries, and a bucket
// whose tat has passed is full, like a fresh one, so it is dropped: memory
// is bounded by the keys active in the last burst/rate seconds and never
// exceeds max buckets whatever the traffic.
type limiter struct {
	rate      float64       // requests a second, for messages
	interval  time.Duration // time one request costs
	tolerance time.Duration // how far ahead of now tat may run: (burst-1) intervals
	max       int

	mu   sync.Mutex
	keys map[string]*clist.Element
	lru  clist.List // of *bucket, most recently used first
}

type bucket struct {
	key string
	tat time.Time
}

// newLimiter returns a limiter, or nil when rate is not positive (no limit).
// A burst below 1 becomes max(1, ceil(rate)); a max below 1 becomes
// DefaultRateLimitKeys.
func newLimiter(rate float64, burst, max int) *limiter {
	if !(rate > 0) || math.IsInf(rate, 0) {
		return nil
	}
	if burst < 1 {
		burst = int(math.Max(1, math.Ceil(rate)))
	}
	if max < 1 {
		max = DefaultRateLimitKeys
	}
	interval := time.Duration(float64(time.Second) / rate)
	if interval <= 0 {
		interval = 1
	}
	return &limiter{rate: rate, interval: interval, tolerance: time.Duration(burst-1) * interval, max: max, keys: map[string]*clist.Element{}}
}

// burst is how many requests a full bucket allows at once.
func (l *limiter) burst() int { return int(l.tolerance/l.interval) + 1 }

// allow spends one request of key's bucket at now. When the bucket is empty
// it returns false and how long until a request is allowed again. A clock
// stepping back only makes the wait longer: it never mints requests.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forgetIdle(now)
	var b *bucket
	if e, ok := l.keys[key]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
	} else {
		b = &bucket{key: key, tat: now}
		l.keys[key] = l.lru.PushFront(b)
		for l.lru.Len() > l.max {
			l.drop(l.lru.Back())
		}
	}
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	if wait := tat.Add(-l.tolerance).Sub(now); wait > 0 {
		return false, wait
	}
	b.tat = tat.Add(l.interval)
	return true, 0
}

// forgetIdle drops, from the least recently used end, buckets that are full
// again. Each call does work in proportion to what it drops.
func (l *limiter) forgetIdle(now time.Time) {
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		if e.Value.(*bucket).tat.After(now) {
			return
		}
		l.drop(e)
	}
}

func (l *limiter) drop(e *clist.Element) {
	delete(l.keys, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// len reports how many buckets are kept, for tests.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// gate caps how many expensive requests run at once. A request beyond the
// cap is refused at once rather than queued, so that a flood costs a
// refusal each, not memory and goroutines piling up behind the gate.
type gate struct{ slots chan struct{} }

// newGate returns a gate of n slots, or nil when n is not positive (no cap).
func newGate(n int) *gate {
	if n <= 0 {
		return nil
	}
	return &gate{slots: make(chan struct{}, n)}
}

func (g *gate) enter() bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (g *gate) leave() { <-g.slots }

// sendSlots caps the sends in progress. Each key has its own share from the
// moment its send starts, so one key's slow or many bodies hold only that
// share; the gateway-wide cap applies once a body is in, to the work that
// follows (conversion, storage), which no client can stretch.
type sendSlots struct {
	all    *gate
	perKey int

	mu   sync.Mutex
	keys map[string]int // sends in progress by key id; absent when none
}

// newSendSlots returns the caps; all or perKey not positive means no such
// cap. A per-key cap above the gateway's is lowered to it.
func newSendSlots(all, perKey int) *sendSlots {
	if all > 0 && perKey > all {
		perKey = all
	}
	return &sendSlots{all: newGate(all), perKey: perKey, keys: map[string]int{}}
}

// enterKey takes one of k's slots, or refuses with 429 when k has its
// share in progress. The returned func gives the slot back.
func (s *sendSlots) enterKey(k *fax.APIKey) (func(), error) {
	if s.perKey <= 0 || k == nil {
		return func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[k.ID] >= s.perKey {
		return nil, fax.Errorf(fax.ECodeRateLimited, "this API key has %d sends in progress, its share of this gateway; retry when one ends", s.perKey)
	}
	s.keys[k.ID]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.keys[k.ID]--; s.keys[k.ID] <= 0 {
			delete(s.keys, k.ID)
		}
	}, nil
}

// enter takes a gateway-wide slot, or refuses with 503 when all are taken.
func (s *sendSlots) enter() (func(), error) {
	if s.all == nil {
		return func() {}, nil
	}
	if !s.all.enter() {
		return nil, fax.Errorf(fax.ECodeUnavailable, "too many sends in progress on this gateway; retry shortly")
	}
	return s.all.leave, nil
}

// retryAfter is a Retry-After value for a wait: whole seconds, rounded up,
// at least 1.
func retryAfter(wait time.Duration) string {
	s := int64(math.Ceil(wait.Seconds()))
	return strconv.FormatInt(max(s, 1), 10)
}

// limit applies the per-key rate limit to an authenticated request; it
// writes the 429 and returns false when the key is over its limit.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, k *fax.APIKey) bool {
	if s.limiter == nil {
		return true
	}
	ok, wait := s.limiter.allow(k.ID, s.now())
	if ok {
		return true
	}
	w.Header().Set("Retry-After", retryAfter(wait))
	s.writeError(w, r, fax.Errorf(fax.ECodeRateLimited, "this API key is over its limit of %s requests a second; retry after %s s",
		strconv.FormatFloat(s.limiter.rate, 'f', -1, 64), w.Header().Get("Retry-After")))
	return false
}
