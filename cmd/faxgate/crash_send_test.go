package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/provider/phaxio"
)

// sendRecorder is a carrier on loopback that records every send it takes
// per faxgate fax id, answers after a random delay (so that kills land
// between the carrier taking a fax and faxgate recording it), and then
// posts the fax's final callback until faxgate acknowledges it, as
// carriers do. Phaxio commits a send only as its request ends (the worst
// case for a lookup right after a restart); Sinch and GoFax as it arrives.
type sendRecorder struct {
	t      *testing.T
	kind   string // "phaxio" or "gofax"
	srv    *httptest.Server
	ctx    context.Context
	mu     sync.Mutex
	rng    *mrand.Rand
	sends  map[string][]int // faxgate id → carrier ids given
	next   int
	finds  int
	checks int
	cut    int // sends whose answer faxgate did not wait for (killed mid-send)

	// misbehave, when set, picks how the carrier answers the first send of
	// a fax to number to after recording it ("" answers normally); the
	// callbacks of such faxes wait until release is closed.
	misbehave func(to string) string
	release   chan struct{}
	// callbackAfter delays every callback, so that a killed send's lease
	// runs out before its callback comes and the carrier is asked.
	callbackAfter time.Duration
	answered      map[string]bool // faxgate id → its first send was answered
	wg            sync.WaitGroup
}

func newSendRecorder(t *testing.T, ctx context.Context, kind string) *sendRecorder {
	c := &sendRecorder{t: t, kind: kind, ctx: ctx, sends: map[string][]int{}, next: 500000000, rng: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7)),
		answered: map[string]bool{}}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(func() { c.wg.Wait(); c.srv.Close() })
	return c
}

func (c *sendRecorder) delay() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.rng.Int64N(int64(400 * time.Millisecond)))
}

func (c *sendRecorder) record(faxID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	c.sends[faxID] = append(c.sends[faxID], c.next)
	return c.next
}

