package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/ingest"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// hangingResolver is a carrier fetch that hangs for GoFax until released
// and answers at once for every other carrier, counting GoFax fetches in
// flight.
type hangingResolver struct {
	release chan struct{}
	mu      sync.Mutex
	now     int // GoFax fetches in flight
	peak    int
	started chan string // each fetch's provider as it starts
}

func (h *hangingResolver) resolve(ctx context.Context, u *fax.Update) error {
	h.started <- u.Provider
	if u.Provider == "gofax" {
		h.mu.Lock()
		h.now++
		h.peak = max(h.peak, h.now)
		h.mu.Unlock()
		defer func() { h.mu.Lock(); h.now--; h.mu.Unlock() }()
		select {
		case <-h.release:
		case <-ctx.Done():
			return fax.Errorf(fax.ECodeUnavailable, "canceled")
		}
	}
	u.Document.Bytes = []byte("%PDF-1.4 test")
	return nil
}

// TestFetchConcurrencyPerCarrier: six GoFax downloads hang (as a carrier
// fetch does until its 2-minute timeout); a Phaxio fax received after them
// is still fetched and stored meanwhile, and no more than FetchPerCarrier
// GoFax downloads run at once.
func TestFetchConcurrencyPerCarrier(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "faxgate.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blobs, err := blob.NewDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	h := &hangingResolver{release: make(chan struct{}), started: make(chan string, 100)}
	in := ingest.New(ingest.Options{Store: s, Blobs: blobs, Resolve: h.resolve, FetchPerCarrier: 4})
	enqueue := func(provider string, id int) {
		t.Helper()
		u := fax.Update{Provider: provider, Kind: fax.UpdateInbound, ProviderFaxID: fmt.Sprint(id), Status: fax.StatusReceived,
			From: "+15551230000", To: "+15559870000", Pages: 1, Document: &fax.InboundDocument{FetchID: fmt.Sprint(id)}}
		if r, err := in.Apply(ctx, &u); err != nil || !r.Applied {
			t.Fatalf("enqueue: %+v %v", r, err)
		}
		time.Sleep(2 * time.Millisecond) // distinct due times: GoFax's jobs are older
	}
	for i := range 6 {
		enqueue("gofax", 100+i)
	}
	enqueue("phaxio", 200)

	done := make(chan error, 1)
	go func() { done <- in.RunFetcher(ctx) }()

	// received counts the received faxes whose document was stored (those
	// still pending are listed too, but not stored yet), by status.
	received := func() map[fax.Status]int {
		fs, _, err := s.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Inbound, Limit: fax.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		n := map[fax.Status]int{}
		for _, f := range fs {
			if f.DocumentStatus != fax.DocumentPending {
				n[f.Status]++
			}
		}
		return n
	}
	wait := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				h.mu.Lock()
				t.Fatalf("%s: not after 20s (GoFax fetches in flight %d, received %v)", what, h.now, received())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// While GoFax's downloads hang, Phaxio's fax is stored.
	wait("the Phaxio fax stored while GoFax hangs", func() bool { return received()[fax.StatusReceived] == 1 })
	wait("four GoFax fetches under way", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.now == 4 })
	if got := received()[fax.StatusReceived]; got != 1 {
		t.Errorf("got %d received faxes while GoFax hangs, want 1 (Phaxio's)", got)
	}
	close(h.release)
	wait("every fax stored once GoFax answers", func() bool { return received()[fax.StatusReceived] == 7 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h.peak != 4 {
		t.Errorf("got %d GoFax fetches at once, want at most FetchPerCarrier (4)", h.peak)
	}
	if n := len(h.started); n != 7 {
		t.Errorf("got %d fetches, want 7 (each job once)", n)
	}
}
