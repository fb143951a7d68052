package main

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// apiCall sends one request with key (none when empty) and returns the
// status, the decoded error shape and the raw body.
func apiCall(t *testing.T, key, method, url, ct string, body []byte) (int, errorBody, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e errorBody
	json.Unmarshal(raw, &e)
	return resp.StatusCode, e, string(raw)
}

// orderedSend is a multipart send whose fields keep their order and may
// repeat, with textDoc as its document.
func orderedSend(fields ...[2]string) (ct string, body []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		w.WriteField(f[0], f[1])
	}
	fw, _ := w.CreateFormFile("file", "letter.txt")
	fw.Write(textDoc)
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

func (g *gateway) newKey(t *testing.T, name string, scopes ...string) apiKey {
	t.Helper()
	var k apiKey
	if code := g.do("POST", "/v1/api-keys", map[string]any{"name": name, "scopes": scopes}, &k); code != http.StatusCreated {
		t.Fatalf("create key %s: got %d", name, code)
	}
	return k
}

func (g *gateway) faxCount(t *testing.T) int {
	t.Helper()
	var l struct{ Data []json.RawMessage }
	if code := g.do("GET", "/v1/faxes?limit=500", nil, &l); code != http.StatusOK {
		t.Fatalf("list faxes: got %d", code)
	}
	return len(l.Data)
}

// TestHostileAPIMetrics: /metrics on the API listener answers only keys
// with metrics:read; FAXGATE_METRICS_ADDR serves it without a key and
// serves nothing else.
func TestHostileAPIMetrics(t *testing.T) {
	t.Parallel()
	metricsAddr := freeAddr(t)
	g := startGateway(t, withEnv("FAXGATE_METRICS_ADDR", metricsAddr))
	g.waitFax(g.send("+15551234567", textDoc).ID)
	code, e, raw := apiCall(t, "", "GET", g.url+"/metrics", "", nil)
	if code != http.StatusUnauthorized || e.Error.Code != "unauthorized" || strings.Contains(raw, "faxgate_") {
		t.Errorf("/metrics without a key: got %d %s, want 401 in the error shape", code, truncateStr(raw, 200))
	}
	scraper := g.newKey(t, "prometheus", "metrics:read")
	reader := g.newKey(t, "reader", "fax:read")
	if code, e, _ := apiCall(t, reader.Key, "GET", g.url+"/metrics", "", nil); code != http.StatusForbidden || e.Error.Code != "forbidden" {
		t.Errorf("/metrics with a fax:read key: got %d %q, want 403 forbidden", code, e.Error.Code)
	}
	want := `faxgate_faxes{direction="outbound",provider="simulator",status="sent"} 1`
	for name, key := range map[string]string{"metrics:read key": scraper.Key, "admin key": adminKey} {
		if code, _, raw := apiCall(t, key, "GET", g.url+"/metrics", "", nil); code != http.StatusOK || !strings.Contains(raw, want) {
			t.Errorf("/metrics with the %s: got %d, want 200 with %s", name, code, want)
		}
	}
	if code, _, raw := apiCall(t, "", "GET", "http://"+metricsAddr+"/metrics", "", nil); code != http.StatusOK || !strings.Contains(raw, want) {
		t.Errorf("FAXGATE_METRICS_ADDR /metrics without a key: got %d, want 200 with %s", code, want)
	}
	for _, path := range []string{"/v1/faxes", "/v1/api-keys", "/openapi.json"} {
		if code, _, _ := apiCall(t, adminKey, "GET", "http://"+metricsAddr+path, "", nil); code != http.StatusNotFound {
			t.Errorf("FAXGATE_METRICS_ADDR %s: got %d, want 404", path, code)
		}
	}
}

