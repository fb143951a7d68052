package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/provider/phaxio"
)

// lineFake is Phaxio's API on loopback with a line behind each number: each
// send to a number dials it and plays the next outcome of the number's
// script ("busy": busy before any page; "ok": a page, then success;
// "partial": a page, then the line drops busy), then "ok" for good. It
// counts the dials per number, answers Find from the sends it took, and
// calls back signed like Phaxio.
type lineFake struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	scripts map[string][]string
	dials   map[string]int
	refused int // sends refused for their credentials
	// answer, when set, is the status every send is answered with after
	// the fax was taken (a 5xx after Phaxio's commit).
	answer int
	tagged map[string]int // faxgate id → Phaxio id of the sends taken
	nextID int
	done   sync.WaitGroup
}

func newLineFake(t *testing.T, scripts map[string][]string) *lineFake {
	f := &lineFake{t: t, token: "line-token", scripts: scripts, dials: map[string]int{}, tagged: map[string]int{}, nextID: 5100}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.done.Wait(); f.srv.Close() })
	return f
}

func (f *lineFake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == "GET" && r.URL.Path == "/v2.1/faxes" {
		f.find(w, r)
		return
	}
	if r.Method != "POST" || r.URL.Path != "/v2.1/faxes" {
		w.WriteHeader(404)
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != "phaxio-key" || p != "phaxio-secret" {
		f.mu.Lock()
		f.refused++
		f.mu.Unlock()
		w.WriteHeader(401)
		json.NewEncoder(w).Encode(map[string]any{"success": false, "message": "Invalid API credentials"})
		return
	}
	fields := formFields(r)
	to := fields["to"]
	f.mu.Lock()
	f.dials[to]++
	outcome := "ok"
	if s := f.scripts[to]; len(s) > 0 {
		outcome, f.scripts[to] = s[0], s[1:]
	}
	f.nextID++
	id := f.nextID
	f.tagged[fields["tag[faxgate_id]"]] = id
	answer := f.answer
	f.mu.Unlock()
	f.done.Add(1)
	go func() {
		defer f.done.Done()
		f.play(fields["callback_url"], id, to, outcome)
	}()
	if answer != 0 {
		w.WriteHeader(answer)
		io.WriteString(w, "<html>Bad Gateway</html>")
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"success": true, "message": "Fax queued for sending", "data": map[string]any{"id": id}})
}

// find answers Phaxio's list of sent faxes filtered by faxgate's tag.
func (f *lineFake) find(w http.ResponseWriter, r *http.Request) {
	tag := r.URL.Query().Get("tag[faxgate_id]")
	f.mu.Lock()
	id, ok := f.tagged[tag]
	f.mu.Unlock()
	list := []any{}
	if ok {
		list = append(list, map[string]any{"id": id, "direction": "sent", "status": "inprogress", "tags": map[string]string{"faxgate_id": tag}})
	}
	json.NewEncoder(w).Encode(map[string]any{"success": true, "message": "Retrieved faxes successfully", "data": list})
}

func formFields(r *http.Request) map[string]string {
	fields := map[string]string{}
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	mr := multipart.NewReader(r.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		if p.FormName() != "file" {
			fields[p.FormName()] = string(b)
		}
	}
	return fields
}

// play reports one call's progress and outcome to faxgate.
func (f *lineFake) play(url string, id int, to, outcome string) {
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
	if outcome != "busy" {
		post("transmitting_page", map[string]string{"page": "1", "recipient_phone_number": to},
			map[string]any{"id": id, "direction": "sent", "num_pages": 2, "status": "inprogress", "to_number": to})
	}
	final := map[string]any{"id": id, "direction": "sent", "num_pages": 2, "status": "success", "to_number": to,
		"completed_at": "2026-11-23T10:00:00.000Z"}
	if outcome != "ok" {
		final["status"] = "failure"
		final["error_type"], final["error_id"], final["error_message"] = "lineError", 17, "Busy"
	}
	post("fax_completed", nil, final)
}

func (f *lineFake) dialed(to string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dials[to]
}

// lineGateway runs a gateway sending through the fake with a settable
// clock, so that a redial's interval passes when the test says.
func lineGateway(t *testing.T, fake *lineFake, clock *testClock, opts ...gatewayOption) *gateway {
	addr := freeAddr(t)
	opts = append([]gatewayOption{
		withEnv("FAXGATE_ADDR", addr), withEnv("FAXGATE_PUBLIC_URL", "http://"+addr),
		withEnv("FAXGATE_PROVIDER", "phaxio"), withEnv("PHAXIO_API_KEY", "phaxio-key"),
		withEnv("PHAXIO_API_SECRET", "phaxio-secret"), withEnv("PHAXIO_WEBHOOK_TOKEN", fake.token),
		withEnv("PHAXIO_BASE_URL", fake.srv.URL+"/v2.1"), withEnv("FAXGATE_REDIAL_ATTEMPTS", "3"),
		withClock(clock),
	}, opts...)
	g := startGateway(t, opts...)
	t.Cleanup(fake.done.Wait)
	return g
}

