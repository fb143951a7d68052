package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Reopener opens the same database again, as a restarted process does, and
// returns the store and how to close it (a crash, as far as the leases go).
type Reopener func(t *testing.T, clock *Clock) (Store, func())

// RestartKeepsDeliveryLeases: a delivery claimed before a crash may be on
// the wire, its receiver still working on it, so a restart leaves its lease
// to run out instead of sending it again at once; then it is claimed again
// (at least once, never twice at once). It needs to reopen one database, so
// it runs apart from Run.
func RestartKeepsDeliveryLeases(t *testing.T, open Reopener) {
	ctx := context.Background()
	c := NewClock()
	s, closeStore := open(t, c)
	mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook"})
	f := mustCreate(t, s, "+15551230000")
	if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: got %d jobs, %v; want 1", len(jobs), err)
	}
	closeStore() // the process dies with the attempt on the wire

	s, closeStore = open(t, c)
	defer closeStore()
	if again, err := s.ClaimDeliveries(ctx, c.Now().Add(time.Second), time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("claim after restart: got %d jobs, %v; want none while the lease runs", len(again), err)
	}
	c.Advance(time.Minute + time.Second)
	again, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 10)
	if err != nil || len(again) != 1 || again[0].Delivery.ID != jobs[0].Delivery.ID {
		t.Fatalf("claim after the lease: got %d jobs, %v; want the delivery again", len(again), err)
	}
}
