package webhook

import (
	"testing"
	"time"
)

func TestProgressPace(t *testing.T) {
	t0 := newFakeClock().Now()
	// A deep hold of 10 within half of 20 s: fast means a start every
	// second or less.
	p := newProgress(10, 20*time.Second)
	g := newGate(4, -1, -1, 0)
	if p.fast("a", t0) || p.extra(t0) != 0 {
		t.Fatal("an endpoint never seen is fast")
	}
	p.started("a", t0)
	if p.fast("a", t0) {
		t.Error("fast after one start: no pace yet")
	}
	if !p.keepingUp("a", t0.Add(999*time.Millisecond)) || p.keepingUp("a", t0.Add(stallAfter)) {
		t.Error("keepingUp: want true within stallAfter of the last start, false after")
	}
	now := t0
	for range 5 {
		now = now.Add(100 * time.Millisecond)
		p.started("a", now)
	}
	if !p.fast("a", now) || p.extra(now) != 10 {
		t.Errorf("starting every 100 ms: fast %v, extra %d; want fast and a deep hold of 10", p.fast("a", now), p.extra(now))
	}
	if p.fast("a", now.Add(stallAfter)) || p.extra(now.Add(stallAfter)) != 0 {
		t.Error("fast after starting nothing for stallAfter")
	}
	// Slowing to a start every 3 s: the average crosses 1 s within a few.
	for range 4 {
		now = now.Add(3 * time.Second)
		p.started("a", now)
	}
	if p.fast("a", now) {
		t.Errorf("fast at an average of %v between starts", p.pace["a"].every)
	}
	// Forgotten only once idle for forgetAfter.
	g.active["a"] = 1
	p.forget(g, now.Add(forgetAfter))
	if p.pace["a"] == nil {
		t.Error("forgot an endpoint with an attempt running")
	}
	delete(g.active, "a")
	p.forget(g, now.Add(forgetAfter-time.Nanosecond))
	if p.pace["a"] == nil {
		t.Error("forgot an endpoint before forgetAfter")
	}
	p.forget(g, now.Add(forgetAfter))
	if p.pace["a"] != nil {
		t.Error("remembers an endpoint idle for forgetAfter")
	}
}

func TestProgressHeld(t *testing.T) {
	t0 := newFakeClock().Now()
	p := newProgress(10, 20*time.Second)
	g := newGate(1, -1, -1, 0)
	for _, id := range []string{"a1", "a2", "a3", "b1", "b2"} {
		j := jobTo(id, id[:1], "http://x")
		g.admit(heldJob{job: &j, key: id[:1], since: t0})
	}
	p.started("a", t0)
	p.started("b", t0.Add(-stallAfter))
	// a keeps up: its two held count; b has stalled: its one does not.
	if n := p.held(g, t0); n != 2 {
		t.Errorf("held = %d, want 2", n)
	}
}
