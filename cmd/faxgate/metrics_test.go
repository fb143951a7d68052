package main

import (
	"context"
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
	if code := g.do("GET", "/metrics", nil, &body); code != 200 {
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

// TestAuditTrail: the audit API shows each action with its actor and id,
// and refused carrier webhooks, metadata only.
func TestAuditTrail(t *testing.T) {
	g := startGateway(t, withEnv("PHAXIO_WEBHOOK_TOKEN", "tok"), withEnv("FAXGATE_PUBLIC_URL", "https://fax.example.com"))
	var k struct{ ID, Key string }
	g.do("POST", "/v1/api-keys", map[string]any{"name": "sender", "scopes": []string{"fax:send", "fax:read"}}, &k)
	var f faxObj
	body := multipartSend(map[string]string{"to": "+15551234567"}, textDoc)
	g.doKey(k.Key, "POST", "/v1/faxes", body, &f)
	g.waitFax(f.ID)
	g.doKey(k.Key, "GET", "/v1/faxes/"+f.ID+"/document", nil, new([]byte))
	g.post("/phaxio-inbound", "application/json", []byte(`{}`), map[string]string{"X-Phaxio-Signature": "bad"})
	g.m.Rejections.Flush(context.Background()) // refusals are audited in aggregate
	var list struct {
		Data []struct {
			Actor, Action, TargetID, Detail string `json:"-"`
			A                               string `json:"actor"`
			Ac                              string `json:"action"`
			T                               string `json:"target_id"`
			D                               string `json:"detail"`
		}
	}
	if code := g.do("GET", "/v1/audit?limit=100", nil, &list); code != 200 {
		t.Fatalf("GET /v1/audit: %d", code)
	}
	seen := map[string]string{}
	for _, e := range list.Data {
		seen[e.Ac] = e.A + " " + e.T
		if strings.Contains(e.D, "+1555") || strings.Contains(e.D, "tok") {
			t.Errorf("audit detail leaks data: %q", e.D)
		}
	}
	for action, want := range map[string]string{
		"api_key.create":    "admin " + k.ID,
		"fax.send":          k.ID + " " + f.ID,
		"document.download": k.ID + " " + f.ID,
	} {
		if seen[action] != want {
			t.Errorf("%s: got %q, want %q", action, seen[action], want)
		}
	}
	if !strings.HasPrefix(seen["webhook.rejected"], "carrier:phaxio") {
		t.Errorf("refused webhook: got %q", seen["webhook.rejected"])
	}
	if code := g.doKey(k.Key, "GET", "/v1/audit", nil, nil); code != 403 {
		t.Errorf("audit without keys:manage: got %d, want 403", code)
	}
}
