package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// dispatchStore is what the per-carrier claim and result-check tests need
// beside Store.
type dispatchStore interface {
	ClaimFaxesPerCarrier(ctx context.Context, leaseFor time.Duration, slots fax.ClaimSlots) ([]*fax.DispatchJob, error)
	ClaimResultChecks(ctx context.Context, holdFor time.Duration, slots fax.ClaimSlots) ([]*fax.DispatchJob, error)
	ScheduleCheck(ctx context.Context, id string, at time.Time) error
	MarkOnWire(ctx context.Context, id string) error
}

func asDispatchStore(t *testing.T, s Store) dispatchStore {
	t.Helper()
	ds, ok := s.(dispatchStore)
	if !ok {
		t.Fatalf("%T has no per-carrier claims or result checks", s)
	}
	return ds
}

func withProvider(p string) func(*fax.Fax) { return func(f *fax.Fax) { f.Provider = p } }

func countByProvider(jobs []*fax.DispatchJob) map[string]int {
	n := map[string]int{}
	for _, j := range jobs {
		n[j.Fax.Provider]++
	}
	return n
}

// testClaimPerCarrier: a claim takes each carrier's free slots from that
// carrier's own queue, so older faxes of a busy carrier never hold back
// another carrier's; Other takes only carriers not named.
func testClaimPerCarrier(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ds := asDispatchStore(t, s)
	for i := range 6 {
		mustCreate(t, s, "+1555123000"+string(rune('0'+i)), withProvider("phaxio"))
		c.Advance(time.Millisecond)
	}
	mustCreate(t, s, "+15551231000", withProvider("sinch"))
	mustCreate(t, s, "+15551231001", withProvider("sinch"))
	mustCreate(t, s, "+15551231002", withProvider("gofax"))

	jobs, err := ds.ClaimFaxesPerCarrier(ctx, time.Minute, fax.ClaimSlots{PerProvider: map[string]int{"phaxio": 2, "sinch": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := countByProvider(jobs); got["phaxio"] != 2 || got["sinch"] != 1 || len(got) != 2 {
		t.Fatalf("got %v, want 2 phaxio and 1 sinch", got)
	}
	// Phaxio has no free slot: its four waiting faxes stay; Other takes
	// the carrier that is not named (gofax), not phaxio or sinch.
	jobs, err = ds.ClaimFaxesPerCarrier(ctx, time.Minute, fax.ClaimSlots{PerProvider: map[string]int{"phaxio": 0, "sinch": 5}, Other: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := countByProvider(jobs); got["sinch"] != 1 || got["gofax"] != 1 || len(got) != 2 {
		t.Fatalf("got %v, want 1 sinch and 1 gofax", got)
	}
	// A lease that ran out is resumed within its carrier's slots too;
	// only a send that was on the wire is marked Resumed.
	if err := ds.MarkOnWire(ctx, jobs[0].Fax.ID); err != nil {
		t.Fatal(err)
	}
	sinchOnWire := jobs[0].Fax.ID
	if jobs[0].Fax.Provider != "sinch" {
		sinchOnWire = jobs[1].Fax.ID
		ds.MarkOnWire(ctx, sinchOnWire)
	}
	c.Advance(2 * time.Minute)
	jobs, _ = ds.ClaimFaxesPerCarrier(ctx, time.Minute, fax.ClaimSlots{PerProvider: map[string]int{"sinch": 5}})
	if len(jobs) != 2 {
		t.Fatalf("got %+v, want both sinch faxes resumed", jobs)
	}
	for _, j := range jobs {
		if j.Resumed != (j.Fax.ID == sinchOnWire) {
			t.Errorf("%s: got Resumed %v, want it only for the fax whose send was on the wire", j.Fax.ID, j.Resumed)
		}
	}
	jobs, _ = ds.ClaimFaxesPerCarrier(ctx, time.Minute, fax.ClaimSlots{PerProvider: map[string]int{"phaxio": 10}})
	if got := countByProvider(jobs); got["phaxio"] != 6 {
		t.Fatalf("got %v, want all 6 phaxio faxes (4 due, 2 resumed)", got)
	}
}

// testResultChecks: a handed fax (or one held as not confirmed) is never
// claimed for sending again; its result check comes due at the time given,
// is held while it runs, keeps the first hand-over time, and ends when the
// fax gets a final status. A carrier's final report settles a fax failed as
// not confirmed.
func testResultChecks(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ds := asDispatchStore(t, s)
	all := fax.ClaimSlots{Other: 10}
	a := mustCreate(t, s, "+15551230000", withProvider("gofax"))
	b := mustCreate(t, s, "+15551230001", withProvider("gofax"))
	if jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(jobs) != 2 {
		t.Fatalf("got %d jobs, want 2", len(jobs))
	}
	handedAt := c.Now()
	// a: the carrier may have it (not confirmed); b: accepted with an id.
	if err := s.MarkHanded(ctx, a.ID, "", c.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkHanded(ctx, b.ID, "gf-b", c.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := ds.ClaimResultChecks(ctx, time.Minute, all); len(jobs) != 0 {
		t.Fatalf("checks claimed before they were due: %+v", jobs)
	}
	// Both await a result: the result queue counts them.
	c.Advance(time.Minute)
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var result *fax.QueueStats
	for i := range st.Queues {
		if st.Queues[i].Name == "result" {
			result = &st.Queues[i]
		}
	}
	if result == nil || result.Depth != 2 || result.OldestAge != time.Minute {
		t.Errorf("result queue: got %+v, want 2 faxes, oldest handed a minute ago", result)
	}
	c.Advance(2*time.Hour - time.Minute)
	if jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(jobs) != 0 {
		t.Fatalf("a handed or unconfirmed fax was claimed for sending again: %+v", jobs)
	}
	if jobs, _ := ds.ClaimResultChecks(ctx, time.Minute, fax.ClaimSlots{PerProvider: map[string]int{"phaxio": 5}}); len(jobs) != 0 {
		t.Fatalf("another carrier's slots claimed gofax checks: %+v", jobs)
	}
	jobs, err := ds.ClaimResultChecks(ctx, time.Minute, fax.ClaimSlots{PerProvider: map[string]int{"gofax": 5}})
	if err != nil || len(jobs) != 2 {
		t.Fatalf("got %d checks %v, want 2", len(jobs), err)
	}
	for _, j := range jobs {
		if !j.Check || j.Resumed || !j.HandedAt.Equal(handedAt) || j.Fax.Status != fax.StatusSending {
			t.Errorf("check: got %+v (handed %v), want a check of a sending fax handed at %v", j, j.HandedAt, handedAt)
		}
	}
	if again, _ := ds.ClaimResultChecks(ctx, time.Minute, all); len(again) != 0 {
		t.Fatalf("a running check was claimed twice: %+v", again)
	}
	// The check runs out without rescheduling (the process died): it is
	// due again; a scheduled one waits for its time.
	c.Advance(61 * time.Second)
	if err := ds.ScheduleCheck(ctx, b.ID, c.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	again, _ := ds.ClaimResultChecks(ctx, time.Minute, all)
	if len(again) != 1 || again[0].Fax.ID != a.ID {
		t.Fatalf("got %+v, want only a's check", again)
	}
	// The carrier's id learned later keeps the hand-over time.
	if err := s.MarkHanded(ctx, a.ID, "gf-a", c.Now()); err != nil {
		t.Fatal(err)
	}
	again, _ = ds.ClaimResultChecks(ctx, time.Minute, all)
	if len(again) != 1 || again[0].Fax.ProviderFaxID != "gf-a" || !again[0].HandedAt.Equal(handedAt) {
		t.Fatalf("got %+v, want a with id gf-a handed at %v", again, handedAt)
	}
	// b gets its final status: no more checks.
	if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "gofax", Kind: fax.UpdateStatus, FaxID: b.ID, Status: fax.StatusSent, EventKey: "b-sent"}); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	if again, _ := ds.ClaimResultChecks(ctx, time.Minute, all); len(again) != 1 || again[0].Fax.ID != a.ID {
		t.Fatalf("got %+v, want only a (b is sent)", again)
	}
	// a is failed as not confirmed; the carrier's late success settles it.
	if err := s.FailDispatch(ctx, a.ID, &fax.Failure{Code: fax.FailNotConfirmed, Message: "not confirmed; check GoFax"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := ds.ClaimResultChecks(ctx, time.Minute, all); len(again) != 0 {
		t.Fatalf("a failed fax was checked: %+v", again)
	}
	if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "gofax", Kind: fax.UpdateStatus, FaxID: a.ID, Status: fax.StatusSent, EventKey: "a-sent"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindFaxByID(ctx, a.ID)
	if got.Status != fax.StatusSent || got.Failure != nil || got.CompletedAt == nil {
		t.Fatalf("got %s %+v, want sent without failure", got.Status, got.Failure)
	}
	evs, _ := s.FindEventsByFax(ctx, a.ID)
	var types []fax.EventType
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if n := len(types); n < 2 || types[n-2] != fax.EventFaxFailed || types[n-1] != fax.EventFaxSent {
		t.Errorf("events %v, want fax.failed then fax.sent last", types)
	}
	// Settled: nothing moves it any more.
	if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "gofax", Kind: fax.UpdateStatus, FaxID: a.ID, Status: fax.StatusFailed, EventKey: "a-failed"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindFaxByID(ctx, a.ID); got.Status != fax.StatusSent {
		t.Errorf("got %s after a later failure report, want sent", got.Status)
	}
}
