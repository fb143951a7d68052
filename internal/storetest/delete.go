package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// testDeleteFax checks that deleting a fax refuses one not final, then
// removes its record, events and deliveries (none left to send), and that
// another fax is untouched.
func testDeleteFax(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ep := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook"})
	f := mustCreate(t, s, "+15551230000", func(f *fax.Fax) { f.CallbackURL = "https://cb.example/hook" })
	other := mustCreate(t, s, "+15551230001")

	_, err := s.DeleteFax(ctx, f.ID)
	wantCode(t, err, fax.ECodeConflict)
	if _, err := s.CancelFax(ctx, f.ID); err != nil {
		t.Fatalf("CancelFax: %v", err)
	}
	if ds, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: f.ID, Limit: 100}); err != nil || len(ds) == 0 {
		t.Fatalf("deliveries before delete: got %d %v, want some", len(ds), err)
	}

	got, err := s.DeleteFax(ctx, f.ID)
	if err != nil {
		t.Fatalf("DeleteFax: %v", err)
	}
	if got.ID != f.ID || got.DocumentKey != f.DocumentKey {
		t.Errorf("DeleteFax returned %s %q, want %s %q", got.ID, got.DocumentKey, f.ID, f.DocumentKey)
	}
	_, err = s.FindFaxByID(ctx, f.ID)
	wantCode(t, err, fax.ECodeNotFound)
	if evs, err := s.FindEventsByFax(ctx, f.ID); err != nil || len(evs) != 0 {
		t.Errorf("events after delete: got %d %v, want 0", len(evs), err)
	}
	if ds, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: f.ID, Limit: 100}); err != nil || len(ds) != 0 {
		t.Errorf("deliveries after delete: got %d %v, want 0", len(ds), err)
	}
	c.Advance(time.Hour)
	jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
	if err != nil {
		t.Fatalf("ClaimDeliveries: %v", err)
	}
	for _, j := range jobs {
		if j.Event.FaxID == f.ID {
			t.Errorf("a delivery of the deleted fax was claimed: %s", j.Delivery.ID)
		}
	}
	_, err = s.DeleteFax(ctx, f.ID)
	wantCode(t, err, fax.ECodeNotFound)

	if _, err := s.FindFaxByID(ctx, other.ID); err != nil {
		t.Errorf("the other fax: %v", err)
	}
	if evs, _ := s.FindEventsByFax(ctx, other.ID); len(evs) == 0 {
		t.Errorf("the other fax lost its events")
	}
	if _, err := s.FindEndpointByID(ctx, ep.ID); err != nil {
		t.Errorf("the endpoint: %v", err)
	}
}
