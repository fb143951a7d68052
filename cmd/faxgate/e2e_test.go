package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWalkthrough is the README's walk-through: send, watch it go queued →
// sending → sent, receive a signed fax.sent.
func TestWalkthrough(t *testing.T) {
	g := startGateway(t)
	r := newReceiver(t)
	g.endpoint(r, nil)
	f := g.send("+15551234567", textDoc)
	if f.Status != "queued" || f.Provider != "simulator" || f.Pages != 1 {
		t.Fatalf("got %+v, want a queued simulator fax of 1 page", f)
	}
	done := g.waitFax(f.ID)
	if done.Status != "sent" || done.CompletedAt == nil || done.ProviderFaxID == nil {
		t.Fatalf("got %+v, want sent", done)
	}
	ev := r.waitFor("fax.sent", f.ID)
	if !ev.Valid {
		t.Error("fax.sent signature did not verify")
	}
	var timeline struct {
		Data []struct{ Type string } `json:"data"`
	}
	g.do("GET", "/v1/faxes/"+f.ID+"/events", nil, &timeline)
	var types []string
	for _, e := range timeline.Data {
		types = append(types, e.Type)
	}
	want := []string{"fax.queued", "fax.sending", "fax.page_sent", "fax.sent"}
	if !slices.Equal(types, want) {
		t.Errorf("timeline: got %v, want %v", types, want)
	}
	// Postflight only by default: the receiver did not get inflight events.
	for _, e := range r.got() {
		if e.Type != "fax.sent" {
			t.Errorf("postflight endpoint got %s", e.Type)
		}
	}
	var pdf []byte
	if code := g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, &pdf); code != 200 || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Errorf("document: got %d %q", code, pdf[:min(len(pdf), 20)])
	}
}

func TestBusyAndNoAnswer(t *testing.T) {
	g := startGateway(t)
	r := newReceiver(t)
	g.endpoint(r, nil)
	for _, tc := range []struct{ to, code string }{{"+15551230001", "busy"}, {"+15551230002", "no_answer"}} {
		f := g.send(tc.to, textDoc)
		done := g.waitFax(f.ID)
		if done.Status != "failed" || done.Error == nil || done.Error.Code != tc.code {
			t.Errorf("%s: got %+v, want failed %s", tc.to, done, tc.code)
		}
		if ev := r.waitFor("fax.failed", f.ID); !ev.Valid {
			t.Errorf("%s: fax.failed signature did not verify", tc.to)
		}
	}
}

func TestSimulatorInbound(t *testing.T) {
	g := startGateway(t)
	r := newReceiver(t)
	g.endpoint(r, nil)
	var f faxObj
	code := g.do("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "+15553334444", "pages": 3}, &f)
	if code != http.StatusCreated || f.Status != "received" || f.Direction != "inbound" || f.Pages != 3 {
		t.Fatalf("got %d %+v", code, f)
	}
	var pdf []byte
	if code := g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, &pdf); code != 200 || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("document: got %d", code)
	}
	if n := strings.Count(string(pdf), "/Type /Page\n") + strings.Count(string(pdf), "/Type /Page "); n == 0 && !strings.Contains(string(pdf), "/Count 3") {
		t.Errorf("the PDF does not have 3 pages")
	}
	if ev := r.waitFor("fax.received", f.ID); !ev.Valid {
		t.Error("fax.received signature did not verify")
	}
}

func TestInflightEndpoint(t *testing.T) {
	g := startGateway(t, withEnv("FAXGATE_SIMULATOR_PAGE_DELAY", "1ms"))
	r := newReceiver(t)
	g.endpoint(r, map[string]any{"inflight": true})
	f := g.send("+15551234567", textDoc)
	r.waitFor("fax.sent", f.ID)
	var types []string
	for _, e := range r.got() {
		types = append(types, e.Type)
		if !e.Valid {
			t.Errorf("%s: signature did not verify", e.Type)
		}
	}
	for _, want := range []string{"fax.queued", "fax.sending", "fax.page_sent", "fax.sent"} {
		if !slices.Contains(types, want) {
			t.Errorf("inflight endpoint: got %v, missing %s", types, want)
		}
	}
}

