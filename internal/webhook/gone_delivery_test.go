package webhook

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestGoneStopsTheEndpointAtOnce: after a 410, the worker sends nothing
// more to that endpoint, not even deliveries it claimed before the 410 was
// recorded (the store disables the endpoint when it records the batch; in
// between, a claimed delivery would have gone out: seen as a request after
// removal in TestRemovedEndpointReceivesNothing/sqlite/gone).
func TestGoneStopsTheEndpointAtOnce(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, reply{status: 410}, reply{status: 200})
	store, clock := newFakeStore(), newFakeClock()
	const n = 6
	for i := range n {
		store.add(newJob("dlv_"+strconv.Itoa(i), rc.srv.URL))
	}
	log, buf := testLogger()
	// One attempt at a time: the 410 comes before any other starts.
	w := newTestWorker(store, clock, Options{Workers: 1, PerHost: 1, PollInterval: time.Hour, LeaseFor: 30 * time.Second, Logger: log})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(buf.String(), "left for a later claim") < n-1 && len(rc.got()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("neither every other delivery dropped nor sent within 20s; log:\n%s", buf.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := len(rc.got()); got != 1 {
		t.Fatalf("receiver got %d requests after answering 410 to the first, want 1", got)
	}
}
