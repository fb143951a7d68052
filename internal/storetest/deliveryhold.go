package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// testRetryAfterHoldsEndpoint: an attempt recorded with HoldEndpointUntil
// (the receiver's Retry-After) puts every other pending delivery of its
// endpoint off until then, alone or in a batch; another endpoint's are not.
func testRetryAfterHoldsEndpoint(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	for _, batch := range []bool{false, true} {
		busy := mustEndpoint(t, s, &fax.Endpoint{URL: fmt.Sprintf("https://busy%v.example/hook", batch)})
		other := mustEndpoint(t, s, &fax.Endpoint{URL: fmt.Sprintf("https://other%v.example/hook", batch)})
		for k := range 3 {
			f := mustCreate(t, s, "+15551230000")
			if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", Kind: fax.UpdateStatus, Status: fax.StatusSent, FaxID: f.ID,
				EventKey: fmt.Sprintf("hold:%v:%d", batch, k)}); err != nil {
				t.Fatal(err)
			}
		}
		ds, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: busy.ID, Status: fax.DeliveryPending})
		if err != nil || len(ds) != 3 {
			t.Fatalf("batch=%v: %d pending deliveries to the busy endpoint, %v; want 3", batch, len(ds), err)
		}
		until := c.Now().Add(time.Minute)
		a := fax.Attempt{At: c.Now(), StatusCode: 429, HoldEndpointUntil: &until}
		if batch {
			if err := s.RecordAttempts(ctx, []fax.Delivery{{ID: ds[0].ID, Status: fax.DeliveryPending, NextAttemptAt: &until, Attempts: []fax.Attempt{a}}})[0]; err != nil {
				t.Fatal(err)
			}
		} else if err := s.RecordAttempt(ctx, ds[0].ID, a, fax.DeliveryPending, &until); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Second)
		jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Second, 100)
		if err != nil {
			t.Fatal(err)
		}
		gotOther := 0
		for _, j := range jobs {
			switch j.Endpoint.ID {
			case busy.ID:
				t.Errorf("batch=%v: delivery %s to the endpoint that asked to wait claimed before its Retry-After", batch, j.Delivery.ID)
			case other.ID:
				gotOther++
			}
			if err := s.RecordAttempt(ctx, j.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 200}, fax.DeliverySucceeded, nil); err != nil {
				t.Fatal(err)
			}
		}
		if gotOther != 3 {
			t.Errorf("batch=%v: claimed %d deliveries to the other endpoint, want 3", batch, gotOther)
		}
		c.Advance(time.Minute)
		jobs, err = s.ClaimDeliveries(ctx, c.Now(), time.Second, 100)
		if err != nil {
			t.Fatal(err)
		}
		gotBusy := 0
		for _, j := range jobs {
			if j.Endpoint.ID == busy.ID {
				gotBusy++
			}
			if err := s.RecordAttempt(ctx, j.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 200}, fax.DeliverySucceeded, nil); err != nil {
				t.Fatal(err)
			}
		}
		if gotBusy != 3 {
			t.Errorf("batch=%v: after the Retry-After, claimed %d deliveries to the busy endpoint, want 3", batch, gotBusy)
		}
	}
}