// TestWebhookRetries: a receiver that answers 500 twice then 200 gets three
// attempts on the carriers' schedule, all listed.
func TestWebhookRetries(t *testing.T) {
	clock := newTestClock()
	g := startGateway(t, withClock(clock))
	r := newReceiver(t, 500, 500)
	epID := g.endpoint(r, nil)
	f := g.send("+15551234567", textDoc)
	g.waitFax(f.ID)

	type delivery struct {
		ID            string  `json:"id"`
		Status        string  `json:"status"`
		NextAttemptAt *string `json:"next_attempt_at"`
		Attempts      []struct {
			StatusCode int `json:"status_code"`
		} `json:"attempts"`
	}
	var list struct{ Data []delivery }
	waitAttempts := func(n int) delivery {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			g.do("GET", "/v1/deliveries?endpoint_id="+epID, nil, &list)
			if len(list.Data) == 1 && len(list.Data[0].Attempts) >= n {
				return list.Data[0]
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no %d attempts within 20s: %+v", n, list)
		return delivery{}
	}
	d := waitAttempts(1)
	if d.Status != "pending" || d.NextAttemptAt == nil {
		t.Fatalf("after one 500: got %+v, want pending with a next attempt", d)
	}
	next, _ := time.Parse(time.RFC3339, *d.NextAttemptAt)
	if got := next.Sub(clock.Now()).Round(time.Second); got != 5*time.Minute {
		t.Errorf("first retry in %v, want 5m", got)
	}
	clock.Advance(5 * time.Minute)
	g.m.Webhooks.Notify()
	d = waitAttempts(2)
	next, _ = time.Parse(time.RFC3339, *d.NextAttemptAt)
	if got := next.Sub(clock.Now()).Round(time.Second); got != 10*time.Minute {
		t.Errorf("second retry in %v, want 10m", got)
	}
	clock.Advance(10 * time.Minute)
	g.m.Webhooks.Notify()
	d = waitAttempts(3)
	if d.Status != "succeeded" || d.Attempts[0].StatusCode != 500 || d.Attempts[1].StatusCode != 500 || d.Attempts[2].StatusCode != 200 {
		t.Errorf("got %+v, want 500, 500, 200 and succeeded", d)
	}
	var one delivery
	if code := g.do("GET", "/v1/deliveries/"+d.ID, nil, &one); code != 200 || len(one.Attempts) != 3 {
		t.Errorf("GET delivery: got %d %+v", code, one)
	}
	// A manual retry delivers once more.
	if code := g.do("POST", "/v1/deliveries/"+d.ID+"/retry", nil, &one); code != http.StatusAccepted {
		t.Errorf("retry: got %d", code)
	}
	waitAttempts(4)
	if n := len(r.got()); n != 4 {
		t.Errorf("receiver got %d requests, want 4", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	g := startGateway(t)
	send := func(to string) (int, faxObj, http.Header) {
		body := multipartSend(map[string]string{"to": to}, textDoc)
		req, _ := http.NewRequest("POST", g.url+"/v1/faxes", strings.NewReader(body.buf.String()))
		req.Header.Set("Content-Type", body.ct)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Idempotency-Key", "order-42")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var f faxObj
		jsonDecode(resp.Body, &f)
		return resp.StatusCode, f, resp.Header
	}
	c1, a, _ := send("+15551234567")
	c2, b, h := send("+15551234567")
	if c1 != 202 || c2 != 202 || a.ID == "" || a.ID != b.ID || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("got %d %s / %d %s, want the same fax twice", c1, a.ID, c2, b.ID)
	}
	if c3, _, _ := send("+15557654321"); c3 != http.StatusConflict {
		t.Errorf("same key, other request: got %d, want 409", c3)
	}
	var list struct{ Data []faxObj }
	g.do("GET", "/v1/faxes", nil, &list)
	if len(list.Data) != 1 {
		t.Errorf("got %d faxes, want 1", len(list.Data))
	}
}

func TestScopes(t *testing.T) {
	g := startGateway(t)
	var k struct{ ID, Key string }
	if code := g.do("POST", "/v1/api-keys", map[string]any{"name": "reader", "scopes": []string{"fax:read"}}, &k); code != 201 || !strings.HasPrefix(k.Key, "fgk_") {
		t.Fatalf("create key: %d %+v", code, k)
	}
	if code := g.doKey(k.Key, "GET", "/v1/faxes", nil, nil); code != 200 {
		t.Errorf("read with fax:read: got %d", code)
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/faxes"}, {"GET", "/v1/webhook-endpoints"}, {"GET", "/v1/deliveries"}, {"GET", "/v1/api-keys"},
		{"POST", "/v1/simulator/inbound"}, {"POST", "/v1/faxes/fax_x/cancel"},
	} {
		var e errorBody
		if code := g.doKey(k.Key, c.method, c.path, "{}", &e); code != http.StatusForbidden || e.Error.Code != "forbidden" {
			t.Errorf("%s %s with fax:read: got %d %+v, want 403", c.method, c.path, code, e)
		}
	}
	var list struct{ Data []struct{ ID, Key string } }
	g.do("GET", "/v1/api-keys", nil, &list)
	if len(list.Data) != 1 || list.Data[0].Key != "" {
		t.Errorf("list shows keys: %+v", list)
	}
	if code := g.do("DELETE", "/v1/api-keys/"+k.ID, nil, nil); code != http.StatusNoContent {
		t.Errorf("revoke: got %d", code)
	}
	if code := g.doKey(k.Key, "GET", "/v1/faxes", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("revoked key: got %d, want 401", code)
	}
}

func TestCancel(t *testing.T) {
	g := startGateway(t, withEnv("FAXGATE_SIMULATOR_PAGE_DELAY", "200ms"))
	f := g.send("+15551234567", textDoc)
	var c faxObj
	if code := g.do("POST", "/v1/faxes/"+f.ID+"/cancel", nil, &c); code != 200 || c.Status != "canceled" {
		t.Fatalf("cancel: got %d %+v", code, c)
	}
	time.Sleep(500 * time.Millisecond) // the simulated line hangs up
	if got := g.waitFax(f.ID); got.Status != "canceled" {
		t.Errorf("got %s after the line's pages, want canceled", got.Status)
	}
	var e errorBody
	if code := g.do("POST", "/v1/faxes/"+f.ID+"/cancel", nil, &e); code != http.StatusConflict {
		t.Errorf("cancel again: got %d, want 409", code)
	}
}

// TestRateLimit: a key over its rate gets 429 with Retry-After; another key
// is unaffected.
func TestRateLimit(t *testing.T) {
	g := startGateway(t, withEnv("FAXGATE_RATE_LIMIT", "5"), withEnv("FAXGATE_RATE_BURST", "5"))
	var k struct{ Key string }
	g.do("POST", "/v1/api-keys", map[string]any{"name": "busy", "scopes": []string{"fax:read"}}, &k)
	limited := 0
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("GET", g.url+"/v1/faxes", nil)
		req.Header.Set("Authorization", "Bearer "+k.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	if limited == 0 {
		t.Error("20 requests at once with a burst of 5: none limited")
	}
	if code := g.do("GET", "/v1/faxes", nil, nil); code != 200 {
		t.Errorf("another key: got %d, want 200", code)
	}
}
