package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// testDeliveryRemoval: an endpoint deleted, disabled, or gone (410) while
// attempts to it are on the wire gets nothing more. The late result of such
// an attempt is recorded but never makes its delivery pending again, alone
// or in a batch, and no claim returns a delivery to it afterwards. A late
// success is still recorded as one.
func testDeliveryRemoval(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	removals := []struct {
		name   string
		remove func(t *testing.T, ep *fax.Endpoint, first *fax.DeliveryJob)
	}{
		{"delete", func(t *testing.T, ep *fax.Endpoint, _ *fax.DeliveryJob) {
			if err := s.DeleteEndpoint(ctx, ep.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"disable", func(t *testing.T, ep *fax.Endpoint, _ *fax.DeliveryJob) {
			if _, err := s.UpdateEndpoint(ctx, ep.ID, func(e *fax.Endpoint) error {
				e.Enabled = false
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}},
		{"gone", func(t *testing.T, _ *fax.Endpoint, first *fax.DeliveryJob) {
			if err := s.RecordAttempt(ctx, first.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 410}, fax.DeliveryFailed, nil); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, rm := range removals {
		for _, batch := range []bool{false, true} {
			name := fmt.Sprintf("%s/batch=%v", rm.name, batch)
			ep := mustEndpoint(t, s, &fax.Endpoint{URL: fmt.Sprintf("https://removed%d.example/hook", i)})
			for k := range 4 {
				f := mustCreate(t, s, "+15551230000")
				if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", Kind: fax.UpdateStatus, Status: fax.StatusSent, FaxID: f.ID,
					EventKey: fmt.Sprintf("removal:%s:%d", name, k)}); err != nil {
					t.Fatal(err)
				}
			}
			jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
			if err != nil || len(jobs) != 4 {
				t.Fatalf("%s: ClaimDeliveries = %d jobs, %v; want 4", name, len(jobs), err)
			}
			for _, j := range jobs {
				if j.Endpoint.ID != ep.ID {
					t.Fatalf("%s: claimed a delivery to %s, want only %s", name, j.Endpoint.ID, ep.ID)
				}
			}
			// jobs[0] is the one a 410 answers; jobs[1] and [2] fail late,
			// jobs[3] succeeds late.
			rm.remove(t, ep, jobs[0])
			next := c.Now().Add(time.Second)
			late := []fax.Delivery{
				{ID: jobs[1].Delivery.ID, Status: fax.DeliveryPending, NextAttemptAt: &next, Attempts: []fax.Attempt{{At: c.Now(), StatusCode: 500}}},
				{ID: jobs[2].Delivery.ID, Status: fax.DeliveryPending, NextAttemptAt: &next, Attempts: []fax.Attempt{{At: c.Now(), Error: "timeout"}}},
				{ID: jobs[3].Delivery.ID, Status: fax.DeliverySucceeded, Attempts: []fax.Attempt{{At: c.Now(), StatusCode: 200}}},
			}
			if batch {
				for k, err := range s.RecordAttempts(ctx, late) {
					if err != nil {
						t.Fatalf("%s: RecordAttempts[%d]: %v", name, k, err)
					}
				}
			} else {
				for _, d := range late {
					if err := s.RecordAttempt(ctx, d.ID, d.Attempts[0], d.Status, d.NextAttemptAt); err != nil {
						t.Fatalf("%s: RecordAttempt: %v", name, err)
					}
				}
			}
			want := []fax.DeliveryStatus{fax.DeliveryFailed, fax.DeliveryFailed, fax.DeliverySucceeded}
			for k, d := range late {
				got, err := s.FindDeliveryByID(ctx, d.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != want[k] || got.AttemptCount != 1 || len(got.Attempts) != 1 {
					t.Errorf("%s: late result %d: got %s with %d attempts, want %s with the attempt recorded", name, k, got.Status, len(got.Attempts), want[k])
				}
				if got.NextAttemptAt != nil {
					t.Errorf("%s: late result %d: next attempt at %v, want none", name, k, got.NextAttemptAt)
				}
			}
			c.Advance(2 * time.Minute) // past the retry time and every lease
			again, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range again {
				if j.Endpoint.ID == ep.ID {
					t.Errorf("%s: delivery %s to the removed endpoint claimed again", name, j.Delivery.ID)
				}
			}
			if ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: ep.ID, Status: fax.DeliveryPending}); len(ds) != 0 {
				t.Errorf("%s: %d deliveries to the removed endpoint pending, want 0", name, len(ds))
			}
			// Deliveries claimed here (the other endpoints' notice of the
			// disabling) are not this test's concern.
			for _, j := range again {
				if err := s.RecordAttempt(ctx, j.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 200}, fax.DeliverySucceeded, nil); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
