package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestSMSThroughGoFax: POST /v1/sms → GoFax's SMS API → GoFax's SMS
// webhook → sms.sent to the user's endpoint; a refusal fails at once.
func TestSMSThroughGoFax(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != "gofax-token" {
			w.WriteHeader(401)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Method+" "+r.URL.Path+" "+string(b))
		mu.Unlock()
		if strings.Contains(string(b), "61400000999") {
			w.WriteHeader(400)
			json.NewEncoder(w).Encode(map[string]any{"Success": false, "Message": "Invalid mobile number"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"Success": true, "Message": nil, "Response": 52410901})
	}))
	defer fake.Close()
	g := startGateway(t, withEnv("GOFAX_TOKEN", "gofax-token"), withEnv("GOFAX_BASE_URL", fake.URL),
		withEnv("GOFAX_WEBHOOK_USER", "gofax"), withEnv("GOFAX_WEBHOOK_PASS", "pw"))
	r := newReceiver(t)
	g.endpoint(r, nil)
	var m struct {
		ID, Status string
		Error      *struct{ Message string }
	}
	if code := g.do("POST", "/v1/sms", map[string]any{"to": "+61412121212", "text": "Your fax to Dr. Smith was delivered."}, &m); code != 202 || m.Status != "queued" {
		t.Fatalf("send: got %d %+v", code, m)
	}
	mu.Lock()
	if len(bodies) != 1 || !strings.Contains(bodies[0], "61412121212") {
		t.Errorf("GoFax got %v", bodies)
	}
	mu.Unlock()
	body := []byte("Recipient=61412121212&ID=52410901&Success=True&Message=Message+successfully+delivered")
	auth := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("gofax:pw"))}
	for i := 0; i < 2; i++ {
		if code, resp := g.post("/gofax-sms-callback", "application/x-www-form-urlencoded", body, auth); code != 200 {
			t.Fatalf("callback: got %d %s", code, resp)
		}
	}
	g.do("GET", "/v1/sms/"+m.ID, nil, &m)
	if m.Status != "sent" {
		t.Errorf("got %+v, want sent", m)
	}
	ev := r.waitFor("sms.sent", m.ID)
	if !ev.Valid {
		t.Error("sms.sent signature did not verify")
	}
	// A refusal is a 422 with the carrier's message.
	var e errorBody
	if code := g.do("POST", "/v1/sms", map[string]any{"to": "+61400000999", "text": "x"}, &e); code != 422 || !strings.Contains(e.Error.Message, "Invalid mobile number") {
		t.Errorf("refused: got %d %+v", code, e)
	}
	for _, bad := range []map[string]any{{"to": "0412", "text": "x"}, {"to": "+61412121212", "text": ""}, {"to": "+61412121212", "text": strings.Repeat("x", 1601)}} {
		if code := g.do("POST", "/v1/sms", bad, &e); code != 400 {
			t.Errorf("%v: got %d, want 400", bad, code)
		}
	}
}
