package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/provider/phaxio"
	"github.com/faxgate/faxgate/internal/webhook"
)

// benchReceiver is the user's webhook endpoint on loopback. It verifies
// every Standard Webhooks signature, counts what arrives and, while
// tracking a plan, records when each callback's webhook arrived.
//
// Like the load generator, it speaks minimal HTTP/1.1 itself (one
// goroutine per keep-alive connection, requests with a Content-Length,
// 204 answers) rather than through net/http, so that it takes as little
// of the machine as it can from the gateway it measures: a user's receiver
// runs elsewhere.
type benchReceiver struct {
	secret   string
	ln       net.Listener
	url      string
	verified atomic.Int64
	invalid  atomic.Int64
	firstBad atomic.Pointer[string]
	track    atomic.Pointer[benchTracker]
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}

	// ids, when not nil, counts the webhooks of each webhook-id (--instances
	// checks that no delivery is claimed twice); dupIDs counts repeats.
	idMu   sync.Mutex
	ids    map[string]int32
	dupIDs atomic.Int64
}

// benchTracker matches webhooks to the callbacks of a plan.
type benchTracker struct {
	plan    *benchPlan
	epoch   time.Time
	faxes   map[string]int // fax id → index in plan.faxes
	arrived []atomic.Int64 // per request: arrival after epoch, 0 until then
	matched atomic.Int64
	extra   atomic.Int64 // webhooks no callback maps to one-to-one (fax.sending)
	dup     atomic.Int64
}

func newBenchTracker(p *benchPlan, epoch time.Time) *benchTracker {
	t := &benchTracker{plan: p, epoch: epoch, faxes: make(map[string]int, len(p.faxes)), arrived: make([]atomic.Int64, p.n)}
	for i, f := range p.faxes {
		t.faxes[f.id] = i
	}
	return t
}

func newBenchReceiver(secret string) (*benchReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &benchReceiver{secret: secret, ln: ln, url: "http://" + ln.Addr().String() + "/hook", conns: map[net.Conn]struct{}{}}
	r.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns[c] = struct{}{}
			r.mu.Unlock()
			r.wg.Go(func() { r.serve(c) })
		}
	})
	return r, nil
}

func (r *benchReceiver) close() {
	r.ln.Close()
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

var answer204 = []byte("HTTP/1.1 204 No Content\r\n\r\n")

// serve answers the requests of one connection until it closes.
func (r *benchReceiver) serve(c net.Conn) {
	defer func() {
		r.mu.Lock()
		delete(r.conns, c)
		r.mu.Unlock()
		c.Close()
	}()
	br := bufio.NewReaderSize(c, 8192)
	h := http.Header{}
	var body []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if !bytes.HasPrefix(line, []byte("POST ")) {
			r.bad(fmt.Sprintf("unexpected request line %q", bytes.TrimSpace(line)))
			return
		}
		clear(h)
		length, closeAfter := -1, false
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			hl := bytes.TrimRight(line, "\r\n")
			if len(hl) == 0 {
				break
			}
			name, value, _ := bytes.Cut(hl, []byte(":"))
			value = bytes.TrimSpace(value)
			switch {
			case bytes.EqualFold(name, []byte("Content-Length")):
				if length, err = strconv.Atoi(string(value)); err != nil {
					r.bad("bad Content-Length")
					return
				}
			case bytes.EqualFold(name, []byte("Connection")):
				closeAfter = bytes.EqualFold(value, []byte("close"))
			case bytes.EqualFold(name, []byte(webhook.HeaderID)), bytes.EqualFold(name, []byte(webhook.HeaderTimestamp)),
				bytes.EqualFold(name, []byte(webhook.HeaderSignature)):
				h.Set(string(name), string(value))
			}
		}
		if length < 0 {
			r.bad("a webhook without a Content-Length")
			return
		}
		body = slices.Grow(body[:0], length)[:length]
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		r.receive(h, body)
		if _, err := c.Write(answer204); err != nil || closeAfter {
			return
		}
	}
}

// receive verifies one webhook and counts it. An invalid signature is
// answered 204 like the others, so that the gateway does not retry it,
// and counted as an error.
func (r *benchReceiver) receive(h http.Header, body []byte) {
	now := time.Now()
	if err := webhook.Verify(r.secret, h, body, now, 0); err != nil {
		r.bad("webhook signature: " + err.Error())
		return
	}
	r.verified.Add(1)
	if r.ids != nil {
		id := h.Get(webhook.HeaderID)
		r.idMu.Lock()
		r.ids[id]++
		again := r.ids[id] > 1
		r.idMu.Unlock()
		if again {
			r.dupIDs.Add(1)
		}
	}
	if t := r.track.Load(); t != nil {
		t.record(body, now)
	}
}

func (r *benchReceiver) bad(msg string) {
	r.invalid.Add(1)
	r.firstBad.CompareAndSwap(nil, &msg)
}

