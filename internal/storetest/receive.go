package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// testReceivePending: a received fax whose document is still to be fetched
// is a fax from the moment its webhook is recorded, its document pending,
// with fax.receiving for inflight endpoints only; settling it (a fetch, a
// richer webhook for the same reception, or giving up) sends fax.received
// once and never moves the document status back; repeats make no second fax.
func testReceivePending(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	mustCreate(t, s, "+15559870001") // an outbound fax has no document status
	plain := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/plain"})
	live := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/live", Inflight: true})
	types := func(ep *fax.Endpoint) []fax.EventType {
		t.Helper()
		ds, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: ep.ID})
		if err != nil {
			t.Fatal(err)
		}
		var out []fax.EventType
		for i := len(ds) - 1; i >= 0; i-- { // oldest first
			out = append(out, ds[i].EventType)
		}
		return out
	}
	ids := func(st fax.DocumentStatus) []string {
		t.Helper()
		fs, _, err := s.FindFaxes(ctx, fax.FaxFilter{DocumentStatus: st})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	find := func(id string) *fax.Fax {
		t.Helper()
		f, err := s.FindFaxByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	pointer := func(id string) fax.Update {
		return fax.Update{Provider: "gofax", Kind: fax.UpdateInbound, EventKey: "gofax:in:" + id, ProviderFaxID: id,
			Status: fax.StatusReceived, From: "+15551230000", To: "+15559870000", Document: &fax.InboundDocument{FetchID: id}}
	}

	// Listed at once, pending, with fax.receiving for the inflight endpoint.
	u := pointer("1001")
	r, err := s.EnqueueInbound(ctx, &u)
	if err != nil || !r.Applied || r.FaxID == "" {
		t.Fatalf("enqueue: got %+v %v, want applied with a fax", r, err)
	}
	f := find(r.FaxID)
	if f.Direction != fax.Inbound || f.Status != fax.StatusReceived || f.DocumentStatus != fax.DocumentPending || f.DocumentKey != "" {
		t.Fatalf("got %+v, want a received fax with its document pending", f)
	}
	if got := ids(fax.DocumentPending); len(got) != 1 || got[0] != r.FaxID {
		t.Errorf("document_status pending lists %v, want [%s]", got, r.FaxID)
	}
	if got := ids(fax.DocumentAvailable); len(got) != 0 {
		t.Errorf("document_status available lists %v, want none", got)
	}
	if got := types(live); len(got) != 1 || got[0] != fax.EventFaxReceiving {
		t.Errorf("inflight endpoint got %v, want [fax.receiving]", got)
	}
	if got := types(plain); len(got) != 0 {
		t.Errorf("postflight endpoint got %v, want nothing before the document settles", got)
	}
	// Repeats of the webhook make no second fax.
	if r2, _ := s.EnqueueInbound(ctx, &u); !r2.Duplicate || r2.FaxID != r.FaxID {
		t.Errorf("repeated webhook: got %+v, want a duplicate of %s", r2, r.FaxID)
	}
	if r2, _ := s.ApplyUpdate(ctx, &u); !r2.Duplicate || r2.FaxID != r.FaxID {
		t.Errorf("repeated webhook applied: got %+v, want a duplicate of %s", r2, r.FaxID)
	}
	if all, _, _ := s.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Inbound}); len(all) != 1 {
		t.Errorf("got %d received faxes, want 1", len(all))
	}

	// The fetch settles it: available, fax.received once.
	jobs, err := s.ClaimInboundJobs(ctx, time.Minute, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %d jobs %v", len(jobs), err)
	}
	done := jobs[0].Update
	done.Pages = 3
	done.Document = &fax.InboundDocument{Key: "inbound/gofax/1001.pdf", SHA256: "abc", Size: 30}
	if r2, err := s.CompleteInbound(ctx, jobs[0].ID, &done); err != nil || !r2.Applied || r2.FaxID != r.FaxID {
		t.Fatalf("complete: got %+v %v, want applied to %s", r2, err, r.FaxID)
	}
	f = find(r.FaxID)
	if f.DocumentStatus != fax.DocumentAvailable || f.DocumentKey != "inbound/gofax/1001.pdf" || f.DocumentSize != 30 || f.Pages != 3 || f.Status != fax.StatusReceived {
		t.Errorf("got %+v, want received with its document available", f)
	}
	if got := ids(fax.DocumentAvailable); len(got) != 1 || got[0] != r.FaxID {
		t.Errorf("document_status available lists %v, want [%s]", got, r.FaxID)
	}
	if got := ids(fax.DocumentPending); len(got) != 0 {
		t.Errorf("document_status pending lists %v, want none", got)
	}
	gone := jobs[0].Update
	gone.Status, gone.Document = fax.StatusPartial, nil
	gone.Failure = &fax.Failure{Code: "document_unavailable", Message: "late"}
	if r2, _ := s.CompleteInbound(ctx, jobs[0].ID, &gone); !r2.Duplicate {
		t.Errorf("completing again: got %+v, want a duplicate", r2)
	}
	if got := find(r.FaxID); got.DocumentStatus != fax.DocumentAvailable || got.Status != fax.StatusReceived {
		t.Errorf("a late give-up moved the fax back: got %s %s", got.Status, got.DocumentStatus)
	}
	if got := types(plain); len(got) != 1 || got[0] != fax.EventFaxReceived {
		t.Errorf("postflight endpoint got %v, want [fax.received]", got)
	}
	if got := types(live); len(got) != 2 || got[1] != fax.EventFaxReceived {
		t.Errorf("inflight endpoint got %v, want [fax.receiving fax.received]", got)
	}

	// A richer webhook for the same reception settles a pending fax while
	// its fetch runs; the fetch's end then changes nothing.
	c.Advance(time.Second)
	u = pointer("1002")
	r, _ = s.EnqueueInbound(ctx, &u)
	jobs, _ = s.ClaimInboundJobs(ctx, time.Minute, 10)
	if len(jobs) != 1 {
		t.Fatalf("claim: got %d jobs, want 1", len(jobs))
	}
	rich := pointer("1002")
	rich.Document = &fax.InboundDocument{Key: "inbound/gofax/1002.pdf", SHA256: "def", Size: 40}
	if r2, err := s.ApplyUpdate(ctx, &rich); err != nil || !r2.Applied || r2.FaxID != r.FaxID {
		t.Fatalf("richer webhook: got %+v %v, want applied to %s", r2, err, r.FaxID)
	}
	if got := find(r.FaxID); got.DocumentStatus != fax.DocumentAvailable || got.DocumentKey != "inbound/gofax/1002.pdf" {
		t.Errorf("after the richer webhook: got %+v, want its document available", got)
	}
	if r2, _ := s.ApplyUpdate(ctx, &rich); !r2.Duplicate || r2.FaxID != r.FaxID {
		t.Errorf("richer webhook repeated: got %+v, want a duplicate", r2)
	}
	if r2, _ := s.CompleteInbound(ctx, jobs[0].ID, &gone); !r2.Duplicate {
		t.Errorf("fetch ending after the richer webhook: got %+v, want a duplicate", r2)
	}
	if got := find(r.FaxID); got.DocumentStatus != fax.DocumentAvailable {
		t.Errorf("got document_status %s, want available", got.DocumentStatus)
	}
	if n := len(types(plain)); n != 2 {
		t.Errorf("postflight endpoint got %d events, want 2 (one fax.received each)", n)
	}

	// Giving up: unavailable with the reason, partial as before.
	c.Advance(time.Second)
	u = pointer("1003")
	r, _ = s.EnqueueInbound(ctx, &u)
	jobs, _ = s.ClaimInboundJobs(ctx, time.Minute, 10)
	gone = jobs[0].Update
	gone.Status, gone.Document = fax.StatusPartial, nil
	gone.Failure = &fax.Failure{Code: "document_unavailable", Message: "the received document could not be fetched: GoFax refused"}
	if _, err := s.CompleteInbound(ctx, jobs[0].ID, &gone); err != nil {
		t.Fatal(err)
	}
	f = find(r.FaxID)
	if f.DocumentStatus != fax.DocumentUnavailable || f.DocumentError != gone.Failure.Message || f.Status != fax.StatusPartial || f.DocumentKey != "" {
		t.Errorf("got %+v, want partial with its document unavailable and why", f)
	}
	if got := ids(fax.DocumentUnavailable); len(got) != 1 || got[0] != r.FaxID {
		t.Errorf("document_status unavailable lists %v, want [%s]", got, r.FaxID)
	}

	// Deleting a pending fax's document settles it: a fetch ending later
	// attaches nothing.
	c.Advance(time.Second)
	u = pointer("1006")
	r, _ = s.EnqueueInbound(ctx, &u)
	jobs, _ = s.ClaimInboundJobs(ctx, time.Minute, 10)
	if err := s.MarkDocumentPurged(ctx, r.FaxID); err != nil {
		t.Fatal(err)
	}
	if f := find(r.FaxID); f.DocumentStatus != fax.DocumentUnavailable || f.DocumentError == "" {
		t.Errorf("deleted while pending: got %q %q, want unavailable with why", f.DocumentStatus, f.DocumentError)
	}
	late := jobs[0].Update
	late.Document = &fax.InboundDocument{Key: "inbound/gofax/1006.pdf", Size: 5}
	if r2, err := s.CompleteInbound(ctx, jobs[0].ID, &late); err != nil || r2.Applied {
		t.Errorf("fetch ending after the deletion: got %+v %v, want nothing applied", r2, err)
	}
	if f := find(r.FaxID); f.DocumentKey != "" || f.DocumentStatus != fax.DocumentUnavailable {
		t.Errorf("fetch ending after the deletion attached %q (%s)", f.DocumentKey, f.DocumentStatus)
	}

	// A document in the webhook itself is available at once; a reception
	// that brought none is unavailable at once.
	c.Advance(time.Second)
	inline := pointer("1004")
	inline.Document = &fax.InboundDocument{Key: "inbound/gofax/1004.pdf", Size: 5}
	r, err = s.ApplyUpdate(ctx, &inline)
	if err != nil || !r.Applied {
		t.Fatalf("inline: %+v %v", r, err)
	}
	if f := find(r.FaxID); f.DocumentStatus != fax.DocumentAvailable {
		t.Errorf("inline document: got document_status %q, want available", f.DocumentStatus)
	}
	none := pointer("1005")
	none.Status, none.Document = fax.StatusPartial, nil
	none.Failure = &fax.Failure{Code: fax.FailReception, Message: "no page arrived"}
	r, _ = s.ApplyUpdate(ctx, &none)
	if f := find(r.FaxID); f.DocumentStatus != fax.DocumentUnavailable || f.DocumentError != "no page arrived" {
		t.Errorf("failed reception: got %q %q, want unavailable with the failure", f.DocumentStatus, f.DocumentError)
	}
	// Outbound faxes have no document status and match no filter on it.
	for _, st := range []fax.DocumentStatus{fax.DocumentPending, fax.DocumentAvailable, fax.DocumentUnavailable} {
		fs, _, _ := s.FindFaxes(ctx, fax.FaxFilter{DocumentStatus: st})
		for _, f := range fs {
			if f.Direction != fax.Inbound {
				t.Errorf("document_status %s lists outbound fax %s", st, f.ID)
			}
		}
	}
}
