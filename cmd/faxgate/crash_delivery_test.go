package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// busyReceiver works on each webhook for a while before answering 200, and
// notes, per webhook-id, how many requests it got and whether one arrived
// while another of the same event was still being worked on.
type busyReceiver struct {
	srv        *httptest.Server
	mu         sync.Mutex
	working    map[string]int // webhook-id → requests being worked on
	done       map[string]int // webhook-id → requests answered
	overlapped map[string]bool
	inFlight   int
}

func newBusyReceiver(t *testing.T, work time.Duration) *busyReceiver {
	r := &busyReceiver{working: map[string]int{}, done: map[string]int{}, overlapped: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		if r.working[id] > 0 {
			r.overlapped[id] = true
		}
		r.working[id]++
		r.inFlight++
		r.mu.Unlock()
		time.Sleep(work) // the work goes on even if the sender is gone
		r.mu.Lock()
		r.working[id]--
		r.inFlight--
		r.done[id]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *busyReceiver) busy() int { r.mu.Lock(); defer r.mu.Unlock(); return r.inFlight }

// TestCrashDoesNotResendInFlightDeliveries kills faxgate with SIGKILL while
// a receiver works on its deliveries. After the restart each event still
// arrives (at least once), but none arrives again while the receiver is
// still working on it: the deliveries' claims run out instead of being
// released at start-up.
func TestCrashDoesNotResendInFlightDeliveries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	rcv := newBusyReceiver(t, 3*time.Second)
	// A fax whose send the kill cut off resumes when its claim runs out;
	// the questions to the simulator then take 0.4 s, not a minute.
	env := []string{"FAXGATE_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8", "FAXGATE_WEBHOOK_TIMEOUT=5s", "FAXGATE_CLAIM_LEASE=10s",
		"FAXGATE_SEND_FIND_SETTLE=200ms", "FAXGATE_SEND_FIND_SPACING=200ms"}
	p := startProcess(t, bin, dir, addr, env...)
	body, _ := json.Marshal(map[string]any{"url": rcv.srv.URL + "/hook"})
	if code, b := p.request("POST", "/v1/webhook-endpoints", "application/json", bytes.NewReader(body)); code != http.StatusCreated {
		t.Fatalf("create endpoint: %d %s", code, b)
	}
	const faxes = 6
	for i := range faxes {
		mb := multipartSend(map[string]string{"to": "+1555123" + strconv.Itoa(2000+i)}, textDoc)
		code, b := p.request("POST", "/v1/faxes", mb.ct, &mb.buf)
		if code != http.StatusAccepted {
			t.Fatalf("send: %d %s", code, b)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for rcv.busy() < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if rcv.busy() < 4 {
		t.Fatalf("receiver works on %d deliveries, want 4 (one host's limit) before the crash", rcv.busy())
	}
	p.kill()
	p = startProcess(t, bin, dir, addr, env...)

	// Every fax.sent event is answered at least once. A fax whose send
	// the kill cut off makes its event only once it resumes, so nothing
	// pending is not enough: every event must have been answered.
	deadline = time.Now().Add(60 * time.Second)
	for {
		code, b := p.request("GET", "/v1/deliveries?status=pending", "", nil)
		rcv.mu.Lock()
		answered := len(rcv.done)
		rcv.mu.Unlock()
		if code == http.StatusOK && !strings.Contains(string(b), `"id"`) && rcv.busy() == 0 && answered == faxes {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s, %d of %d events answered; pending: %s", answered, faxes, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.done) != faxes {
		t.Errorf("receiver answered %d events, want %d", len(rcv.done), faxes)
	}
	for id, again := range rcv.overlapped {
		if again {
			t.Errorf("event %s arrived again while the receiver was still working on it", id)
		}
	}
}
