package main

import (
	"testing"
)

// TestSecretRotation: after rotate-secret, deliveries carry signatures by
// both the new and the old secret during the overlap, so a receiver still
// on the old one keeps verifying; with overlap 0s only the new one signs.
func TestSecretRotation(t *testing.T) {
	g := startGateway(t)
	r := newReceiver(t)
	id := g.endpoint(r, nil)
	r.mu.Lock()
	old := r.secret
	r.mu.Unlock()
	var ep struct{ Secret string }
	if code := g.do("POST", "/v1/webhook-endpoints/"+id+"/rotate-secret", map[string]any{"overlap": "1h"}, &ep); code != 200 || ep.Secret == "" || ep.Secret == old {
		t.Fatalf("rotate: got %d %+v", code, ep)
	}
	f := g.send("+15551234567", textDoc)
	if ev := r.waitFor("fax.sent", f.ID); !ev.Valid {
		t.Error("the old secret no longer verifies during the overlap")
	}
	r.mu.Lock()
	r.secret = ep.Secret
	r.mu.Unlock()
	f = g.send("+15551234568", textDoc)
	if ev := r.waitFor("fax.sent", f.ID); !ev.Valid {
		t.Error("the new secret does not verify")
	}
	// End the overlap: the old secret stops verifying.
	g.do("POST", "/v1/webhook-endpoints/"+id+"/rotate-secret", map[string]any{"overlap": "0s"}, &ep)
	r.mu.Lock()
	r.secret = old
	r.mu.Unlock()
	f = g.send("+15551234569", textDoc)
	if ev := r.waitFor("fax.sent", f.ID); ev.Valid {
		t.Error("a secret two rotations old still verifies")
	}
}
