package webhook

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func BenchmarkSign(b *testing.B) {
	body, err := Payload(sentEvent(), "")
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Unix(specTimestamp, 0)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(testSecret, specMsgID, ts, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPayload(b *testing.B) {
	ev := sentEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Payload(ev, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliverOnce measures one claim of 256 deliveries attempted against
// a loopback receiver that answers 204 at once: signing, the pool and
// connection reuse, without a database.
func BenchmarkDeliverOnce(b *testing.B) {
	const batch = 256
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	clock := newFakeClock()
	w := newTestWorker(nil, clock, Options{BatchSize: batch})
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		store := newFakeStore()
		for i := range batch {
			store.add(newJob("dlv_"+strconv.Itoa(i), srv.URL))
		}
		w.store = store
		b.StartTimer()
		n, err := w.DeliverOnce(b.Context())
		if err != nil || n != batch {
			b.Fatalf("DeliverOnce = %d, %v; want %d, nil", n, err, batch)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/delivery")
}