func (c *sendRecorder) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case c.kind == "phaxio" && r.Method == "POST" && r.URL.Path == "/v2.1/faxes":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			w.WriteHeader(http.StatusBadRequest) // cut off: Phaxio has nothing
			return
		}
		faxID, cb := r.FormValue("tag["+phaxio.TagName+"]"), r.FormValue("callback_url")
		time.Sleep(c.delay())
		id := c.record(faxID) // committed as the request ends, even if faxgate is gone
		c.noteCut(r)
		if c.answer(w, faxID, r.FormValue("to"), "application/json", fmt.Sprintf(`{"success":true,"message":"Fax queued for sending","data":{"id":%d}}`, id)) {
			c.wg.Add(1)
			go c.callBack(cb, id)
		}
	case c.kind == "sinch" && r.Method == "POST" && r.URL.Path == "/v3/projects/proj-1/faxes":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		faxID, cb, to := r.FormValue("labels[faxgate_id]"), r.FormValue("callbackUrl"), r.FormValue("to")
		id := c.record(faxID) // queued as it arrives
		if c.misbehave == nil {
			time.Sleep(c.delay())
		}
		c.noteCut(r)
		if c.answer(w, faxID, to, "application/json", fmt.Sprintf(`{"id":"sinch%d","direction":"OUTBOUND","status":"QUEUED","to":%q}`, id, to)) {
			c.wg.Add(1)
			go c.callBack(cb, id)
		}
	case c.kind == "sinch" && r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v3/projects/proj-1/faxes/"):
		c.mu.Lock()
		c.checks++
		c.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"id": strings.TrimPrefix(r.URL.Path, "/v3/projects/proj-1/faxes/"), "direction": "OUTBOUND", "status": "COMPLETED", "numberOfPages": 1})
	case c.kind == "sinch" && r.Method == "GET" && r.URL.Path == "/v3/projects/proj-1/faxes":
		c.mu.Lock()
		c.finds++
		faxes := []any{}
		for faxID, ids := range c.sends {
			for _, id := range ids {
				faxes = append(faxes, map[string]any{"id": fmt.Sprintf("sinch%d", id), "direction": "OUTBOUND", "status": "IN_PROGRESS", "labels": map[string]string{"faxgate_id": faxID}})
			}
		}
		c.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"faxes": faxes, "totalSize": len(faxes)})
	case c.kind == "phaxio" && r.Method == "GET" && r.URL.Path == "/v2.1/faxes":
		faxID := r.URL.Query().Get("tag[" + phaxio.TagName + "]")
		c.mu.Lock()
		c.finds++
		ids := append([]int(nil), c.sends[faxID]...)
		c.mu.Unlock()
		data := []any{}
		for _, id := range ids {
			data = append(data, map[string]any{"id": id, "direction": "sent", "status": "inprogress", "tags": map[string]string{phaxio.TagName: faxID}})
		}
		json.NewEncoder(w).Encode(map[string]any{"success": true, "data": data})
	case c.kind == "phaxio" && r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v2.1/faxes/"):
		c.mu.Lock()
		c.checks++
		c.mu.Unlock()
		fmt.Fprintf(w, `{"success":true,"data":{"id":%s,"status":"success","num_pages":1}}`, strings.TrimPrefix(r.URL.Path, "/v2.1/faxes/"))
	case c.kind == "gofax" && r.Method == "PUT" && r.URL.Path == "/v1.0/SendFax":
		var req struct{ SendTo, CallbackURL string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		u, err := url.Parse(req.CallbackURL)
		if err != nil || u.Query().Get("job_id") == "" {
			c.t.Errorf("GoFax send without a CallbackURL naming the fax: %q", req.CallbackURL)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		faxID := u.Query().Get("job_id")
		id := c.record(faxID) // queued as it arrives
		if c.misbehave == nil {
			time.Sleep(c.delay())
		}
		c.noteCut(r)
		if c.answer(w, faxID, req.SendTo, "application/json", fmt.Sprintf(`{"Success":true,"Message":null,"ValidationErrors":null,"Response":%d}`, id)) {
			c.wg.Add(1)
			go c.callBack(req.CallbackURL+"&"+url.Values{"Recipient": {req.SendTo}, "ID": {fmt.Sprint(id)}, "Success": {"True"}, "Message": {"Fax successfully sent"}}.Encode(), id)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// answer writes the carrier's answer to a send it recorded, or, for the
// first send of a fax that misbehave names a mode for, misbehaves: "reset"
// drops the connection, "cut" cuts the answer off, "500" to "504" answer
// that status, "malformed" a 200 that is not the carrier's JSON. It
// reports whether the fax's callbacks should follow (always, but held
// until release for a fax that misbehaved).
func (c *sendRecorder) answer(w http.ResponseWriter, faxID, to, ct, body string) bool {
	c.mu.Lock()
	first := !c.answered[faxID]
	c.answered[faxID] = true
	c.mu.Unlock()
	mode := ""
	if c.misbehave != nil && first {
		mode = c.misbehave(to)
	}
	switch mode {
	case "reset":
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case "cut":
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", fmt.Sprint(len(body)+50))
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body[:len(body)/2])
	case "500", "502", "503", "504":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(map[string]int{"500": 500, "502": 502, "503": 503, "504": 504}[mode])
		io.WriteString(w, "<html>upstream error</html>")
	case "malformed":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>OK</html>")
	default:
		w.Header().Set("Content-Type", ct)
		io.WriteString(w, body)
	}
	return true
}

// noteCut counts a send whose sender is gone: the kill came mid-send.
func (c *sendRecorder) noteCut(r *http.Request) {
	if r.Context().Err() != nil {
		c.mu.Lock()
		c.cut++
		c.mu.Unlock()
	}
}

// callBack posts the fax's final callback until faxgate answers 2xx.
func (c *sendRecorder) callBack(cbURL string, id int) {
	defer c.wg.Done()
	if c.release != nil {
		select {
		case <-c.release:
		case <-c.ctx.Done():
			return
		}
	}
	time.Sleep(c.callbackAfter + c.delay())
	var body []byte
	ct, sig := "application/x-www-form-urlencoded", ""
	switch c.kind {
	case "sinch":
		ct = "application/json"
		body, _ = json.Marshal(map[string]any{"event": "FAX_COMPLETED", "eventTime": "2026-11-23T10:00:00Z",
			"fax": map[string]any{"id": fmt.Sprintf("sinch%d", id), "direction": "OUTBOUND", "status": "COMPLETED", "numberOfPages": 1}})
	case "phaxio":
		done := fmt.Sprintf(`{"id":%d,"direction":"sent","num_pages":1,"status":"success","completed_at":"2026-11-23T10:00:00.000Z"}`, id)
		fields := map[string][]string{"fax": {done}, "event_type": {"fax_completed"}}
		body = []byte(url.Values(fields).Encode())
		sig = phaxio.Sign(harnessToken, cbURL, fields, nil)
	}
	for c.ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(c.ctx, "POST", cbURL, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		if sig != "" {
			req.Header.Set(phaxio.SignatureHeader, sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return
			}
			if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
				c.t.Errorf("callback %d refused with %d", id, resp.StatusCode)
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *sendRecorder) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for id, ids := range c.sends {
		out[id] = len(ids)
	}
	return out
}

// TestCrashSendNoDoubles kills faxgate with SIGKILL at random moments
// while faxes are being handed to a carrier that records every send, ten
// times per carrier, then lets the last run settle: no fax may be recorded
// twice by the carrier, and every accepted fax must end sent.
func TestCrashSendNoDoubles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary; skipped in -short mode")
	}
	bin := buildBinary(t)
	for _, kind := range []string{"phaxio", "sinch", "gofax"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			carrier := newSendRecorder(t, ctx, kind)
			carrier.callbackAfter = 2 * time.Second
			dir, addr := t.TempDir(), freeAddr(t)
			env := carrierEnv(kind, carrier, addr)
			var accepted []string
			for cycle := range 10 {
				p := startProcess(t, bin, dir, addr, env...)
				for i := range 4 {
					body := multipartSend(map[string]string{"to": fmt.Sprintf("+1555%03d%04d", 200+cycle, i)}, textDoc)
					code, b := p.request("POST", "/v1/faxes", body.ct, bytes.NewReader(body.buf.Bytes()))
					if code != http.StatusAccepted {
						t.Fatalf("send: got %d %s", code, b)
					}
					var f faxObj
					json.Unmarshal(b, &f)
					accepted = append(accepted, f.ID)
				}
				time.Sleep(carrier.delay())
				p.kill()
			}
			before := len(carrier.counts())
			p := startProcess(t, bin, dir, addr, env...)
			deadline := time.Now().Add(45 * time.Second)
			for _, id := range accepted {
				p.waitSent(id, deadline)
			}
			p.kill()
			cancel()
			doubled, lost := 0, 0
			counts := carrier.counts()
			for _, id := range accepted {
				switch n := counts[id]; {
				case n > 1:
					doubled++
					t.Errorf("%s recorded %d times by %s", id, n, kind)
				case n == 0:
					lost++
					t.Errorf("%s is sent but %s never recorded it", id, kind)
				}
			}
			t.Logf("%s: %d faxes over 10 SIGKILLs (%d recorded before the last start, %d cut off mid-send): %d recorded twice, %d lost; %d lookups, %d result checks",
				kind, len(accepted), before, carrier.cut, doubled, lost, carrier.finds, carrier.checks)
		})
	}
}
