package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestSinchSendEndToEnd: POST /v1/faxes → Sinch's API (Basic auth) →
// Sinch's FAX_COMPLETED callback, authenticated by the Basic credentials
// faxgate put in the callbackUrl → sent.
func TestSinchSendEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var got map[string]string
	var wg sync.WaitGroup
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/v3/projects/proj-1/faxes" {
			w.WriteHeader(404)
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "key-id" || p != "key-secret" {
			w.WriteHeader(401)
			return
		}
		fields := map[string]string{}
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			fields[p.FormName()] = string(b)
		}
		mu.Lock()
		got = fields
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"id": "01JPBCH4K6N8Q0S2V4X6Z8B0D9", "direction": "OUTBOUND", "status": "QUEUED", "to": fields["to"]})
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]any{"event": "FAX_COMPLETED", "eventTime": "2026-11-23T10:00:00Z",
				"fax": map[string]any{"id": "01JPBCH4K6N8Q0S2V4X6Z8B0D9", "direction": "OUTBOUND", "status": "COMPLETED",
					"numberOfPages": 1, "pagesSentSuccessfully": 1, "to": fields["to"]}})
			for i := 0; i < 2; i++ { // Sinch retries: one state change
				resp, err := http.Post(fields["callbackUrl"], "application/json", bytes.NewReader(body))
				if err != nil {
					t.Errorf("callback: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("callback: got %d", resp.StatusCode)
				}
			}
		}()
	}))
	defer func() { wg.Wait(); fake.Close() }()
	addr := freeAddr(t)
	g := startGateway(t, withEnv("FAXGATE_ADDR", addr), withEnv("FAXGATE_PUBLIC_URL", "http://"+addr),
		withEnv("FAXGATE_PROVIDER", "sinch"), withEnv("SINCH_PROJECT_ID", "proj-1"), withEnv("SINCH_KEY_ID", "key-id"),
		withEnv("SINCH_KEY_SECRET", "key-secret"), withEnv("SINCH_BASE_URL", fake.URL),
		withEnv("SINCH_INBOUND_BASIC_USER", "sinch-hook"), withEnv("SINCH_INBOUND_BASIC_PASS", "hook-pass"),
		withEnv("SINCH_CALLBACK_CONTENT_TYPE", "application/json"))
	r := newReceiver(t)
	g.endpoint(r, nil)
	f := g.send("+15551234567", textDoc)
	done := g.waitFax(f.ID)
	if done.Status != "sent" || done.ProviderFaxID == nil || *done.ProviderFaxID != "01JPBCH4K6N8Q0S2V4X6Z8B0D9" {
		t.Fatalf("got %+v", done)
	}
	mu.Lock()
	if got["to"] != "+15551234567" || got["callbackUrlContentType"] != "application/json" {
		t.Errorf("send request: %v", got)
	}
	mu.Unlock()
	wg.Wait()
	if ev := r.waitFor("fax.sent", f.ID); !ev.Valid {
		t.Error("fax.sent signature did not verify")
	}
	// Without the Basic credentials, a callback is refused.
	body := []byte(`{"event":"FAX_COMPLETED","fax":{"id":"01JPBCH4K6N8Q0S2V4X6Z8B0D9","status":"FAILURE","direction":"OUTBOUND"}}`)
	if code, _ := g.post("/sinch-callback?job_id="+f.ID, "application/json", body, nil); code != 401 {
		t.Errorf("unauthenticated callback: got %d, want 401", code)
	}
}