// TestHostileAPISendSlots: a key with only fax:send opens 64 sends whose
// bodies trickle. It holds its own share of the send slots, not the
// gateway's: another key and the admin still send, and a trickling body is
// cut off at FAXGATE_SEND_BODY_TIMEOUT.
func TestHostileAPISendSlots(t *testing.T) {
	t.Parallel()
	g := startGateway(t, withEnv("FAXGATE_SEND_BODY_TIMEOUT", "2m"))
	hog := g.newKey(t, "hog", "fax:send")
	other := g.newKey(t, "other", "fax:send", "fax:read")

	ct, body := orderedSend([2]string{"to", "+15551234567"})
	head := body[:len(body)-20]
	codes := make(chan int, 64)
	var writers []*io.PipeWriter
	defer func() {
		for _, pw := range writers {
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}
	}()
	for range 64 {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		go func() {
			req, _ := http.NewRequest("POST", g.url+"/v1/faxes", pr)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer "+hog.Key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
		pw.Write(head)
	}
	// The key's sends beyond its share (16 by default) are refused at
	// once; the wait is bounded so that, were none refused, the 64 are
	// surely in place before the other keys try.
	refused := 0
	wait := time.After(20 * time.Second)
collect:
	for refused < 64-16 {
		select {
		case c := <-codes:
			if c != http.StatusTooManyRequests {
				t.Errorf("a trickled send beyond the key's share: got %d, want 429", c)
			}
			refused++
		case <-wait:
			break collect
		}
	}
	if refused != 64-16 {
		t.Errorf("%d of the 64 trickled sends were refused, want 48 (beyond the key's share of 16)", refused)
	}
	for name, key := range map[string]string{"another key": other.Key, "the admin key": adminKey} {
		ct, body := orderedSend([2]string{"to", "+15557654321"})
		if code, e, _ := apiCall(t, key, "POST", g.url+"/v1/faxes", ct, body); code != http.StatusAccepted {
			t.Errorf("%s sends while one key trickles 64 bodies: got %d %+v, want 202", name, code, e)
		}
	}
}

// TestHostileAPISendBodyDeadline: a body trickled a byte at a time gets
// 408 at FAXGATE_SEND_BODY_TIMEOUT and makes no fax.
func TestHostileAPISendBodyDeadline(t *testing.T) {
	t.Parallel()
	g := startGateway(t, withEnv("FAXGATE_SEND_BODY_TIMEOUT", "1s"))
	ct, body := orderedSend([2]string{"to", "+15551234567"})
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	defer close(stop)
	defer pw.CloseWithError(io.ErrClosedPipe)
	go func() {
		for _, c := range body {
			if _, err := pw.Write([]byte{c}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", g.url+"/v1/faxes", pr)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("the trickled send got no answer: %v", err)
	}
	var e errorBody
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || e.Error.Code != "timeout" || e.Error.RequestID == "" {
		t.Errorf("trickled body: got %d %+v, want 408 timeout in the error shape", resp.StatusCode, e)
	}
	if n := g.faxCount(t); n != 0 {
		t.Errorf("the trickled send made %d faxes", n)
	}
}

// TestHostileAPICallbackURL: a fax's callback_url gets the endpoint url's
// checks: mailto: is refused without SMTP, and ?headers adding recipients
// are refused with it.
func TestHostileAPICallbackURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		smtp   string
		url    string
		status int
		code   string
	}{
		{"no SMTP, bcc", "", "mailto:a@b.example?bcc=c@d.example", 422, "unprocessable"},
		{"no SMTP, plain", "", "mailto:a@b.example", 422, "unprocessable"},
		{"SMTP, bcc", "smtp://relay.example:25", "mailto:a@b.example?bcc=c@d.example", 400, "invalid"},
		{"SMTP, cc", "smtp://relay.example:25", "mailto:a@b.example?cc=c@d.example", 400, "invalid"},
		{"SMTP, encoded comma", "smtp://relay.example:25", "mailto:a@b.example%2Cc@d.example", 400, "invalid"},
		{"SMTP, encoded line break", "smtp://relay.example:25", "mailto:a@b.example%0D%0ABcc:c@d.example", 400, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []gatewayOption{}
			if tc.smtp != "" {
				opts = append(opts, withEnv("FAXGATE_SMTP_URL", tc.smtp))
			}
			g := startGateway(t, opts...)
			ct, body := orderedSend([2]string{"to", "+15551234567"}, [2]string{"callback_url", tc.url})
			if code, e, raw := apiCall(t, adminKey, "POST", g.url+"/v1/faxes", ct, body); code != tc.status || e.Error.Code != tc.code {
				t.Errorf("callback_url %s: got %d %s, want %d %s", tc.url, code, truncateStr(raw, 200), tc.status, tc.code)
			}
			js, _ := json.Marshal(map[string]string{"url": tc.url})
			if code, e, raw := apiCall(t, adminKey, "POST", g.url+"/v1/webhook-endpoints", "application/json", js); code != tc.status || e.Error.Code != tc.code {
				t.Errorf("endpoint url %s: got %d %s, want %d %s", tc.url, code, truncateStr(raw, 200), tc.status, tc.code)
			}
			if n := g.faxCount(t); n != 0 {
				t.Errorf("refused sends made %d faxes", n)
			}
		})
	}
}

