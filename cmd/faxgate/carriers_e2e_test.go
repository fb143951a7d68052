package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/provider/phaxio"
)

// fakePhaxio is Phaxio's API on loopback: it accepts sends, remembers each
// request, and then calls the fax's callback_url back like Phaxio does,
// signed with the webhook token.
type fakePhaxio struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	mu    sync.Mutex
	sends []map[string]string
	// answers are status codes to answer sends with, in turn; then 200.
	answers []int
	nextID  int
	done    sync.WaitGroup
}

func newFakePhaxio(t *testing.T, token string, answers ...int) *fakePhaxio {
	f := &fakePhaxio{t: t, token: token, answers: answers, nextID: 323034811}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.done.Wait(); f.srv.Close() })
	return f
}

func (f *fakePhaxio) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || r.URL.Path != "/v2.1/faxes" {
		w.WriteHeader(404)
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != "phaxio-key" || p != "phaxio-secret" {
		w.WriteHeader(401)
		json.NewEncoder(w).Encode(map[string]any{"success": false, "message": "bad credentials"})
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
		if p.FormName() == "file" {
			fields["file"] = fmt.Sprintf("%d bytes", len(b))
			continue
		}
		fields[p.FormName()] = string(b)
	}
	f.mu.Lock()
	f.sends = append(f.sends, fields)
	code := 200
	if len(f.answers) > 0 {
		code, f.answers = f.answers[0], f.answers[1:]
	}
	f.nextID++
	id := f.nextID
	f.mu.Unlock()
	if code != 200 {
		if code == http.StatusServiceUnavailable {
			// Unavailable for now: the request was not taken (a 503
			// without Retry-After is ambiguous).
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"success": false, "message": "Phaxio says no"})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"success": true, "message": "Fax queued for sending", "data": map[string]any{"id": id}})
	f.done.Add(1)
	go func() {
		defer f.done.Done()
		f.callBack(fields["callback_url"], id, fields["to"])
	}()
}

// callBack reports a page, then the outcome (busy for numbers ending 17),
// then repeats the outcome and sends a stale page event, as real carriers
// do.
func (f *fakePhaxio) callBack(url string, id int, to string) {
	post := func(event string, extra map[string]string, faxObj map[string]any) {
		fj, _ := json.Marshal(faxObj)
		fields := map[string][]string{"fax": {string(fj)}, "event_type": {event}}
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		w.WriteField("fax", string(fj))
		w.WriteField("event_type", event)
		for k, v := range extra {
			w.WriteField(k, v)
			fields[k] = []string{v}
		}
		w.Close()
		req, _ := http.NewRequest("POST", url, &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("X-Phaxio-Signature", phaxio.Sign(f.token, url, fields, nil))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			f.t.Errorf("callback: %v", err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			f.t.Errorf("callback %s: got %d", event, resp.StatusCode)
		}
	}
	base := map[string]any{"id": id, "direction": "sent", "num_pages": 1, "status": "inprogress", "to_number": to}
	post("transmitting_page", map[string]string{"page": "1", "recipient_phone_number": to}, base)
	final := map[string]any{"id": id, "direction": "sent", "num_pages": 1, "status": "success", "to_number": to,
		"completed_at": "2026-11-23T10:00:00.000Z"}
	if strings.HasSuffix(to, "17") {
		final["status"] = "failure"
		final["error_type"], final["error_id"], final["error_message"] = "lineError", 17, "Busy"
	} else {
		final["recipients"] = []map[string]any{{"phone_number": to, "status": "success", "bitrate": 14400}}
	}
	post("fax_completed", nil, final)
	post("fax_completed", nil, final)
	post("transmitting_page", map[string]string{"page": "1"}, base)
}

func (f *fakePhaxio) requests() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]string(nil), f.sends...)
}

func phaxioGateway(t *testing.T, fake *fakePhaxio, opts ...gatewayOption) *gateway {
	addr := freeAddr(t)
	opts = append([]gatewayOption{
		withEnv("FAXGATE_ADDR", addr), withEnv("FAXGATE_PUBLIC_URL", "http://"+addr),
		withEnv("FAXGATE_PROVIDER", "phaxio"), withEnv("PHAXIO_API_KEY", "phaxio-key"),
		withEnv("PHAXIO_API_SECRET", "phaxio-secret"), withEnv("PHAXIO_WEBHOOK_TOKEN", fake.token),
		withEnv("PHAXIO_BASE_URL", fake.srv.URL+"/v2.1"),
	}, opts...)
	g := startGateway(t, opts...)
	// The fake's callbacks (a repeated outcome, a stale page) may still be
	// on their way when the test is done: the gateway stops after them.
	t.Cleanup(fake.done.Wait)
	return g
}

