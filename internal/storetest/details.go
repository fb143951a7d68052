package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// detailsOf reads the call's details from an event's data, as webhooks and
// the timeline show them.
func detailsOf(t *testing.T, e *fax.Event) fax.Details {
	t.Helper()
	var d struct {
		StationID       string `json:"station_id"`
		CallerID        string `json:"caller_id"`
		DurationSeconds int    `json:"duration_seconds"`
		BitRate         int    `json:"bit_rate"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatalf("event %s data: %v", e.ID, err)
	}
	return fax.Details{StationID: d.StationID, CallerID: d.CallerID, DurationSeconds: d.DurationSeconds, BitRate: d.BitRate}
}

func lastEvent(t *testing.T, s Store, faxID string, typ fax.EventType) *fax.Event {
	t.Helper()
	evs, err := s.FindEventsByFax(context.Background(), faxID)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			return evs[i]
		}
	}
	t.Fatalf("fax %s has no %s event", faxID, typ)
	return nil
}

// testCarrierDetails: what a carrier tells about a received fax's call is
// kept on the fax, listed, and frozen into its fax.received event, whether
// the document came with the webhook or was fetched by an inbound job.
func testCarrierDetails(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	want := fax.Details{StationID: "ACME FAX", CallerID: "anonymous", DurationSeconds: 24, BitRate: 14400}
	u := fax.Update{Provider: "gofax", Kind: fax.UpdateInbound, ProviderFaxID: "4851543", Status: fax.StatusReceived,
		To: "+61712344321", Pages: 1, Details: want, Document: &fax.InboundDocument{Key: "inbound/d.pdf", SHA256: "abc", Size: 3}}
	r, err := s.ApplyUpdate(ctx, &u)
	if err != nil || !r.Applied {
		t.Fatalf("receive: %+v %v", r, err)
	}
	f, err := s.FindFaxByID(ctx, r.FaxID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Details != want {
		t.Errorf("received fax details: got %+v, want %+v", f.Details, want)
	}
	if got := detailsOf(t, lastEvent(t, s, f.ID, fax.EventFaxReceived)); got != want {
		t.Errorf("fax.received data details: got %+v, want %+v", got, want)
	}
	list, _, err := s.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Inbound})
	if err != nil || len(list) != 1 || list[0].Details != want {
		t.Errorf("listed: got %+v %v, want one fax with %+v", list, err, want)
	}

	// Through an inbound job: the details survive the job's wait for its
	// document.
	partial := fax.Details{StationID: "+61 3 9876 1234", BitRate: 9600}
	u2 := fax.Update{Provider: "phaxio", Kind: fax.UpdateInbound, ProviderFaxID: "778", Status: fax.StatusReceived,
		From: "+15551230000", To: "+15559870000", Pages: 2, Details: partial, Document: &fax.InboundDocument{URL: "https://files.phaxio.com/x"}}
	if r, err := s.EnqueueInbound(ctx, &u2); err != nil || !r.Applied {
		t.Fatalf("enqueue: %+v %v", r, err)
	}
	jobs, err := s.ClaimInboundJobs(ctx, time.Minute, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %+v %v", jobs, err)
	}
	done := jobs[0].Update
	done.Document = &fax.InboundDocument{Key: "inbound/y.pdf", SHA256: "def", Size: 3}
	r, err = s.CompleteInbound(ctx, jobs[0].ID, &done)
	if err != nil || !r.Applied {
		t.Fatalf("complete: %+v %v", r, err)
	}
	if f, _ := s.FindFaxByID(ctx, r.FaxID); f == nil || f.Details != partial {
		t.Errorf("fetched fax details: got %+v, want %+v", f, partial)
	}

	// A fax no carrier told anything about has none.
	plain := mustCreate(t, s, "+15551230000")
	if got, _ := s.FindFaxByID(ctx, plain.ID); got.Details != (fax.Details{}) {
		t.Errorf("fax without details: got %+v", got.Details)
	}
}

// testCarrierDetailsKept: on a sent fax, each carrier update adds what it
// tells and never erases a known value with an empty one; the page
// callbacks between, which say nothing of the call, keep them too.
func testCarrierDetailsKept(t *testing.T, s Store, c *Clock) {
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
	check := func(when string, want fax.Details) {
		t.Helper()
		got, err := s.FindFaxByID(ctx, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Details != want {
			t.Errorf("%s: got %+v, want %+v", when, got.Details, want)
		}
	}
	station := fax.Details{StationID: "REMOTE CSID"}
	if r := apply(fax.Update{Kind: fax.UpdatePage, Page: 1, ProviderFaxID: "p1", Details: station}); !r.Applied {
		t.Fatalf("page 1: got %+v, want applied", r)
	}
	check("after page 1", station)
	for p := 2; p <= 3; p++ {
		if r := apply(fax.Update{Kind: fax.UpdatePage, Page: p}); !r.Applied {
			t.Fatalf("page %d: got %+v, want applied", p, r)
		}
	}
	check("after pages without details", station)
	both := fax.Details{StationID: "REMOTE CSID", BitRate: 14400, DurationSeconds: 61}
	if r := apply(fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusSent, Pages: 3, EventKey: "final",
		Details: fax.Details{BitRate: 14400, DurationSeconds: 61}}); !r.Applied {
		t.Fatalf("sent: got %+v, want applied", r)
	}
	check("after the final status", both)
	if got := detailsOf(t, lastEvent(t, s, f.ID, fax.EventFaxSent)); got != both {
		t.Errorf("fax.sent data details: got %+v, want %+v", got, both)
	}
	// A late callback cannot move a final fax, nor rewrite what it told.
	apply(fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusFailed, EventKey: "late", Details: fax.Details{StationID: "OTHER"}})
	check("after a late callback", both)
}
