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

// fakeSender answers each Send with the next result in turn.
type fakeSender struct {
	mu      sync.Mutex
	results []error
	sends   int
	found   *bool // nil: not a Resumer
	finds   int
}

func (s *fakeSender) Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends++
	if len(s.results) == 0 {
		return "carrier-1", nil
	}
	err := s.results[0]
	s.results = s.results[1:]
	if err != nil {
		return "", err
	}
	return "carrier-1", nil
}

type resumingSender struct{ *fakeSender }

func (s resumingSender) Find(ctx context.Context, f *fax.Fax) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finds++
	return "carrier-found", *s.found, nil
}

type env struct {
	store *sqlite.Store
	clock *storetest.Clock
	d     *dispatch.Dispatcher
}

func setup(t *testing.T, sender dispatch.Sender) *env {
	t.Helper()
	clock := storetest.NewClock()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := dispatch.New(st, dispatch.Options{
		Senders: map[string]dispatch.Sender{"fake": sender}, Now: clock.Now, LeaseFor: time.Minute, Retry: fax.RetryPolicy{Attempts: 3},
		FindSettle: time.Millisecond, FindSpacing: time.Millisecond,
		Document: func(context.Context, *fax.Fax) ([]byte, error) { return []byte("%PDF-1.4"), nil },
	})
	return &env{store: st, clock: clock, d: d}
}