// TestHostileAPIAmbiguousInput: a repeated single-valued field or query
// parameter and an unknown query parameter are refused with 400 naming
// them, not guessed at.
func TestHostileAPIAmbiguousInput(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	g.waitFax(g.send("+15551234567", textDoc).ID)
	// to is multi-valued since batches (batch_e2e_test.go); from is not.
	ct, body := orderedSend([2]string{"to", "+15551234567"}, [2]string{"from", "+15557654321"}, [2]string{"from", "+15557654322"})
	if code, e, _ := apiCall(t, adminKey, "POST", g.url+"/v1/faxes", ct, body); code != 400 || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, "from") {
		t.Errorf("send with from twice: got %d %+v, want 400 naming from", code, e)
	}
	for _, tc := range []struct{ path, name string }{
		{"/v1/faxes?bogus=1", "bogus"},
		{"/v1/faxes?to=5557654321", "to"}, // not E.164
		{"/v1/faxes?status=failed&status=sent", "status"},
		{"/v1/deliveries?fax=x", "fax"},
		{"/v1/faxes/fax_x/events?since=1", "since"},
	} {
		if code, e, _ := apiCall(t, adminKey, "GET", g.url+tc.path, "", nil); code != 400 || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, tc.name) {
			t.Errorf("GET %s: got %d %+v, want 400 naming %s", tc.path, code, e, tc.name)
		}
	}
	if n := g.faxCount(t); n != 1 {
		t.Errorf("got %d faxes, want the one sent", n)
	}
	var l struct{ Data []json.RawMessage }
	if code := g.do("GET", "/v1/faxes?direction=outbound&status=sent&limit=10", nil, &l); code != 200 || len(l.Data) != 1 {
		t.Errorf("list with the filters that exist: got %d with %d faxes, want 200 with 1", code, len(l.Data))
	}
}

// TestHostileAPIKeyMinting: a key with keys:manage can grant only scopes
// it holds.
func TestHostileAPIKeyMinting(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	manager := g.newKey(t, "manager", "keys:manage")
	for _, scopes := range [][]string{{"fax:send"}, {"fax:read"}, {"keys:manage", "webhooks:manage"}, {"metrics:read"}} {
		js, _ := json.Marshal(map[string]any{"name": "minted", "scopes": scopes})
		if code, e, _ := apiCall(t, manager.Key, "POST", g.url+"/v1/api-keys", "application/json", js); code != 403 || e.Error.Code != "forbidden" {
			t.Errorf("keys:manage key grants %v: got %d %+v, want 403 forbidden", scopes, code, e)
		}
	}
	js, _ := json.Marshal(map[string]any{"name": "deputy", "scopes": []string{"keys:manage"}})
	if code, _, raw := apiCall(t, manager.Key, "POST", g.url+"/v1/api-keys", "application/json", js); code != 201 {
		t.Errorf("keys:manage key grants keys:manage: got %d %s, want 201", code, truncateStr(raw, 200))
	}
	var l struct{ Data []struct{ Name string } }
	g.do("GET", "/v1/api-keys", nil, &l)
	if len(l.Data) != 2 {
		t.Errorf("got %d keys, want the manager and its deputy: %+v", len(l.Data), l.Data)
	}
}
