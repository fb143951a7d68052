package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func testDispatch(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	a := mustCreate(t, s, "+15551230000")
	b := mustCreate(t, s, "+15551230001")
	jobs, err := s.ClaimFaxes(ctx, time.Minute, 10)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("got %d jobs %v, want 2", len(jobs), err)
	}
	for _, j := range jobs {
		if j.Fax.Status != fax.StatusSending || j.Attempt != 1 || j.Resumed {
			t.Errorf("job: got %+v", j)
		}
	}
	if again, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(again) != 0 {
		t.Fatalf("leased faxes claimed twice")
	}
	if err := s.MarkHanded(ctx, a.ID, "prov-a", c.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RescheduleDispatch(ctx, b.ID, c.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(again) != 0 {
		t.Fatalf("rescheduled fax claimed before its time")
	}
	c.Advance(31 * time.Second)
	again, _ := s.ClaimFaxes(ctx, time.Minute, 10)
	if len(again) != 1 || again[0].Fax.ID != b.ID || again[0].Attempt != 2 || again[0].Resumed {
		t.Fatalf("got %+v, want b again as attempt 2", again)
	}
	// The process dies mid-send: the lease runs out and the claim is resumed.
	asDispatchStore(t, s).MarkOnWire(ctx, b.ID)
	c.Advance(2 * time.Minute)
	again, _ = s.ClaimFaxes(ctx, time.Minute, 10)
	if len(again) != 1 || !again[0].Resumed {
		t.Fatalf("got %+v, want b resumed", again)
	}
	if err := s.FailDispatch(ctx, b.ID, &fax.Failure{Code: fax.FailCarrier, Message: "refused"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindFaxByID(ctx, b.ID)
	if got.Status != fax.StatusFailed || got.Failure.Code != fax.FailCarrier {
		t.Errorf("got %+v", got)
	}
	got, _ = s.FindFaxByID(ctx, a.ID)
	if got.ProviderFaxID != "prov-a" || got.Status != fax.StatusSending {
		t.Errorf("got %+v", got)
	}
	c.Advance(time.Hour)
	if again, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(again) != 0 {
		t.Errorf("handed or failed faxes claimed again: %+v", again)
	}
	// Events: queued and sending once each, despite three claims of b.
	want := []fax.EventType{fax.EventFaxQueued, fax.EventFaxSending, fax.EventFaxFailed}
	if got := eventTypes(t, s, b.ID); !equalTypes(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
}
