package main

import (
	"context"
	"testing"
)

// TestStopStartDeliveries: StopDeliveries leaves the webhook worker
// stopped (a second run of it is not refused as already running) while the
// gateway keeps taking sends, and StartDeliveries delivers what waited.
// The bench builds its backlogs this way.
func TestStopStartDeliveries(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	r := newReceiver(t)
	g.endpoint(r, nil)
	if err := g.m.StopDeliveries(); err != nil {
		t.Fatalf("StopDeliveries: %v", err)
	}
	if err := g.m.StopDeliveries(); err != nil {
		t.Fatalf("StopDeliveries again: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.m.Webhooks.Run(ctx); err != nil {
		t.Fatalf("after StopDeliveries the worker still runs: %v", err)
	}
	f := g.send("+15551234567", textDoc)
	g.waitFax(f.ID)
	g.m.StartDeliveries()
	g.m.StartDeliveries() // a second start while running does nothing
	if ev := r.waitFor("fax.sent", f.ID); !ev.Valid {
		t.Error("fax.sent signature did not verify")
	}
}
