package main

import (
	"strings"
	"testing"
	"time"
)

// TestMetricsDeliveryAttempts: after a delivery, a scrape of /metrics shows
// the attempts by outcome (they were never recorded: issue 17).
func TestMetricsDeliveryAttempts(t *testing.T) {
	g := startGateway(t)
	ok, busy := newReceiver(t), newReceiver(t, 500)
	g.endpoint(ok, nil)
	g.endpoint(busy, nil)
	f := g.send("+15551234567", textDoc)
	g.waitFax(f.ID)
	ok.waitFor("fax.sent", f.ID)
	busy.waitFor("fax.sent", f.ID)
	want := []string{
		`faxgate_delivery_attempts_total{outcome="succeeded"} 1`,
		`faxgate_delivery_attempts_total{outcome="retry"} 1`,
		`faxgate_delivery_attempt_duration_seconds_count{outcome="succeeded"} 1`,
	}
	// The attempt is counted once its answer is in, just after the
	// receiver saw it: scrape until the counts arrive.
	var text string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var body []byte
		if code := g.do("GET", "/metrics", nil, &body); code != 200 {
			t.Fatalf("/metrics: got %d, want 200", code)
		}
		text = string(body)
		if containsAll(text, want) {
			return
		}
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
