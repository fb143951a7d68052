package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// BenchmarkRun measures Run delivering 512 deliveries to one loopback
// receiver that answers 204 at once: the worker loop, the per-destination
// cap, the attempt and its record, without a database.
func BenchmarkRun(b *testing.B) {
	const batch = 512
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	clock := newFakeClock()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		store := newFakeStore()
		store.recorded = make(chan struct{}, batch)
		for i := range batch {
			store.add(newJob("dlv_"+strconv.Itoa(i), srv.URL))
		}
		w := newTestWorker(store, clock, Options{})
		ctx, cancel := context.WithCancel(b.Context())
		ran := make(chan error, 1)
		b.StartTimer()
		go func() { ran <- w.Run(ctx) }()
		w.Notify()
		for range batch {
			<-store.recorded
		}
		b.StopTimer()
		cancel()
		<-ran
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/delivery")
}