// attemptObj is one entry of a fax's attempts.
type attemptObj struct {
	Number        int     `json:"number"`
	Provider      string  `json:"provider"`
	ProviderFaxID *string `json:"provider_fax_id"`
	StartedAt     string  `json:"started_at"`
	EndedAt       *string `json:"ended_at"`
	Outcome       string  `json:"outcome"`
	Error         *struct {
		Code string `json:"code"`
	} `json:"error"`
	RetryAt *string `json:"retry_at"`
}

type faxAttempts struct {
	Status      string       `json:"status"`
	Provider    string       `json:"provider"`
	MaxAttempts int          `json:"max_attempts"`
	Attempts    []attemptObj `json:"attempts"`
}

func (g *gateway) attempts(id string) faxAttempts {
	g.t.Helper()
	var f faxAttempts
	if code := g.do("GET", "/v1/faxes/"+id, nil, &f); code != 200 {
		g.t.Fatalf("get fax: %d", code)
	}
	return f
}

// waitQueued waits until the fax is back in line for a redial with n
// earlier attempts.
func (g *gateway) waitRedial(id string, n int) faxAttempts {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		f := g.attempts(id)
		if f.Status == "queued" && len(f.Attempts) == n+1 {
			return f
		}
		if f.Status != "queued" && f.Status != "sending" {
			g.t.Fatalf("fax %s ended %s, want it queued for redial %d (attempts %+v)", id, f.Status, n, f.Attempts)
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("fax %s not queued for redial %d after 20s: %+v", id, n, f)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedialBusyThenAnswer: a number busy on the first call is dialed
// again after FAXGATE_REDIAL_INTERVAL (5m by default), announced by
// fax.retry_scheduled with its reason and time, and delivered on the
// second call: two dials in all, both in the fax's attempts.
func TestRedialBusyThenAnswer(t *testing.T) {
	t.Parallel()
	const to = "+15551239100"
	fake := newLineFake(t, map[string][]string{to: {"busy"}})
	clock := newTestClock()
	g := lineGateway(t, fake, clock)
	r := newReceiver(t)
	g.endpoint(r, map[string]any{"inflight": true})
	f := g.send(to, textDoc)
	q := g.waitRedial(f.ID, 1)
	first := q.Attempts[0]
	if first.Outcome != "redial" || first.Error == nil || first.Error.Code != "busy" || first.ProviderFaxID == nil || first.RetryAt == nil {
		t.Fatalf("first attempt: got %+v, want a busy redial with Phaxio's id and a retry time", first)
	}
	ev := r.waitFor("fax.retry_scheduled", f.ID)
	wantAt := clock.Now().Add(5 * time.Minute).UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if ev.Data["reason"] != "busy" || ev.Data["attempt"] != float64(2) || ev.Data["retry_at"] != wantAt {
		t.Errorf("fax.retry_scheduled: got reason %v attempt %v retry_at %v, want busy 2 %s", ev.Data["reason"], ev.Data["attempt"], ev.Data["retry_at"], wantAt)
	}
	// Not before its time.
	clock.Advance(4 * time.Minute)
	g.m.Dispatcher.Notify()
	time.Sleep(100 * time.Millisecond)
	if n := fake.dialed(to); n != 1 {
		t.Fatalf("dialed %d times before the redial interval, want 1", n)
	}
	clock.Advance(time.Minute)
	g.m.Dispatcher.Notify()
	if done := g.waitFax(f.ID); done.Status != "sent" {
		t.Fatalf("got %+v, want sent on the second call", done)
	}
	if n := fake.dialed(to); n != 2 {
		t.Errorf("dialed %d times, want 2", n)
	}
	got := g.attempts(f.ID)
	if len(got.Attempts) != 2 || got.Attempts[1].Outcome != "sent" || got.Attempts[1].ProviderFaxID == nil ||
		*got.Attempts[1].ProviderFaxID == *first.ProviderFaxID || got.MaxAttempts != 3 {
		t.Errorf("attempts: got %+v, want the busy call and the sent one, each with its own Phaxio id", got)
	}
}

// TestRedialBusyEveryTime: a number busy on every call is dialed the
// send's max_attempts times, then fails; fax.failed lists every attempt's
// reason.
func TestRedialBusyEveryTime(t *testing.T) {
	t.Parallel()
	const to = "+15551239101"
	fake := newLineFake(t, map[string][]string{to: {"busy", "busy", "busy", "busy"}})
	clock := newTestClock()
	g := lineGateway(t, fake, clock)
	r := newReceiver(t)
	g.endpoint(r, nil)
	var f faxObj
	if code := g.do("POST", "/v1/faxes", multipartSend(map[string]string{"to": to, "max_attempts": "2"}, textDoc), &f); code != 202 {
		t.Fatalf("send: got %d", code)
	}
	g.waitRedial(f.ID, 1)
	clock.Advance(5 * time.Minute)
	g.m.Dispatcher.Notify()
	done := g.waitFax(f.ID)
	if done.Status != "failed" || done.Error == nil || done.Error.Code != "busy" {
		t.Fatalf("got %+v, want failed busy", done)
	}
	clock.Advance(time.Hour)
	g.m.Dispatcher.Notify()
	time.Sleep(100 * time.Millisecond)
	if n := fake.dialed(to); n != 2 {
		t.Errorf("dialed %d times, want max_attempts=2", n)
	}
	ev := r.waitFor("fax.failed", f.ID)
	list, _ := ev.Data["attempts"].([]any)
	if len(list) != 2 {
		t.Fatalf("fax.failed attempts: got %v, want 2", ev.Data["attempts"])
	}
	for i, a := range list {
		e, _ := a.(map[string]any)["error"].(map[string]any)
		if e["code"] != "busy" {
			t.Errorf("attempt %d: got %v, want busy", i+1, a)
		}
	}
}

// TestRedialNotAfterPartial: a call that dropped after a page was sent is
// never redialed, though its error is a busy code.
func TestRedialNotAfterPartial(t *testing.T) {
	t.Parallel()
	const to = "+15551239102"
	fake := newLineFake(t, map[string][]string{to: {"partial"}})
	clock := newTestClock()
	g := lineGateway(t, fake, clock)
	f := g.send(to, textDoc)
	if done := g.waitFax(f.ID); done.Status != "failed" {
		t.Fatalf("got %+v, want failed", done)
	}
	clock.Advance(time.Hour)
	g.m.Dispatcher.Notify()
	time.Sleep(100 * time.Millisecond)
	if n := fake.dialed(to); n != 1 {
		t.Errorf("dialed %d times, want 1", n)
	}
	if got := g.attempts(f.ID); len(got.Attempts) != 0 {
		t.Errorf("attempts: got %+v, want none listed for one call", got.Attempts)
	}
}

// TestRedialSimulator: the simulator's number ending 0003 is busy on the
// first call and answers the second.
func TestRedialSimulator(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	g := startGateway(t, withClock(clock), withEnv("FAXGATE_REDIAL_ATTEMPTS", "3"))
	f := g.send("+15551230003", textDoc)
	g.waitRedial(f.ID, 1)
	clock.Advance(5 * time.Minute)
	g.m.Dispatcher.Notify()
	if done := g.waitFax(f.ID); done.Status != "sent" {
		t.Fatalf("got %+v, want sent", done)
	}
	got := g.attempts(f.ID)
	if len(got.Attempts) != 2 || got.Attempts[0].Outcome != "redial" || got.Attempts[1].Outcome != "sent" {
		t.Errorf("attempts: got %+v", got.Attempts)
	}
	// The console's fax page lists them too.
	b := &browser{t: t, g: g}
	b.signIn(adminKey)
	if _, page := b.req("GET", "/console/faxes/"+f.ID, nil, nil); !strings.Contains(page, "<h2>Attempts</h2>") || !strings.Contains(page, "redial: busy") {
		t.Errorf("console fax page: no attempts table with the busy redial")
	}
}

// TestMaxAttemptsRefused: max_attempts outside 1..10, or not a number, is
// 400 in either encoding, and creates nothing.
func TestMaxAttemptsRefused(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	for _, v := range []string{"0", "11", "-1", "two", "2.5"} {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if code := g.do("POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567", "max_attempts": v}, textDoc), &e); code != 400 || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, "max_attempts") {
			t.Errorf("multipart max_attempts=%s: got %d %+v, want 400 invalid naming max_attempts", v, code, e)
		}
		body := fmt.Sprintf(`{"to":"+15551234567","content_base64":"RGVhciBEci4=","filename":"a.txt","max_attempts":%s}`, jsonValue(v))
		if code := g.do("POST", "/v1/faxes", body, &e); code != 400 || e.Error.Code != "invalid" {
			t.Errorf("JSON max_attempts=%s: got %d %+v, want 400 invalid", v, code, e)
		}
	}
	var l struct{ Data []any }
	g.do("GET", "/v1/faxes", nil, &l)
	if len(l.Data) != 0 {
		t.Errorf("got %d faxes, want none", len(l.Data))
	}
	var f faxAttempts
	if code := g.do("POST", "/v1/faxes", map[string]any{"to": "+15551234567", "content_base64": "RGVhciBEci4=", "filename": "a.txt", "max_attempts": 10}, &f); code != 202 || f.MaxAttempts != 10 {
		t.Errorf("max_attempts=10: got %d %+v, want 202 with max_attempts 10", code, f)
	}
}

// jsonValue writes v as a JSON number when it is one, else as a string.
func jsonValue(v string) string {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v
	}
	return strconv.Quote(v)
}
