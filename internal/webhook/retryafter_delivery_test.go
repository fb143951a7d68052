package webhook

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestRetryAfterHoldsTheEndpoint: a 429 with Retry-After: 60 puts off the
// endpoint's other deliveries, the ones the worker already holds included,
// until the minute has passed; then each goes once.
func TestRetryAfterHoldsTheEndpoint(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, reply{status: 429, header: map[string]string{"Retry-After": "60"}}, reply{status: 200})
	store, clock := newFakeStore(), newFakeClock()
	const n = 6
	for i := range n {
		store.add(newJob("dlv_"+strconv.Itoa(i), rc.srv.URL))
	}
	log, buf := testLogger()
	// One attempt at a time: the first answer comes before any other starts.
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

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("the other deliveries put off", func() bool { return strings.Count(buf.String(), "asked to wait (Retry-After)") == n-1 })
	if got := len(rc.got()); got != 1 {
		t.Fatalf("receiver got %d requests after answering 429 Retry-After: 60, want 1", got)
	}

	clock.Advance(61 * time.Second) // past the Retry-After and the leases
	w.Notify()
	waitFor("every delivery made", func() bool {
		for i := range n {
			if store.delivery(t, "dlv_"+strconv.Itoa(i)).Status != fax.DeliverySucceeded && i != 0 {
				return false
			}
		}
		return true
	})
	if got := len(rc.got()); got != n {
		t.Errorf("receiver got %d requests in all, want %d (the 429 and one each)", got, n)
	}
}
