package main

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

	"github.com/faxgate/faxgate/internal/webhook"
)

// benchReceiver is the user's webhook endpoint on loopback. It verifies
// every Standard Webhooks signature, counts what arrives and, while
// tracking a plan, records when each callback's webhook arrived.
type benchReceiver struct {
	secret   string
	srv      *http.Server
	url      string
	verified atomic.Int64
	invalid  atomic.Int64
	firstBad atomic.Pointer[string]
	track    atomic.Pointer[benchTracker]
	bufs     sync.Pool
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
	r := &benchReceiver{secret: secret, url: "http://" + ln.Addr().String() + "/hook"}
	r.bufs.New = func() any { return new(bytes.Buffer) }
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *benchReceiver) close() { r.srv.Close() }

func (r *benchReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer r.bufs.Put(buf)
	if _, err := buf.ReadFrom(req.Body); err != nil {
		r.bad("reading a webhook: " + err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	now := time.Now()
	// An invalid signature is answered 204 like the others, so that the
	// gateway does not retry it, and counted as an error.
	if err := webhook.Verify(r.secret, req.Header, buf.Bytes(), now, 0); err != nil {
		r.bad("webhook signature: " + err.Error())
		w.WriteHeader(http.StatusNoContent)
		return
	}
	r.verified.Add(1)
	if t := r.track.Load(); t != nil {
		t.record(buf.Bytes(), now)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *benchReceiver) bad(msg string) {
	r.invalid.Add(1)
	r.firstBad.CompareAndSwap(nil, &msg)
}

// record matches one verified webhook to its callback: fax.page_sent to
// the page's callback, fax.sent to fax_completed.
func (t *benchTracker) record(body []byte, now time.Time) {
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
	fi, ok := t.faxes[ev.Data.ID]
	step := 0
	switch ev.Type {
	case "fax.page_sent":
		step = ev.Data.Page
	case "fax.sent":
		step = t.plan.pages + 1
	}
	if !ok || step < 1 || step > t.plan.steps[fi] {
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

// fakeCarrier stands for Phaxio's API. None of the scenarios sends a fax,
// so any call to it is an error.
type fakeCarrier struct {
	srv   *http.Server
	url   string
	calls atomic.Int64
}

func newFakeCarrier() (*fakeCarrier, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fakeCarrier{url: "http://" + ln.Addr().String() + "/v2.1"}
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}), ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

// memStatus reads the resident set (VmRSS) and its high-water mark (VmHWM)
// of this process, in bytes.
func memStatus() (rss, hwm int64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
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
