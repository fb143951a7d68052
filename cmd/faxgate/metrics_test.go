package main

import (
	"strings"
	"testing"
)

// TestMetrics: a scrape after an end-to-end run shows the counts that
// happened, and no ids or numbers in labels.
func TestMetrics(t *testing.T) {
	g := startGateway(t, withEnv("PHAXIO_WEBHOOK_TOKEN", "tok"), withEnv("FAXGATE_PUBLIC_URL", "https://fax.example.com"))
	r := newReceiver(t)
	g.endpoint(r, nil)
	for _, to := range []string{"+15551234567", "+15551234568", "+15551230001"} {
		f := g.send(to, textDoc)
		g.waitFax(f.ID)
	}
	g.post("/phaxio-inbound", "application/json", []byte(`{}`), map[string]string{"X-Phaxio-Signature": "bad"})
	var body []byte
	if code := g.doKey("", "GET", "/metrics", nil, &body); code != 200 {
		t.Fatalf("/metrics: got %d", code)
	}
	text := string(body)
	for _, want := range []string{
		`faxgate_faxes{direction="outbound",provider="simulator",status="sent"} 2`,
		`faxgate_faxes{direction="outbound",provider="simulator",status="failed"} 1`,
		`faxgate_http_requests_total{route="POST /v1/faxes",status="202"} 3`,
		`faxgate_carrier_webhooks_total{carrier="phaxio",outcome="rejected"} 1`,
		`faxgate_queue_depth{queue="dispatch"} 0`,
		`faxgate_queue_oldest_age_seconds{queue="delivery"}`,
		`faxgate_store_scrape_error 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, leak := range []string{"fax_0", "+1555", "tok"} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics contains %q", leak)
		}
	}
}