func (e *env) create(t *testing.T) string {
	t.Helper()
	f, _, err := e.store.CreateFax(context.Background(), &fax.Fax{To: "+15551234567", Provider: "fake", Pages: 1}, fax.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

func (e *env) fax(t *testing.T, id string) *fax.Fax {
	t.Helper()
	f, err := e.store.FindFaxByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (e *env) once(t *testing.T) int {
	t.Helper()
	n, err := e.d.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestHandedOnce(t *testing.T) {
	s := &fakeSender{}
	e := setup(t, s)
	id := e.create(t)
	e.once(t)
	f := e.fax(t, id)
	if f.Status != fax.StatusSending || f.ProviderFaxID != "carrier-1" || s.sends != 1 {
		t.Fatalf("got %+v after %d sends", f, s.sends)
	}
	e.clock.Advance(time.Hour)
	if e.once(t); s.sends != 1 {
		t.Errorf("a handed fax was sent again (%d sends)", s.sends)
	}
}

func TestRetryableThenSent(t *testing.T) {
	s := &fakeSender{results: []error{&fax.SendError{Outcome: fax.SendRetryable, RetryAfter: 2 * time.Minute, Err: errors.New("503")}}}
	e := setup(t, s)
	id := e.create(t)
	e.once(t)
	if n := e.once(t); n != 0 {
		t.Fatal("retried before its backoff")
	}
	e.clock.Advance(90 * time.Second)
	if n := e.once(t); n != 0 {
		t.Fatal("Retry-After of 2m not honoured")
	}
	e.clock.Advance(time.Minute)
	e.once(t)
	if f := e.fax(t, id); f.ProviderFaxID != "carrier-1" || s.sends != 2 {
		t.Errorf("got %+v after %d sends, want handed on the second", f, s.sends)
	}
}

func TestPermanentFails(t *testing.T) {
	s := &fakeSender{results: []error{&fax.SendError{Outcome: fax.SendPermanent, Failure: &fax.Failure{Code: fax.FailCarrier, Message: "invalid number", CarrierCode: "422"}}}}
	e := setup(t, s)
	id := e.create(t)
	e.once(t)
	f := e.fax(t, id)
	if f.Status != fax.StatusFailed || f.Failure == nil || f.Failure.Message != "invalid number" {
		t.Fatalf("got %+v", f)
	}
	e.clock.Advance(time.Hour)
	if e.once(t); s.sends != 1 {
		t.Errorf("a failed fax was sent again")
	}
}

func TestRetryableGivesUp(t *testing.T) {
	retry := &fax.SendError{Outcome: fax.SendRetryable, Err: errors.New("refused")}
	s := &fakeSender{results: []error{retry, retry, retry, retry}}
	e := setup(t, s)
	id := e.create(t)
	for i := 0; i < 5; i++ {
		e.once(t)
		e.clock.Advance(time.Hour)
	}
	if f := e.fax(t, id); f.Status != fax.StatusFailed || s.sends != 3 {
		t.Errorf("got %s after %d sends, want failed after MaxAttempts=3", f.Status, s.sends)
	}
}

// TestAmbiguousNeverResent: a timeout after the request was sent is not
// resent; once the lease runs out the carrier is asked, and a fax it has is
// recorded as handed without a second send.
func TestAmbiguousAsksCarrier(t *testing.T) {
	found := true
	s := &fakeSender{results: []error{&fax.SendError{Outcome: fax.SendAmbiguous, Err: context.DeadlineExceeded}}, found: &found}
	e := setup(t, resumingSender{s})
	id := e.create(t)
	e.once(t)
	if n := e.once(t); n != 0 {
		t.Fatal("an ambiguous send was claimed again before its lease ran out")
	}
	e.clock.Advance(2 * time.Minute)
	e.once(t)
	f := e.fax(t, id)
	if s.sends != 1 || s.finds != 1 || f.ProviderFaxID != "carrier-found" {
		t.Errorf("sends %d finds %d fax %+v, want one send, one find, handed", s.sends, s.finds, f)
	}
}

// TestAmbiguousNotFoundResends: a fax is sent again only after the
// carrier said twice, spaced apart, that it has none.
func TestAmbiguousNotFoundResends(t *testing.T) {
	found := false
	s := &fakeSender{results: []error{errors.New("connection reset")}, found: &found}
	e := setup(t, resumingSender{s})
	id := e.create(t)
	e.once(t)
	e.clock.Advance(2 * time.Minute)
	e.once(t)
	if f := e.fax(t, id); s.sends != 2 || s.finds != 2 || f.ProviderFaxID != "carrier-1" {
		t.Errorf("sends %d finds %d fax %+v, want a second send after the carrier twice said it has none", s.sends, s.finds, f)
	}
}

func TestUnknownProviderFails(t *testing.T) {
	e := setup(t, &fakeSender{})
	f, _, _ := e.store.CreateFax(context.Background(), &fax.Fax{To: "+15551234567", Provider: "nobody"}, fax.CreateOptions{})
	e.once(t)
	if got := e.fax(t, f.ID); got.Status != fax.StatusFailed {
		t.Errorf("got %s, want failed", got.Status)
	}
}

type unsureSender struct{ *fakeSender }

func (s unsureSender) Find(ctx context.Context, f *fax.Fax) (string, bool, error) {
	return "", false, errors.New("the carrier cannot be asked")
}

// TestUnconfirmableEnds: a carrier that can never confirm an ambiguous
// send never gets the fax again; it stays open until its result timeout
// and then fails as not confirmed.
func TestUnconfirmableEnds(t *testing.T) {
	s := &fakeSender{results: []error{&fax.SendError{Outcome: fax.SendAmbiguous, Err: context.DeadlineExceeded}}}
	e := setup(t, unsureSender{s})
	id := e.create(t)
	for i := 0; i < 30; i++ {
		e.once(t)
		if f := e.fax(t, id); i < 20 && f.Status != fax.StatusSending {
			t.Fatalf("got %s after %d hours, want sending until the 24h result timeout", f.Status, i)
		}
		e.clock.Advance(time.Hour)
	}
	f := e.fax(t, id)
	if s.sends != 1 || f.Status != fax.StatusFailed || f.Failure.Code != fax.FailNotConfirmed {
		t.Errorf("got %s %+v after %d sends, want failed not_confirmed after one send", f.Status, f.Failure, s.sends)
	}
}
