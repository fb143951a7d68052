package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faxgate/faxgate/internal/fax"
)

// gatedStore counts its Stats reads; each read waits until the test lets
// it through and reports the count the test set.
type gatedStore struct {
	calls   atomic.Int32
	entered chan struct{} // gets a value as each read starts
	mu      sync.Mutex
	release chan struct{}
	sent    int64
}

func newGatedStore() *gatedStore {
	return &gatedStore{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (s *gatedStore) Stats(ctx context.Context) (fax.Stats, error) {
	s.calls.Add(1)
	s.entered <- struct{}{}
	s.mu.Lock()
	release, sent := s.release, s.sent
	s.mu.Unlock()
	select {
	case <-release:
	case <-ctx.Done():
		return fax.Stats{}, ctx.Err()
	}
	return fax.Stats{Faxes: []fax.StatsCount{{Provider: "simulator", Direction: fax.Outbound, Status: "sent", Count: sent}}}, nil
}

// next makes later reads wait for a new release and report sent.
func (s *gatedStore) next(sent int64) {
	s.mu.Lock()
	s.release, s.sent = make(chan struct{}), sent
	s.mu.Unlock()
}

func (s *gatedStore) open() {
	s.mu.Lock()
	close(s.release)
	s.mu.Unlock()
}

// TestConcurrentScrapesShareOneRead: eight scrapes at once run one store
// read between them, and scrapes within the cache period run none.
func TestConcurrentScrapesShareOneRead(t *testing.T) {
	st := newGatedStore()
	st.next(3)
	m := New(st, nil, slog.New(slog.DiscardHandler), time.Hour)
	get := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	var wg sync.WaitGroup
	bodies := make([]string, 8)
	for i := range bodies {
		wg.Add(1)
		go func() { defer wg.Done(); bodies[i] = get() }()
	}
	<-st.entered
	st.open()
	wg.Wait()
	for range 4 {
		bodies = append(bodies, get())
	}
	if n := st.calls.Load(); n != 1 {
		t.Errorf("12 scrapes made %d store reads, want 1", n)
	}
	want := `faxgate_faxes{direction="outbound",provider="simulator",status="sent"} 3`
	for i, b := range bodies {
		if !strings.Contains(b, want) || !strings.Contains(b, "faxgate_store_scrape_error 0") {
			t.Errorf("scrape %d lacks %s and no scrape error:\n%s", i, want, b)
		}
	}
}

// TestStaleFiguresServedWhileRead: once the cache period has passed, a
// scrape gets the last figures at once and starts one read, which every
// scrape meanwhile shares; its figures show once it ends.
func TestStaleFiguresServedWhileRead(t *testing.T) {
	st := newGatedStore()
	st.next(1)
	var clock atomic.Int64
	c := newStatsCache(st, slog.New(slog.DiscardHandler), time.Minute)
	c.now = func() time.Time { return time.Unix(clock.Load(), 0) }
	reg := prometheus.NewRegistry()
	reg.MustRegister(newStoreCollector(c))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	get := func() string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	sent := func(n string) string {
		return `faxgate_faxes{direction="outbound",provider="simulator",status="sent"} ` + n + "\n"
	}
	st.open()
	if b := get(); !strings.Contains(b, sent("1")) {
		t.Fatalf("first scrape:\n%s", b)
	}
	clock.Add(61)
	st.next(2) // the next read waits until released
	for range 5 {
		if b := get(); !strings.Contains(b, sent("1")) {
			t.Fatalf("scrape while the read runs: want the last figures at once, got:\n%s", b)
		}
	}
	<-st.entered
	<-st.entered
	if n := st.calls.Load(); n != 2 {
		t.Fatalf("5 scrapes past the cache period made %d reads in all, want 2", n)
	}
	st.open()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(get(), sent("2")) {
		if time.Now().After(deadline) {
			t.Fatal("the read's figures never showed")
		}
		time.Sleep(time.Millisecond)
	}
	if n := st.calls.Load(); n != 2 {
		t.Errorf("got %d reads, want 2", n)
	}
}