// TestPhaxioSendEndToEnd: POST /v1/faxes → Phaxio's API → Phaxio's signed
// callbacks → sent, with repeats and a stale event changing nothing.
func TestPhaxioSendEndToEnd(t *testing.T) {
	fake := newFakePhaxio(t, "phaxio-webhook-token")
	g := phaxioGateway(t, fake)
	r := newReceiver(t)
	g.endpoint(r, nil)
	f := g.send("+15551234567", textDoc)
	done := g.waitFax(f.ID)
	if done.Status != "sent" || done.Provider != "phaxio" || done.ProviderFaxID == nil || *done.ProviderFaxID != "323034812" {
		t.Fatalf("got %+v", done)
	}
	reqs := fake.requests()
	if len(reqs) != 1 {
		t.Fatalf("Phaxio got %d sends, want 1", len(reqs))
	}
	if want := g.url + "/phaxio-callback?job_id=" + f.ID; reqs[0]["callback_url"] != want {
		t.Errorf("callback_url: got %q, want %q", reqs[0]["callback_url"], want)
	}
	if reqs[0]["to"] != "+15551234567" || reqs[0]["file"] == "" {
		t.Errorf("send request: %v", reqs[0])
	}
	fake.done.Wait()
	r.waitFor("fax.sent", f.ID)
	var timeline struct{ Data []struct{ Type string } }
	g.do("GET", "/v1/faxes/"+f.ID+"/events", nil, &timeline)
	count := map[string]int{}
	for _, e := range timeline.Data {
		count[e.Type]++
	}
	if count["fax.sent"] != 1 || count["fax.page_sent"] != 1 || count["fax.failed"] != 0 {
		t.Errorf("timeline %v: want one page_sent and one sent despite repeats", count)
	}
	time.Sleep(50 * time.Millisecond)
	sent := 0
	for _, e := range r.got() {
		if e.Type == "fax.sent" {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("receiver got fax.sent %d times, want 1", sent)
	}
}

func TestPhaxioBusy(t *testing.T) {
	fake := newFakePhaxio(t, "tok")
	g := phaxioGateway(t, fake)
	f := g.send("+15551234517", textDoc)
	done := g.waitFax(f.ID)
	if done.Status != "failed" || done.Error == nil || done.Error.Code != "busy" {
		t.Fatalf("got %+v, want failed busy", done)
	}
}

// TestPhaxioRetryAndRefusal: a 503 with Retry-After (not taken) is retried
// without a double send; a 422 fails the fax with the carrier's message.
func TestPhaxioRetryAndRefusal(t *testing.T) {
	clock := newTestClock()
	fake := newFakePhaxio(t, "tok", 503)
	g := phaxioGateway(t, fake, withClock(clock))
	f := g.send("+15551234567", textDoc)
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.requests()) < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	clock.Advance(2 * time.Minute)
	g.m.Dispatcher.Notify()
	if done := g.waitFax(f.ID); done.Status != "sent" {
		t.Fatalf("got %+v", done)
	}
	if n := len(fake.requests()); n != 2 {
		t.Errorf("Phaxio got %d sends, want 2 (one refused with 503, one accepted)", n)
	}

	fake.mu.Lock()
	fake.answers = []int{422}
	fake.mu.Unlock()
	f = g.send("+15551234568", textDoc)
	done := g.waitFax(f.ID)
	if done.Status != "failed" || done.Error == nil || !strings.Contains(done.Error.Message, "Phaxio says no") {
		t.Fatalf("got %+v, want failed with the carrier's message", done)
	}
}

func TestPhaxioCallbackForgeries(t *testing.T) {
	fake := newFakePhaxio(t, "tok")
	g := phaxioGateway(t, fake)
	f := g.send("+15551234567", textDoc)
	g.waitFax(f.ID)
	fake.done.Wait()
	body := []byte("fax=%7B%22id%22%3A1%2C%22status%22%3A%22failure%22%7D&event_type=fax_completed")
	url := g.url + "/phaxio-callback?job_id=" + f.ID
	sig := phaxio.Sign("tok", url, map[string][]string{"fax": {`{"id":1,"status":"failure"}`}, "event_type": {"fax_completed"}}, nil)
	for name, tc := range map[string]struct{ path, sig string }{
		"other job id":  {"/phaxio-callback?job_id=fax_other", sig},
		"no signature":  {"/phaxio-callback?job_id=" + f.ID, ""},
		"wrong token":   {"/phaxio-callback?job_id=" + f.ID, phaxio.Sign("nope", url, nil, nil)},
		"basic instead": {"/phaxio-callback?job_id=" + f.ID, base64.StdEncoding.EncodeToString([]byte("a:b"))},
	} {
		if code, _ := g.post(tc.path, "application/x-www-form-urlencoded", body, map[string]string{"X-Phaxio-Signature": tc.sig}); code != 401 {
			t.Errorf("%s: got %d, want 401", name, code)
		}
	}
	// A correctly signed late failure is acknowledged but changes nothing.
	if code, _ := g.post("/phaxio-callback?job_id="+f.ID, "application/x-www-form-urlencoded", body, map[string]string{"X-Phaxio-Signature": sig}); code != 200 {
		t.Errorf("late signed failure: got %d, want 200", code)
	}
	if got := g.waitFax(f.ID); got.Status != "sent" {
		t.Errorf("a late failure moved a sent fax to %s", got.Status)
	}
}
