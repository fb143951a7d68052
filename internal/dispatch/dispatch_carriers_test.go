package dispatch_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/dispatch"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
	"github.com/faxgate/faxgate/internal/storetest"
)

// countingSender records every send per fax and answers each with the
// next outcome (nil: accepted); like GoFax it cannot be asked.
type countingSender struct {
	mu       sync.Mutex
	outcomes []error
	sends    map[string]int
}

func (s *countingSender) Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sends == nil {
		s.sends = map[string]int{}
	}
	s.sends[job.Fax.ID]++
	if len(s.outcomes) == 0 {
		return "id-" + job.Fax.ID, nil
	}
	err := s.outcomes[0]
	s.outcomes = s.outcomes[1:]
	if err != nil {
		return "", err
	}
	return "id-" + job.Fax.ID, nil
}

func (s *countingSender) count(id string) int { s.mu.Lock(); defer s.mu.Unlock(); return s.sends[id] }

func openStore(t *testing.T, clock *storetest.Clock) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func createFor(t *testing.T, st *sqlite.Store, provider string) string {
	t.Helper()
	f, _, err := st.CreateFax(context.Background(), &fax.Fax{To: "+15551234567", Provider: provider, Pages: 1}, fax.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

// TestNoLookupAmbiguousNeverResent: on a carrier that cannot be asked, no
// ambiguous outcome (timeout, reset after the body, cut-off answer, 5xx,
// unreadable 2xx), nor a crash mid-send, ever leads to a second send; the
// fax stays sending, then fails as not confirmed at the result timeout,
// and the carrier's late success still settles it.
func TestNoLookupAmbiguousNeverResent(t *testing.T) {
	clock := storetest.NewClock()
	st := openStore(t, clock)
	amb := func(msg string) error { return &fax.SendError{Outcome: fax.SendAmbiguous, Err: errors.New(msg)} }
	s := &countingSender{outcomes: []error{amb("timeout"), amb("reset after body"), amb("HTTP 504"), amb("200 malformed"), errors.New("unclassified")}}
	d := dispatch.New(st, dispatch.Options{
		Senders: map[string]dispatch.Sender{"gofax": s}, Now: clock.Now, LeaseFor: time.Minute,
		Carriers: map[string]dispatch.Carrier{"gofax": {ResultTimeout: 6 * time.Hour}},
		Document: func(context.Context, *fax.Fax) ([]byte, error) { return []byte("%PDF-1.4"), nil },
	})
	var ids []string
	for range 5 {
		ids = append(ids, createFor(t, st, "gofax"))
	}
	// A sixth fax whose send was on the wire when the process died.
	crashed := createFor(t, st, "gofax")
	ctx := context.Background()
	jobs, _ := st.ClaimFaxes(ctx, time.Minute, 1)
	crashed = jobs[0].Fax.ID
	st.MarkOnWire(ctx, crashed)
	ids = append(ids, crashed)

	for h := 0; h < 8; h++ {
		d.Once(ctx)
		clock.Advance(time.Hour)
	}
	for _, id := range ids {
		want := 1
		if id == crashed {
			want = 0
		}
		if n := s.count(id); n != want {
			t.Errorf("%s: recorded %d sends, want %d", id, n, want)
		}
		f, _ := st.FindFaxByID(ctx, id)
		if f.Status != fax.StatusFailed || f.Failure == nil || f.Failure.Code != fax.FailNotConfirmed {
			t.Errorf("%s: got %s %+v, want failed not_confirmed after the result timeout", id, f.Status, f.Failure)
		}
	}
	if _, err := st.ApplyUpdate(ctx, &fax.Update{Provider: "gofax", Kind: fax.UpdateStatus, FaxID: ids[0], Status: fax.StatusSent, EventKey: "late"}); err != nil {
		t.Fatal(err)
	}
	if f, _ := st.FindFaxByID(ctx, ids[0]); f.Status != fax.StatusSent {
		t.Errorf("got %s after the carrier's late success, want sent", f.Status)
	}
}

// blockingSender holds every send until released, counting them.
type blockingSender struct {
	countingSender
	release chan struct{}
	started chan string
}

func (s *blockingSender) Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (string, error) {
	s.started <- job.Fax.ID
	<-s.release
	return s.countingSender.Send(ctx, job, doc)
}

// TestSlowCarrierDoesNotBlockOthers: with every slot of one carrier taken
// by sends that hang and a queue of its faxes older than the others, the
// other carriers' faxes are still claimed and sent.
func TestSlowCarrierDoesNotBlockOthers(t *testing.T) {
	clock := storetest.NewClock()
	st := openStore(t, clock)
	slow := &blockingSender{release: make(chan struct{}), started: make(chan string, 100)}
	fast := &countingSender{}
	d := dispatch.New(st, dispatch.Options{
		Senders: map[string]dispatch.Sender{"phaxio": slow, "sinch": fast, "gofax": fast}, Now: clock.Now,
		Workers: 8, Concurrency: 3, Poll: 10 * time.Millisecond,
		Document: func(context.Context, *fax.Fax) ([]byte, error) { return []byte("%PDF-1.4"), nil },
	})
	for range 20 {
		createFor(t, st, "phaxio")
	}
	clock.Advance(time.Second)
	others := []string{createFor(t, st, "sinch"), createFor(t, st, "gofax")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	defer func() { close(slow.release); cancel(); <-done }()
	for range 3 {
		<-slow.started
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range others {
		for fast.count(id) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s never sent while the slow carrier's sends hang", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	select {
	case id := <-slow.started:
		t.Errorf("a fourth slow-carrier send (%s) started beyond its 3 slots", id)
	default:
	}
}

// slowFinder is asked about a resumed fax and takes long to answer.
type slowFinder struct {
	countingSender
	finds   chan struct{}
	answer  chan struct{}
	findsMu sync.Mutex
	n       int
}

func (s *slowFinder) Find(ctx context.Context, f *fax.Fax) (string, bool, error) {
	s.findsMu.Lock()
	s.n++
	s.findsMu.Unlock()
	s.finds <- struct{}{}
	<-s.answer
	return "found-1", true, nil
}

// TestLeaseHeldDuringLookup: while the carrier is being asked about a
// resumed fax, its lease is renewed, so no other claim takes it.
func TestLeaseHeldDuringLookup(t *testing.T) {
	clock := storetest.NewClock()
	st := openStore(t, clock)
	s := &slowFinder{finds: make(chan struct{}, 10), answer: make(chan struct{})}
	d := dispatch.New(st, dispatch.Options{
		Senders: map[string]dispatch.Sender{"phaxio": s}, Now: clock.Now, LeaseFor: 30 * time.Millisecond,
		FindSettle: time.Millisecond, FindSpacing: time.Millisecond,
		Document: func(context.Context, *fax.Fax) ([]byte, error) { return []byte("%PDF-1.4"), nil },
	})
	ctx := context.Background()
	id := createFor(t, st, "phaxio")
	jobs, _ := st.ClaimFaxes(ctx, 30*time.Millisecond, 1)
	st.MarkOnWire(ctx, jobs[0].Fax.ID)
	clock.Advance(time.Second)
	done := make(chan struct{})
	go func() { d.Once(ctx); close(done) }()
	<-s.finds
	// The store's clock moves on past several leases while the lookup
	// runs; the renewals (every 10ms of real time) keep it claimed.
	for range 5 {
		time.Sleep(30 * time.Millisecond)
		clock.Advance(20 * time.Millisecond)
		if again, _ := st.ClaimFaxes(ctx, time.Minute, 10); len(again) != 0 {
			t.Fatalf("the fax was claimed again while its lookup ran")
		}
	}
	close(s.answer)
	<-done
	if f, _ := st.FindFaxByID(ctx, id); f.ProviderFaxID != "found-1" || s.count(id) != 0 {
		t.Errorf("got %+v with %d sends, want handed as found, no send", f, s.count(id))
	}
}

// checkingSender reports a final result when asked.
type checkingSender struct {
	countingSender
	mu     sync.Mutex
	checks int
	result *fax.Update
}

func (s *checkingSender) CheckResult(ctx context.Context, f *fax.Fax) (*fax.Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks++
	if s.result == nil {
		return nil, nil
	}
	u := *s.result
	u.FaxID = f.ID
	return &u, nil
}

// TestResultCheckSettles: a handed fax whose callback never comes is
// checked with the carrier after CheckAfter and settled by its answer; a
// carrier that keeps answering "in progress" is failed as not confirmed at
// the result timeout.
func TestResultCheckSettles(t *testing.T) {
	clock := storetest.NewClock()
	st := openStore(t, clock)
	s := &checkingSender{}
	d := dispatch.New(st, dispatch.Options{
		Senders: map[string]dispatch.Sender{"phaxio": s}, Now: clock.Now,
		CheckAfter: 10 * time.Minute, CheckEvery: 10 * time.Minute, ResultTimeout: time.Hour,
		ApplyFunc: func(ctx context.Context, u *fax.Update) error { _, err := st.ApplyUpdate(ctx, u); return err },
		Document:  func(context.Context, *fax.Fax) ([]byte, error) { return []byte("%PDF-1.4"), nil },
	})
	ctx := context.Background()
	a := createFor(t, st, "phaxio")
	d.Once(ctx)
	d.Once(ctx)
	if s.checks != 0 {
		t.Fatalf("checked %d times before CheckAfter", s.checks)
	}
	clock.Advance(11 * time.Minute)
	d.Once(ctx)
	if s.checks != 1 {
		t.Fatalf("got %d checks after CheckAfter, want 1", s.checks)
	}
	for range 6 {
		clock.Advance(11 * time.Minute)
		d.Once(ctx)
	}
	if f, _ := st.FindFaxByID(ctx, a); f.Status != fax.StatusFailed || f.Failure.Code != fax.FailNotConfirmed {
		t.Fatalf("got %s %+v, want failed not_confirmed after the result timeout", f.Status, f.Failure)
	}
	b := createFor(t, st, "phaxio")
	d.Once(ctx)
	s.mu.Lock()
	s.result = &fax.Update{Provider: "phaxio", Kind: fax.UpdateStatus, Status: fax.StatusSent, EventKey: "checked-sent"}
	s.mu.Unlock()
	clock.Advance(11 * time.Minute)
	d.Once(ctx)
	if f, _ := st.FindFaxByID(ctx, b); f.Status != fax.StatusSent {
		t.Errorf("got %s, want sent from the carrier's answer to the check", f.Status)
	}
	if s.count(a) != 1 || s.count(b) != 1 {
		t.Errorf("sends %d and %d, want one each", s.count(a), s.count(b))
	}
}
