package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func testApplyTransitions(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000")
	apply := func(u fax.Update) fax.ApplyResult {
		t.Helper()
		u.Provider, u.FaxID = "simulator", f.ID
		r, err := s.ApplyUpdate(ctx, &u)
		if err != nil {
			t.Fatalf("ApplyUpdate(%+v): %v", u, err)
		}
		return r
	}
	if r := apply(fax.Update{Kind: fax.UpdatePage, Page: 1, ProviderFaxID: "p1"}); !r.Applied {
		t.Errorf("page 1: got %+v, want applied", r)
	}
	if r := apply(fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusSent, Pages: 2, EventKey: "final"}); !r.Applied {
		t.Errorf("sent: got %+v, want applied", r)
	}
	if r := apply(fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusFailed, EventKey: "late-fail"}); !r.Stale || r.Applied {
		t.Errorf("late failure: got %+v, want stale", r)
	}
	if r := apply(fax.Update{Kind: fax.UpdatePage, Page: 2, EventKey: "late-page"}); !r.Stale {
		t.Errorf("late page: got %+v, want stale", r)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Status != fax.StatusSent || got.ProviderFaxID != "p1" || got.CompletedAt == nil || got.PagesSent != 2 {
		t.Errorf("got %+v, want sent with provider id p1", got)
	}
	want := []fax.EventType{fax.EventFaxQueued, fax.EventFaxSending, fax.EventFaxPageSent, fax.EventFaxSent}
	if got := eventTypes(t, s, f.ID); !equalTypes(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
}

func testApplyDuplicateAndUnknown(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000")
	u := fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusFailed,
		Failure: &fax.Failure{Code: fax.FailBusy, Message: "busy"}}
	for i := 0; i < 5; i++ {
		r, err := s.ApplyUpdate(ctx, &u)
		if err != nil {
			t.Fatal(err)
		}
		if (i == 0) != r.Applied || (i > 0) != r.Duplicate {
			t.Errorf("delivery %d: got %+v", i, r)
		}
		if r.FaxID != f.ID {
			t.Errorf("delivery %d: got fax id %q, want %q", i, r.FaxID, f.ID)
		}
	}
	if n := len(eventTypes(t, s, f.ID)); n != 2 {
		t.Errorf("got %d events, want 2 (queued, failed)", n)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Failure == nil || got.Failure.Code != fax.FailBusy {
		t.Errorf("failure: got %+v", got.Failure)
	}
	r, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: "fax_unknown", Kind: fax.UpdateStatus, Status: fax.StatusSent})
	if err != nil || !r.Unknown || r.Applied {
		t.Errorf("unknown: got %+v %v", r, err)
	}
	r, err = s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", ProviderFaxID: "nobody", Kind: fax.UpdateStatus, Status: fax.StatusSent})
	if err != nil || !r.Unknown {
		t.Errorf("unknown by provider id: got %+v %v", r, err)
	}
}

func testApplyOtherProvider(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000")
	r, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "phaxio", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
	if err != nil || !r.Unknown {
		t.Fatalf("got %+v %v, want unknown: a carrier may only touch its own faxes", r, err)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Status != fax.StatusQueued {
		t.Errorf("got %s, want queued", got.Status)
	}
}

func testReceive(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	bound := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook", Numbers: []string{"+15559870000"}})
	global := mustEndpoint(t, s, &fax.Endpoint{URL: "https://b.example/hook"})
	u := fax.Update{Provider: "phaxio", Kind: fax.UpdateInbound, ProviderFaxID: "98765", Status: fax.StatusReceived,
		From: "+15551230000", To: "+15559870000", Pages: 3,
		Document: &fax.InboundDocument{Key: "in/x.pdf", SHA256: "abc", Size: 10}}
	r, err := s.ApplyUpdate(ctx, &u)
	if err != nil || !r.Applied || r.FaxID == "" {
		t.Fatalf("got %+v %v", r, err)
	}
	r2, err := s.ApplyUpdate(ctx, &u)
	if err != nil || !r2.Duplicate || r2.FaxID != r.FaxID {
		t.Fatalf("repeat: got %+v %v, want duplicate of %s", r2, err, r.FaxID)
	}
	f, _ := s.FindFaxByID(ctx, r.FaxID)
	if f.Direction != fax.Inbound || f.Status != fax.StatusReceived || f.Pages != 3 || f.DocumentKey != "in/x.pdf" || f.DocumentSHA256 != "abc" {
		t.Errorf("got %+v", f)
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: f.ID})
	if len(ds) != 1 || ds[0].EndpointID != bound.ID {
		t.Errorf("got deliveries %+v, want one to the number's endpoint %s (not global %s)", ds, bound.ID, global.ID)
	}
	// Another number goes to the global endpoint.
	u.ProviderFaxID, u.To = "98766", "+15559870001"
	r, _ = s.ApplyUpdate(ctx, &u)
	ds, _, _ = s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: r.FaxID})
	if len(ds) != 1 || ds[0].EndpointID != global.ID {
		t.Errorf("got deliveries %+v, want one to the global endpoint", ds)
	}
	in, _, _ := s.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Inbound})
	if len(in) != 2 {
		t.Errorf("got %d inbound, want 2", len(in))
	}
}

// testConcurrentApply sends many updates at once, as a carrier flood would:
// every one must be applied exactly once, whatever the batching.
func testConcurrentApply(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/post"})
	const n = 40
	faxes := make([]*fax.Fax, n)
	for i := range faxes {
		faxes[i] = mustCreate(t, s, "+15551230000")
	}
	var wg sync.WaitGroup
	errs := make(chan error, n*3)
	for i := 0; i < n; i++ {
		for r := 0; r < 3; r++ { // each callback delivered three times
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: faxes[i].ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{Limit: fax.MaxLimit})
	if len(ds) != n {
		t.Errorf("got %d deliveries, want %d (one fax.sent per fax)", len(ds), n)
	}
	for _, f := range faxes {
		got, _ := s.FindFaxByID(ctx, f.ID)
		if got.Status != fax.StatusSent {
			t.Errorf("%s: got %s, want sent", f.ID, got.Status)
		}
	}
}
