package webhook

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// slowReceiver counts the requests in flight, remembers the most at once,
// and holds each until released.
type slowReceiver struct {
	*receiver
	entered chan struct{}
	release chan struct{}

	once         sync.Once
	mu           sync.Mutex
	inFlight     int
	peakInFlight int
}

// unblock lets every held and future request through.
func (s *slowReceiver) unblock() { s.once.Do(func() { close(s.release) }) }

func newSlowReceiver(t *testing.T) *slowReceiver {
	s := &slowReceiver{receiver: newReceiver(t), entered: make(chan struct{}, 100), release: make(chan struct{})}
	s.setHook(func(r *http.Request) {
		s.mu.Lock()
		s.inFlight++
		s.peakInFlight = max(s.peakInFlight, s.inFlight)
		s.mu.Unlock()
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	})
	t.Cleanup(s.unblock)
	return s
}

func (s *slowReceiver) peak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakInFlight
}

// jobTo is a delivery to endpoint id at url.
func jobTo(id, endpointID, url string) fax.DeliveryJob {
	job := newJob(id, url)
	job.Endpoint.ID, job.Delivery.EndpointID = endpointID, endpointID
	return job
}

// TestWorkerPerEndpointCap runs a slow receiver, which holds every request
// until released, beside a fast one: with 8 workers and at most 2 attempts
// per endpoint, all the fast endpoint's deliveries complete while the slow
// one's are held, and the slow one never sees more than 2 at once.
func TestWorkerPerEndpointCap(t *testing.T) {
	slow, fast := newSlowReceiver(t), newReceiver(t)
	store, clock := newFakeStore(), newFakeClock()
	const nSlow, nFast = 12, 10 // more slow deliveries than workers
	store.recorded = make(chan struct{}, nSlow+nFast)
	// The slow endpoint's deliveries come first, so a worker pool without a
	// cap would give them every worker it has room for.
	for i := range nSlow {
		store.add(jobTo("slow_"+strconv.Itoa(i), "we_slow", slow.srv.URL))
	}
	for i := range nFast {
		store.add(jobTo("fast_"+strconv.Itoa(i), "we_fast", fast.srv.URL))
	}
	w := newTestWorker(store, clock, Options{Workers: 8, PerHost: 2, PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()

	waitRecorded(t, store, nFast) // only the fast ones can finish
	for i := range nFast {
		if d := store.delivery(t, "fast_"+strconv.Itoa(i)); d.Status != fax.DeliverySucceeded {
			t.Errorf("fast_%d: %s, want succeeded while the slow endpoint is stuck", i, d.Status)
		}
	}
	<-slow.entered
	<-slow.entered
	if n := len(slow.got()); n != 2 {
		t.Errorf("slow endpoint has %d requests in flight, want 2 (its cap)", n)
	}
	for i := range nSlow {
		if d := store.delivery(t, "slow_"+strconv.Itoa(i)); d.AttemptCount != 0 {
			t.Errorf("slow_%d has %d attempts recorded while held, want 0", i, d.AttemptCount)
		}
	}

	slow.unblock()
	waitRecorded(t, store, nSlow)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v", err)
	}
	for i := range nSlow {
		if d := store.delivery(t, "slow_"+strconv.Itoa(i)); d.Status != fax.DeliverySucceeded || d.AttemptCount != 1 {
			t.Errorf("slow_%d: %s after %d attempts, want succeeded after 1", i, d.Status, d.AttemptCount)
		}
	}
	if p := slow.peak(); p > 2 {
		t.Errorf("slow endpoint saw %d requests at once, want at most 2", p)
	}
	if n := len(fast.got()); n != nFast {
		t.Errorf("fast endpoint got %d requests, want %d", n, nFast)
	}
}

// TestDeliverOncePerEndpointCap checks the same cap in DeliverOnce, which
// holds every claimed delivery until its endpoint has room.
func TestDeliverOncePerEndpointCap(t *testing.T) {
	slow, fast := newSlowReceiver(t), newReceiver(t)
	store, clock := newFakeStore(), newFakeClock()
	store.recorded = make(chan struct{}, 20)
	for i := range 5 {
		store.add(jobTo("slow_"+strconv.Itoa(i), "we_slow", slow.srv.URL))
	}
	for i := range 5 {
		store.add(jobTo("fast_"+strconv.Itoa(i), "we_fast", fast.srv.URL))
	}
	w := newTestWorker(store, clock, Options{Workers: 4, PerHost: 2})
	go func() {
		// The fast endpoint finishes while the slow one holds its two.
		waitRecorded(t, store, 5)
		slow.unblock()
	}()
	mustDeliverOnce(t, w, 10)
	if p := slow.peak(); p > 2 {
		t.Errorf("slow endpoint saw %d requests at once, want at most 2", p)
	}
	for _, id := range []string{"slow_0", "slow_4", "fast_0", "fast_4"} {
		if d := store.delivery(t, id); d.Status != fax.DeliverySucceeded {
			t.Errorf("%s: %s, want succeeded", id, d.Status)
		}
	}
}

func TestGate(t *testing.T) {
	t0 := newFakeClock().Now()
	job := func(id, ep string) *fax.DeliveryJob {
		j := jobTo(id, ep, "http://x")
		return &j
	}
	g := newGate(2, 1, 2, time.Minute)
	a1, a2, a3, a4 := job("a1", "a"), job("a2", "a"), job("a3", "a"), job("a4", "a")
	b1, b2, c1, c2 := job("b1", "b"), job("b2", "b"), job("c1", "c"), job("c2", "c")
	steps := []struct {
		job  *fax.DeliveryJob
		want admission
	}{
		{a1, admitStart}, {a2, admitStart}, {a3, admitHold}, {a4, admitDrop}, // a: cap 2, hold 1
		{b1, admitStart}, {b2, admitStart}, {c1, admitStart}, {c2, admitStart},
	}
	for _, s := range steps {
		if got, _ := g.admit(heldJob{job: s.job, key: s.job.Endpoint.ID, since: t0}); got != s.want {
			t.Errorf("admit(%s) = %v, want %v", s.job.Delivery.ID, got, s.want)
		}
	}
	bx := job("bx", "b")
	if got, _ := g.admit(heldJob{job: bx, key: "b", since: t0}); got != admitHold {
		t.Errorf("admit(bx) = %v, want hold", got)
	}
	if got, _ := g.admit(heldJob{job: job("cx", "c"), key: "c", since: t0}); got != admitDrop {
		t.Errorf("admit(cx) = %v, want drop: two held in all is the total", got)
	}
	if next, expired := g.done("a", t0.Add(time.Second)); next.job != a3 || len(expired) != 0 {
		t.Errorf("done(a) = %v, %v; want a3 started", next, expired)
	}
	if next, expired := g.done("b", t0.Add(2*time.Minute)); next.job != nil || len(expired) != 1 || expired[0] != bx {
		t.Errorf("done(b) after two minutes = %v, %v; want bx expired and nothing started", next, expired)
	}
	// b now has one running: one more may start.
	if got, _ := g.admit(heldJob{job: job("b3", "b"), key: "b", since: t0}); got != admitStart {
		t.Errorf("admit(b3) = %v, want start", got)
	}
	for range 2 {
		g.done("a", t0)
	}
	if len(g.active) != 2 || g.active["a"] != 0 || g.held != 0 {
		t.Errorf("after a finished: active %v, held %d", g.active, g.held)
	}
}

// TestDestinationsCache: the remembered destination of a URL is the one
// destination works out, including for URLs that name none, whose
// destination is their endpoint's own.
func TestDestinationsCache(t *testing.T) {
	t.Parallel()
	d := destinations{}
	urls := []string{"http://Example.com/a", "https://example.com/b", "http://example.com:8080/", "mailto:ops@example.com",
		"http://[::1]:9/x", "::not a url", "/relative", "http://example.com/a"}
	for i, u := range urls {
		for _, id := range []string{"ep_1", "ep_2"} {
			job := &fax.DeliveryJob{Endpoint: fax.Endpoint{ID: id, URL: u}}
			if got, want := d.of(job), destination(job); got != want {
				t.Errorf("%d: destinations.of(%q, %s) = %q, want %q", i, u, id, got, want)
			}
		}
	}
	for i := range maxDestinations + 10 {
		u := "http://h" + strconv.Itoa(i) + ".example/"
		job := &fax.DeliveryJob{Endpoint: fax.Endpoint{ID: "ep", URL: u}}
		if got, want := d.of(job), destination(job); got != want {
			t.Fatalf("destinations.of(%q) = %q, want %q", u, got, want)
		}
	}
	if len(d) > maxDestinations {
		t.Errorf("destinations holds %d URLs, more than %d", len(d), maxDestinations)
	}
}
