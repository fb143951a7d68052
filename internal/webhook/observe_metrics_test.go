package webhook

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestWorkerObservesAttempts: every attempt made reaches ObserveFunc with
// its outcome, so the delivery metrics move.
func TestWorkerObservesAttempts(t *testing.T) {
	t.Parallel()
	ok := newReceiver(t, reply{status: http.StatusOK})
	busy := newReceiver(t, reply{status: http.StatusInternalServerError})
	gone := newReceiver(t, reply{status: http.StatusGone})
	store, clock := newFakeStore(), newFakeClock()
	store.add(newJob("dlv_ok", ok.srv.URL))
	store.add(newJob("dlv_busy", busy.srv.URL))
	store.add(newJob("dlv_gone", gone.srv.URL))
	var mu sync.Mutex
	var got []string
	w := newTestWorker(store, clock, Options{ObserveFunc: func(outcome string, latency time.Duration) {
		if latency < 0 {
			t.Errorf("latency %v, want >= 0", latency)
		}
		mu.Lock()
		got = append(got, outcome)
		mu.Unlock()
	}})
	mustDeliverOnce(t, w, 3)
	slices.Sort(got)
	if want := []string{"failed", "retry", "succeeded"}; !slices.Equal(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
	if d := store.delivery(t, "dlv_busy"); d.Status != fax.DeliveryPending {
		t.Errorf("dlv_busy status %s, want pending", d.Status)
	}
}
