package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func testInboundJobs(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ep := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook"})
	u := fax.Update{Provider: "phaxio", Kind: fax.UpdateInbound, ProviderFaxID: "777", Status: fax.StatusReceived,
		From: "+15551230000", To: "+15559870000", Pages: 2, Document: &fax.InboundDocument{URL: "https://files.phaxio.com/x"}}
	r, err := s.EnqueueInbound(ctx, &u)
	if err != nil || !r.Applied {
		t.Fatalf("enqueue: %+v %v", r, err)
	}
	if r, _ := s.EnqueueInbound(ctx, &u); !r.Duplicate {
		t.Errorf("repeat enqueue: got %+v, want duplicate", r)
	}
	if r, _ := s.ApplyUpdate(ctx, &u); !r.Duplicate {
		t.Errorf("apply after enqueue: got %+v, want duplicate", r)
	}
	jobs, err := s.ClaimInboundJobs(ctx, time.Minute, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Update.Document.URL != u.Document.URL || jobs[0].Update.To != u.To {
		t.Fatalf("claim: %+v %v", jobs, err)
	}
	if again, _ := s.ClaimInboundJobs(ctx, time.Minute, 10); len(again) != 0 {
		t.Fatal("leased job claimed twice")
	}
	if err := s.RetryInbound(ctx, jobs[0].ID, "503", c.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Minute)
	jobs, _ = s.ClaimInboundJobs(ctx, time.Minute, 10)
	if len(jobs) != 1 || jobs[0].Attempts != 1 {
		t.Fatalf("after retry: %+v", jobs)
	}
	done := jobs[0].Update
	done.Document = &fax.InboundDocument{Key: "inbound/x.pdf", SHA256: "abc", Size: 3}
	r, err = s.CompleteInbound(ctx, jobs[0].ID, &done)
	if err != nil || !r.Applied || r.FaxID == "" {
		t.Fatalf("complete: %+v %v", r, err)
	}
	f, _ := s.FindFaxByID(ctx, r.FaxID)
	if f.Status != fax.StatusReceived || f.DocumentKey != "inbound/x.pdf" || f.Pages != 2 {
		t.Errorf("got %+v", f)
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: ep.ID})
	if len(ds) != 1 || ds[0].EventType != fax.EventFaxReceived {
		t.Errorf("got deliveries %+v, want one fax.received", ds)
	}
	if r2, _ := s.CompleteInbound(ctx, jobs[0].ID, &done); !r2.Duplicate || r2.FaxID != r.FaxID {
		t.Errorf("complete twice: got %+v", r2)
	}
	if r3, _ := s.EnqueueInbound(ctx, &u); !r3.Duplicate || r3.FaxID != r.FaxID {
		t.Errorf("carrier repeats after completion: got %+v, want duplicate of %s", r3, r.FaxID)
	}
	if again, _ := s.ClaimInboundJobs(ctx, time.Minute, 10); len(again) != 0 {
		t.Error("completed job claimed again")
	}
	// A job given up on still records the fax, as partial without document.
	u2 := u
	u2.ProviderFaxID = "778"
	s.EnqueueInbound(ctx, &u2)
	jobs, _ = s.ClaimInboundJobs(ctx, time.Minute, 10)
	gone := jobs[0].Update
	gone.Status, gone.Document = fax.StatusPartial, nil
	gone.Failure = &fax.Failure{Code: "document_unavailable", Message: "could not be fetched"}
	r, err = s.CompleteInbound(ctx, jobs[0].ID, &gone)
	if err != nil {
		t.Fatal(err)
	}
	f, _ = s.FindFaxByID(ctx, r.FaxID)
	if f.Status != fax.StatusPartial || f.DocumentKey != "" || f.Failure == nil {
		t.Errorf("got %+v", f)
	}
}
