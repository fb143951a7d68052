package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// slowFailingReceiver answers every webhook after a pause with 500, or 410
// once gone is set, and remembers when each request arrived.
type slowFailingReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	arrivals []time.Time
	gone     bool
	goneAt   time.Time // when the first 410 was answered
}

func newSlowFailingReceiver(t *testing.T) *slowFailingReceiver {
	r := &slowFailingReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.arrivals = append(r.arrivals, time.Now())
		r.mu.Unlock()
		time.Sleep(150 * time.Millisecond)
		r.mu.Lock()
		code := http.StatusInternalServerError
		if r.gone {
			code = http.StatusGone
		}
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *slowFailingReceiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.arrivals) }

// after counts the requests that arrived after t.
func (r *slowFailingReceiver) after(t time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.arrivals {
		if a.After(t) {
			n++
		}
	}
	return n
}

// TestRemovedEndpointReceivesNothing: with a one-second retry schedule and
// a receiver that answers slowly with 500, an endpoint deleted, disabled
// (PATCH enabled=false) or answering 410 while attempts are on the wire
// gets no request once its removal has taken effect, although those
// attempts' results come back after it.
func TestRemovedEndpointReceivesNothing(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		for _, how := range []string{"delete", "disable", "gone"} {
			t.Run(store+"/"+how, func(t *testing.T) {
				t.Parallel()
				testRemovedEndpoint(t, store, how)
			})
		}
	}
}

func testRemovedEndpoint(t *testing.T, store, how string) {
	opts := []gatewayOption{withEnv("FAXGATE_WEBHOOK_RETRY_SCHEDULE", "1s×50")}
	if store == "postgres" {
		opts = append(opts, withEnv("FAXGATE_DATABASE_URL", freshDatabase(t)))
	}
	g := startGateway(t, opts...)
	r := newSlowFailingReceiver(t)
	var ep struct{ ID string }
	if code := g.do("POST", "/v1/webhook-endpoints", map[string]any{"url": r.srv.URL + "/hook"}, &ep); code != http.StatusCreated {
		t.Fatalf("create endpoint: got %d", code)
	}
	const faxes = 12
	for i := range faxes {
		g.send("+1555123"+strconv.Itoa(1000+i), textDoc)
	}
	// Wait until retries are under way: more requests than faxes.
	deadline := time.Now().Add(30 * time.Second)
	for r.count() <= faxes && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r.count() <= faxes {
		t.Fatalf("receiver got %d requests, want retries under way", r.count())
	}
	var removed time.Time
	switch how {
	case "delete":
		if code := g.do("DELETE", "/v1/webhook-endpoints/"+ep.ID, nil, nil); code != http.StatusNoContent {
			t.Fatalf("DELETE: got %d", code)
		}
		removed = time.Now()
	case "disable":
		if code := g.do("PATCH", "/v1/webhook-endpoints/"+ep.ID, map[string]any{"enabled": false}, nil); code != http.StatusOK {
			t.Fatalf("PATCH: got %d", code)
		}
		removed = time.Now()
	case "gone":
		r.mu.Lock()
		r.gone = true
		r.mu.Unlock()
		// The 410 takes effect when it is recorded.
		for {
			var e struct{ Enabled bool }
			g.do("GET", "/v1/webhook-endpoints/"+ep.ID, nil, &e)
			if !e.Enabled {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the endpoint is still enabled after answering 410")
			}
			time.Sleep(5 * time.Millisecond)
		}
		removed = time.Now()
	}
	// Several retry periods: each delivery put back to pending
	// would be sent again within a second.
	time.Sleep(4 * time.Second)
	if n := r.after(removed); n != 0 {
		t.Errorf("receiver got %d requests after the endpoint was removed (%s), want 0", n, how)
	}
}
