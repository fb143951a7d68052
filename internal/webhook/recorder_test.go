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

// batchStore is a fakeStore that records attempts in batches, and refuses
// to record one at a time, so that a test sees which path the worker took.
type batchStore struct {
	*fakeStore
	mu      sync.Mutex
	batches []int
	single  int
}

func (s *batchStore) RecordAttempts(ctx context.Context, ds []fax.Delivery) []error {
	s.mu.Lock()
	s.batches = append(s.batches, len(ds))
	s.mu.Unlock()
	errs := make([]error, len(ds))
	for i, d := range ds {
		errs[i] = s.fakeStore.RecordAttempt(ctx, d.ID, d.Attempts[0], d.Status, d.NextAttemptAt)
	}
	return errs
}

func (s *batchStore) RecordAttempt(ctx context.Context, deliveryID string, a fax.Attempt, status fax.DeliveryStatus, next *time.Time) error {
	s.mu.Lock()
	s.single++
	s.mu.Unlock()
	return s.fakeStore.RecordAttempt(ctx, deliveryID, a, status, next)
}

// TestWorkerBusyEndpoint gives one endpoint a backlog many times what the
// pool holds: every delivery is made once and recorded in batches, none is
// left to a lease (the clock never moves, so one left to its lease would
// never be claimed again), and the cap holds throughout.
func TestWorkerBusyEndpoint(t *testing.T) {
	rc := newReceiver(t)
	var mu sync.Mutex
	inFlight, peak := 0, 0
	rc.setHook(func(*http.Request) {
		mu.Lock()
		inFlight++
		peak = max(peak, inFlight)
		mu.Unlock()
		time.Sleep(100 * time.Microsecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	})
	store := &batchStore{fakeStore: newFakeStore()}
	clock := newFakeClock()
	const n = 300
	store.recorded = make(chan struct{}, n)
	for i := range n {
		store.add(newJob("dlv_"+strconv.Itoa(i), rc.srv.URL))
	}
	w := newTestWorker(store, clock, Options{Workers: 8, PerHost: 2, PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	waitRecorded(t, store.fakeStore, n)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v", err)
	}
	for i := range n {
		if d := store.delivery(t, "dlv_"+strconv.Itoa(i)); d.Status != fax.DeliverySucceeded || d.AttemptCount != 1 {
			t.Errorf("dlv_%d: %s after %d attempts, want succeeded after 1", i, d.Status, d.AttemptCount)
		}
	}
	if got := len(rc.got()); got != n {
		t.Errorf("receiver got %d requests, want %d", got, n)
	}
	if mu.Lock(); peak > 2 {
		t.Errorf("receiver saw %d requests at once, want at most 2", peak)
	}
	mu.Unlock()
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.single != 0 {
		t.Errorf("%d attempts recorded one at a time, want all in batches", store.single)
	}
	total := 0
	for _, b := range store.batches {
		total += b
	}
	if total != n {
		t.Errorf("batches recorded %d attempts, want %d", total, n)
	}
}

// TestWorkerRecordsBeforeReturning: Run returns only once every attempt it
// made is recorded, batches included.
func TestWorkerRecordsBeforeReturning(t *testing.T) {
	rc := newSlowReceiver(t)
	store := &batchStore{fakeStore: newFakeStore()}
	clock := newFakeClock()
	for i := range 4 {
		store.add(newJob("dlv_"+strconv.Itoa(i), rc.srv.URL))
	}
	w := newTestWorker(store, clock, Options{Workers: 4, PerHost: 4, PollInterval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	for range 4 {
		<-rc.entered
	}
	cancel() // the attempts in flight finish and are recorded
	rc.unblock()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v", err)
	}
	for i := range 4 {
		if d := store.delivery(t, "dlv_"+strconv.Itoa(i)); d.Status != fax.DeliverySucceeded || d.AttemptCount != 1 {
			t.Errorf("dlv_%d: %s after %d attempts, want succeeded after 1, recorded before Run returned", i, d.Status, d.AttemptCount)
		}
	}
}
