package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// testRoutesFollowEndpointWrites: every store method that changes which
// endpoints events go to (create, update, disable, delete, a 410 Gone
// answer) is seen by the very next event, however recently routes were
// read (a store may cache them).
func testRoutesFollowEndpointWrites(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	n := 0
	// sent makes a fax sent and returns the endpoints its fax.sent event
	// went to, sorted.
	sent := func() []string {
		t.Helper()
		n++
		f := mustCreate(t, s, "+15551230000")
		if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", Kind: fax.UpdateStatus, Status: fax.StatusSent, FaxID: f.ID,
			EventKey: fmt.Sprintf("routes:%d", n)}); err != nil {
			t.Fatal(err)
		}
		ds, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: f.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var to []string
		for _, d := range ds {
			if d.EventType == fax.EventFaxSent {
				to = append(to, d.EndpointID)
			}
		}
		slices.Sort(to)
		return to
	}
	want := func(step string, ids ...string) {
		t.Helper()
		slices.Sort(ids)
		if got := sent(); !slices.Equal(got, ids) {
			t.Fatalf("%s: fax.sent went to %v, want %v", step, got, ids)
		}
	}
	update := func(id string, fn func(*fax.Endpoint)) {
		t.Helper()
		if _, err := s.UpdateEndpoint(ctx, id, func(e *fax.Endpoint) error { fn(e); return nil }); err != nil {
			t.Fatal(err)
		}
	}

	want("no endpoints")
	a := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook"})
	want("created a", a.ID)
	want("again", a.ID)
	update(a.ID, func(e *fax.Endpoint) { e.Events = []fax.EventType{fax.EventFaxFailed} })
	want("a wants only fax.failed")
	update(a.ID, func(e *fax.Endpoint) { e.Events = nil })
	want("a wants everything again", a.ID)
	b := mustEndpoint(t, s, &fax.Endpoint{URL: "https://b.example/hook"})
	want("created b", a.ID, b.ID)
	update(b.ID, func(e *fax.Endpoint) { e.Enabled = false })
	want("b disabled", a.ID)
	update(b.ID, func(e *fax.Endpoint) { e.Enabled = true })
	want("b enabled", a.ID, b.ID)
	update(b.ID, func(e *fax.Endpoint) { e.Numbers = []string{"+15559990000"} })
	want("b bound to a number", a.ID)
	update(b.ID, func(e *fax.Endpoint) { e.Numbers = nil })
	want("b global again", a.ID, b.ID)
	if err := s.DeleteEndpoint(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	want("a deleted", b.ID)

	// A 410 Gone answer disables b as a side effect of recording an attempt.
	jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var job *fax.DeliveryJob
	for _, j := range jobs {
		if j.Endpoint.ID == b.ID {
			job = j
		}
	}
	if job == nil {
		t.Fatalf("no delivery to b claimed among %d", len(jobs))
	}
	if err := s.RecordAttempt(ctx, job.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 410}, fax.DeliveryFailed, nil); err != nil {
		t.Fatal(err)
	}
	want("b gone")
}