// record matches one verified webhook to its callback: fax.page_sent to
// the page's callback, fax.sent to fax_completed.
func (t *benchTracker) record(body []byte, now time.Time) {
	typ, faxID, page, ok := eventKeyFields(body)
	if !ok {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ID   string `json:"id"`
				Page int    `json:"page"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.extra.Add(1)
			return
		}
		typ, faxID, page = ev.Type, ev.Data.ID, ev.Data.Page
	}
	fi, known := t.faxes[faxID]
	step := 0
	switch typ {
	case "fax.page_sent":
		step = page
	case "fax.sent":
		step = t.plan.pages + 1
	}
	if !known || step < 1 || step > t.plan.steps[fi] {
		t.extra.Add(1)
		return
	}
	at := max(int64(now.Sub(t.epoch)), 1)
	if t.arrived[t.plan.offset[fi]+step-1].CompareAndSwap(0, at) {
		t.matched.Add(1)
	} else {
		t.dup.Add(1)
	}
}

// eventKeyFields reads the event type, the fax id and the page from a
// default-format payload, whose fields come in a fixed order, without
// decoding it; ok is false when the body is not laid out as expected.
func eventKeyFields(body []byte) (typ, faxID string, page int, ok bool) {
	str := func(key string) (string, bool) {
		i := bytes.Index(body, []byte(key))
		if i < 0 {
			return "", false
		}
		rest := body[i+len(key):]
		j := bytes.IndexByte(rest, '"')
		if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
			return "", false
		}
		return string(rest[:j]), true
	}
	if typ, ok = str(`"type":"`); !ok {
		return
	}
	if faxID, ok = str(`"data":{"id":"`); !ok {
		return
	}
	if i := bytes.LastIndex(body, []byte(`"page":`)); i >= 0 {
		rest := body[i+len(`"page":`):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if page, _ = strconv.Atoi(string(rest[:j])); j == 0 {
			return "", "", 0, false
		}
	}
	return typ, faxID, page, true
}

// waitVerified waits until n webhooks have been verified in all, or until
// timeout.
func (r *benchReceiver) waitVerified(ctx context.Context, n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for r.verified.Load() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d webhooks arrived, want %d", r.verified.Load(), n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Microsecond):
		}
	}
	return nil
}

// ceilingServer is the plain net/http handler faxgate is measured against:
// it reads the body and answers 200.
func ceilingServer() (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String(), nil
}

// fakeCarrier stands for Phaxio's API. None of the scenarios of one
// gateway sends a fax, so there any call to it is an error. With accept
// (--instances, whose sends scenario does send) it accepts each POST
// /faxes, counting the sends of each fax by the faxgate id tag, so that a
// fax sent twice shows; other calls are counted and refused.
type fakeCarrier struct {
	srv    *http.Server
	url    string
	calls  atomic.Int64
	accept bool

	mu       sync.Mutex
	sends    map[string]int // faxgate fax id → POST /faxes received
	sent     atomic.Int64   // POST /faxes accepted
	dupSends atomic.Int64
	nextID   int64
}

func newFakeCarrier(accept bool) (*fakeCarrier, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeCarrier{url: "http://" + ln.Addr().String() + "/v2.1", accept: accept, sends: map[string]int{}, nextID: 700000000}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

func (f *fakeCarrier) serve(w http.ResponseWriter, r *http.Request) {
	if !f.accept || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/faxes") {
		f.calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	id := ""
	if err := r.ParseMultipartForm(1 << 20); err == nil {
		id = r.FormValue("tag[" + phaxio.TagName + "]")
	}
	if id == "" {
		f.calls.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.sends[id]++
	again := f.sends[id] > 1
	f.nextID++
	pid := f.nextID
	f.mu.Unlock()
	if again {
		f.dupSends.Add(1)
	}
	f.sent.Add(1)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"success":true,"message":"Fax queued for sending","data":{"id":%d}}`, pid)
}

// memStatus reads the resident set (VmRSS) and its high-water mark (VmHWM)
// of this process, in bytes.
func memStatus() (rss, hwm int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	return parseMemStatus(f)
}

// parseMemStatus reads VmRSS and VmHWM from a /proc/PID/status.
func parseMemStatus(r io.Reader) (rss, hwm int64) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		var p *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			p = &rss
		case strings.HasPrefix(line, "VmHWM:"):
			p = &hwm
		default:
			continue
		}
		fields := strings.Fields(line)
		if len(fields) >= 2 {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			*p = kb << 10
		}
	}
	return rss, hwm
}

// memSampler records the largest resident set seen while it runs.
type memSampler struct {
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func startMemSampler() *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, _ := memStatus(); rss > m.peak.Load() {
				m.peak.Store(rss)
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// reset starts a new peak from now.
func (m *memSampler) reset() { rss, _ := memStatus(); m.peak.Store(rss) }

func (m *memSampler) close() { close(m.stop); <-m.done }

// percentile returns the q-quantile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sortedDurations(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}
