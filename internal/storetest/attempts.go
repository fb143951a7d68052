package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// failoverStore is a store that moves a fax to the next carrier and
// records a hand-over for one attempt only.
type failoverStore interface {
	FailoverDispatch(ctx context.Context, id string, failure *fax.Failure, fallback []string) (string, error)
	MarkHandedAttempt(ctx context.Context, id string, attempts int, providerFaxID string, checkAt time.Time) error
}

func asFailoverStore(t *testing.T, s Store) failoverStore {
	t.Helper()
	fs, ok := s.(failoverStore)
	if !ok {
		t.Fatalf("%T cannot fail over", s)
	}
	return fs
}

func withMaxAttempts(n int) func(*fax.Fax) { return func(f *fax.Fax) { f.MaxAttempts = n } }

func busy(f *fax.Fax, job string) *fax.Update {
	return &fax.Update{Provider: f.Provider, FaxID: f.ID, ProviderFaxID: job, Kind: fax.UpdateStatus, Status: fax.StatusFailed,
		Failure: &fax.Failure{Code: fax.FailBusy, Message: "The receiving line was busy.", CarrierType: "lineError", CarrierCode: "17"}}
}

// claimOne claims the one due fax, which must be want.
func claimOne(t *testing.T, s Store, want string) *fax.DispatchJob {
	t.Helper()
	jobs, err := s.ClaimFaxes(context.Background(), time.Minute, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Fax.ID != want {
		t.Fatalf("claim: got %d jobs %v, want %s", len(jobs), err, want)
	}
	return jobs[0]
}

// testRedial: a busy line puts the fax back in line for the redial
// interval (5m by default) with fax.retry_scheduled, keeping the carrier's
// old job id in the attempt record; a late report about that job touches
// nothing; the last allowed dial fails the fax with every attempt listed.
func testRedial(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551239000", withMaxAttempts(3))
	if got, _ := s.FindFaxByID(ctx, f.ID); got.MaxAttempts != 3 {
		t.Fatalf("max attempts: got %d, want 3", got.MaxAttempts)
	}
	for n, job := range []string{"job-1", "job-2"} {
		j := claimOne(t, s, f.ID)
		if len(j.Fax.Attempts) != n || j.Attempt != 1 {
			t.Fatalf("dial %d: claimed with %d earlier attempts, hand-over %d; want %d, 1", n+1, len(j.Fax.Attempts), j.Attempt, n)
		}
		if err := s.MarkHanded(ctx, f.ID, job, c.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		r, err := s.ApplyUpdate(ctx, busy(j.Fax, job))
		if err != nil || !r.Applied {
			t.Fatalf("busy on dial %d: got %+v %v, want applied", n+1, r, err)
		}
		got, _ := s.FindFaxByID(ctx, f.ID)
		if got.Status != fax.StatusQueued || got.ProviderFaxID != "" || got.Failure != nil || len(got.Attempts) != n+1 {
			t.Fatalf("after busy %d: got status %s, carrier id %q, failure %+v, %d attempts; want queued, none, none, %d",
				n+1, got.Status, got.ProviderFaxID, got.Failure, len(got.Attempts), n+1)
		}
		a := got.Attempts[n]
		if a.Number != n+1 || a.ProviderFaxID != job || a.Provider != "simulator" || a.Outcome != fax.AttemptRedial ||
			a.Failure == nil || a.Failure.Code != fax.FailBusy || a.RetryAt == nil || !a.RetryAt.Equal(c.Now().Add(5*time.Minute)) {
			t.Fatalf("attempt %d: got %+v, want a busy redial of %s due in 5m", n+1, a, job)
		}
		evs, _ := s.FindEventsByFax(ctx, f.ID)
		last := evs[len(evs)-1]
		var data struct {
			Attempt int    `json:"attempt"`
			Reason  string `json:"reason"`
			RetryAt string `json:"retry_at"`
			Count   int    `json:"retry_count"`
		}
		if err := json.Unmarshal(last.Data, &data); err != nil || last.Type != fax.EventFaxRetryScheduled ||
			data.Attempt != n+2 || data.Reason != fax.FailBusy || data.RetryAt == "" || data.Count != n+1 {
			t.Fatalf("event after busy %d: got %s %s, want fax.retry_scheduled for attempt %d, reason busy", n+1, last.Type, last.Data, n+2)
		}
		// Not before the interval.
		c.Advance(4 * time.Minute)
		if jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(jobs) != 0 {
			t.Fatalf("redial claimed before its time")
		}
		// A late report about the ended call changes nothing.
		late := busy(j.Fax, job)
		late.Status, late.Failure, late.EventKey = fax.StatusSent, nil, "late-"+job
		if r, err := s.ApplyUpdate(ctx, late); err != nil || r.Applied {
			t.Fatalf("late report about %s: got %+v %v, want not applied", job, r, err)
		}
		c.Advance(time.Minute)
	}
	j := claimOne(t, s, f.ID)
	if err := s.MarkHanded(ctx, f.ID, "job-3", c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyUpdate(ctx, busy(j.Fax, "job-3")); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Status != fax.StatusFailed || got.Failure == nil || got.Failure.Code != fax.FailBusy || got.ProviderFaxID != "job-3" || len(got.Attempts) != 2 {
		t.Fatalf("after the last dial: got %s %+v %q with %d earlier attempts, want failed busy on job-3 with 2", got.Status, got.Failure, got.ProviderFaxID, len(got.Attempts))
	}
	want := []fax.EventType{fax.EventFaxQueued, fax.EventFaxSending, fax.EventFaxRetryScheduled, fax.EventFaxSending,
		fax.EventFaxRetryScheduled, fax.EventFaxSending, fax.EventFaxFailed}
	if got := eventTypes(t, s, f.ID); !equalTypes(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
	evs, _ := s.FindEventsByFax(ctx, f.ID)
	var failed struct {
		Attempts []struct {
			Number        int    `json:"number"`
			ProviderFaxID string `json:"provider_fax_id"`
			Outcome       string `json:"outcome"`
			Error         struct {
				Code string `json:"code"`
			} `json:"error"`
		} `json:"attempts"`
	}
	if err := json.Unmarshal(evs[len(evs)-1].Data, &failed); err != nil || len(failed.Attempts) != 3 {
		t.Fatalf("fax.failed data: got %s, want three attempts", evs[len(evs)-1].Data)
	}
	for i, a := range failed.Attempts {
		if a.Number != i+1 || a.Error.Code != fax.FailBusy || a.ProviderFaxID != []string{"job-1", "job-2", "job-3"}[i] {
			t.Errorf("fax.failed attempt %d: got %+v", i+1, a)
		}
	}
	c.Advance(time.Hour)
	if jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(jobs) != 0 {
		t.Errorf("failed fax claimed again: %+v", jobs)
	}
}

// testNoRedial: a failure after a page was sent, one of no redial class, a
// fax of one attempt and a not_confirmed end all fail the fax at once.
func testNoRedial(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	partial := mustCreate(t, s, "+15551239001", withMaxAttempts(3))
	claimOne(t, s, partial.ID)
	s.MarkHanded(ctx, partial.ID, "p-1", c.Now().Add(time.Hour))
	if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: partial.ID, Kind: fax.UpdatePage, Page: 1, EventKey: "page-1"}); err != nil {
		t.Fatal(err)
	}
	s.ApplyUpdate(ctx, busy(partial, "p-1"))

	carrierErr := mustCreate(t, s, "+15551239002", withMaxAttempts(3))
	claimOne(t, s, carrierErr.ID)
	s.MarkHanded(ctx, carrierErr.ID, "c-1", c.Now().Add(time.Hour))
	u := busy(carrierErr, "c-1")
	u.Failure = &fax.Failure{Code: fax.FailLine, CarrierType: "lineError"}
	s.ApplyUpdate(ctx, u)

	once := mustCreate(t, s, "+15551239003")
	claimOne(t, s, once.ID)
	s.MarkHanded(ctx, once.ID, "o-1", c.Now().Add(time.Hour))
	s.ApplyUpdate(ctx, busy(once, "o-1"))

	unconfirmed := mustCreate(t, s, "+15551239004", withMaxAttempts(3))
	claimOne(t, s, unconfirmed.ID)
	s.FailDispatch(ctx, unconfirmed.ID, &fax.Failure{Code: fax.FailNotConfirmed, Message: "not confirmed"})

	for _, id := range []string{partial.ID, carrierErr.ID, once.ID, unconfirmed.ID} {
		got, _ := s.FindFaxByID(ctx, id)
		if got.Status != fax.StatusFailed || len(got.Attempts) != 0 {
			t.Errorf("%s: got %s with %d earlier attempts, want failed without a redial", id, got.Status, len(got.Attempts))
		}
	}
	c.Advance(time.Hour)
	if jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(jobs) != 0 {
		t.Errorf("claimed again: %d faxes", len(jobs))
	}
}

// testRedialWhileSending: a carrier that reports the busy line before its
// send is recorded (the simulator does, from inside the send) leaves the
// fax in line for its redial: the late hand-over record does not take it
// out.
func testRedialWhileSending(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551239005", withMaxAttempts(2))
	fs := asFailoverStore(t, s)
	j := claimOne(t, s, f.ID)
	if _, err := s.ApplyUpdate(ctx, busy(j.Fax, "w-1")); err != nil {
		t.Fatal(err)
	}
	if err := fs.MarkHandedAttempt(ctx, f.ID, 0, "w-1", c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c.Advance(5 * time.Minute)
	j = claimOne(t, s, f.ID)
	if j.Check || len(j.Fax.Attempts) != 1 || j.Fax.Attempts[0].ProviderFaxID != "w-1" || j.Fax.ProviderFaxID != "" {
		t.Fatalf("got %+v with attempts %+v, want the redial, the first job kept in the attempt", j, j.Fax.Attempts)
	}
	// The first attempt's hand-over, recorded only now, leaves the redial
	// alone; the redial's own is recorded.
	if err := fs.MarkHandedAttempt(ctx, f.ID, 0, "w-1", c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindFaxByID(ctx, f.ID); got.ProviderFaxID != "" {
		t.Fatalf("the first attempt's hand-over gave the redial carrier id %q", got.ProviderFaxID)
	}
	if err := fs.MarkHandedAttempt(ctx, f.ID, 1, "w-2", c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindFaxByID(ctx, f.ID); got.ProviderFaxID != "w-2" {
		t.Fatalf("the redial's hand-over: got carrier id %q, want w-2", got.ProviderFaxID)
	}
}

// testFailover: a fax its carrier did not accept moves to the next carrier
// not yet tried, due at once, the refusal kept as an attempt; with none
// left, nothing changes.
func testFailover(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	fs := asFailoverStore(t, s)
	fallback := []string{"phaxio", "sinch"}
	f := mustCreate(t, s, "+15551239006", withProvider("phaxio"), withMaxAttempts(2))
	claimOne(t, s, f.ID)
	refused := &fax.Failure{Code: fax.FailCarrier, Message: "Phaxio refused the API key.", CarrierCode: "401"}
	next, err := fs.FailoverDispatch(ctx, f.ID, refused, fallback)
	if err != nil || next != "sinch" {
		t.Fatalf("failover: got %q %v, want sinch", next, err)
	}
	j := claimOne(t, s, f.ID)
	if j.Fax.Provider != "sinch" || j.Fax.Status != fax.StatusSending || len(j.Fax.Attempts) != 1 || j.Fax.DialNumber() != 1 {
		t.Fatalf("claimed: got provider %s, status %s, %d attempts, dial %d; want sinch, sending, 1, 1", j.Fax.Provider, j.Fax.Status, len(j.Fax.Attempts), j.Fax.DialNumber())
	}
	a := j.Fax.Attempts[0]
	if a.Provider != "phaxio" || a.Outcome != fax.AttemptFailover || a.Failure == nil || a.Failure.CarrierCode != "401" || a.RetryAt != nil {
		t.Errorf("attempt: got %+v, want phaxio's refusal", a)
	}
	next, err = fs.FailoverDispatch(ctx, f.ID, refused, fallback)
	if err != nil || next != "" {
		t.Fatalf("second failover: got %q %v, want none left", next, err)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Provider != "sinch" || len(got.Attempts) != 1 {
		t.Errorf("got provider %s with %d attempts, want sinch with 1", got.Provider, len(got.Attempts))
	}
	// The fax is sinch's now: its callbacks apply, phaxio's do not.
	if r, _ := s.ApplyUpdate(ctx, &fax.Update{Provider: "phaxio", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent}); r.Applied {
		t.Errorf("phaxio's report applied to a fax failed over to sinch")
	}
	if r, _ := s.ApplyUpdate(ctx, &fax.Update{Provider: "sinch", FaxID: f.ID, ProviderFaxID: "s-1", Kind: fax.UpdateStatus, Status: fax.StatusSent}); !r.Applied {
		t.Errorf("sinch's report not applied")
	}
	got, _ = s.FindFaxByID(ctx, f.ID)
	if got.Status != fax.StatusSent || got.Provider != "sinch" || len(got.Attempts) != 1 {
		t.Errorf("got %s via %s with %d attempts, want sent via sinch with 1", got.Status, got.Provider, len(got.Attempts))
	}
}
