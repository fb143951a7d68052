package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// hostileModes are the ways a carrier answers a send it has recorded that
// leave faxgate unsure whether it took the fax, by the last digit of the
// fax's number.
var hostileModes = []string{"reset", "cut", "500", "502", "503", "504", "malformed"}

// TestHostileCarrierRecordsOnce: each carrier records a fax and then drops
// the connection, cuts its answer off, answers 500, 502, 503 (without
// Retry-After), 504 or a 200 that is not its JSON. faxgate must not send
// any of these faxes again: Phaxio and Sinch are asked and found to have
// them; GoFax cannot be asked and holds them as not confirmed. Once the
// dispatcher has settled every fax, the carrier's callbacks come and every
// fax ends sent.
func TestHostileCarrierRecordsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := buildBinary(t)
	for _, kind := range []string{"phaxio", "sinch", "gofax"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			carrier := newSendRecorder(t, ctx, kind)
			carrier.release = make(chan struct{})
			carrier.misbehave = func(to string) string {
				d := int(to[len(to)-1] - '0')
				if d < len(hostileModes) {
					return hostileModes[d]
				}
				return ""
			}
			dir, addr := t.TempDir(), freeAddr(t)
			env := carrierEnv(kind, carrier, addr)
			p := startProcess(t, bin, dir, addr, env...)
			ids := map[string]string{} // fax id → mode
			for i, mode := range hostileModes {
				body := multipartSend(map[string]string{"to": fmt.Sprintf("+1555777000%d", i)}, textDoc)
				code, b := p.request("POST", "/v1/faxes", body.ct, bytes.NewReader(body.buf.Bytes()))
				if code != http.StatusAccepted {
					t.Fatalf("send: got %d %s", code, b)
				}
				var f faxObj
				json.Unmarshal(b, &f)
				ids[f.ID] = mode
			}
			// Settled: no fax waits to be sent or is being sent, and each
			// awaits its carrier's result.
			deadline := time.Now().Add(2 * time.Minute)
			for queueDepth(t, p, "dispatch") != 0 || queueDepth(t, p, "result") != len(ids) {
				if time.Now().After(deadline) {
					t.Fatalf("the dispatcher did not settle; carrier sends %v; logs:\n%s", carrier.counts(), p.logs)
				}
				time.Sleep(50 * time.Millisecond)
			}
			counts := carrier.counts()
			for id, mode := range ids {
				if counts[id] != 1 {
					t.Errorf("%s answered %s: recorded %d times by %s, want 1", id, mode, counts[id], kind)
				}
			}
			close(carrier.release)
			for id := range ids {
				p.waitSent(id, time.Now().Add(30*time.Second))
			}
			if counts := carrier.counts(); len(counts) != len(ids) {
				t.Errorf("the carrier recorded %d faxes, want %d", len(counts), len(ids))
			}
			t.Logf("%s: %d ambiguous answers, sends per fax %v, %d lookups", kind, len(ids), carrier.counts(), carrier.finds)
		})
	}
}

// TestSilentCarrierSettled: a carrier takes faxes and never calls back.
// Phaxio and Sinch are asked for the result after
// FAXGATE_RESULT_CHECK_AFTER and the faxes end sent; GoFax cannot be asked,
// and its faxes fail as not_confirmed at FAXGATE_GOFAX_RESULT_TIMEOUT. The
// result queue counts the faxes while they wait, and none is sent twice.
func TestSilentCarrierSettled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := buildBinary(t)
	for _, kind := range []string{"phaxio", "sinch", "gofax"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			carrier := newSendRecorder(t, ctx, kind)
			carrier.release = make(chan struct{}) // never closed: no callback ever comes
			dir, addr := t.TempDir(), freeAddr(t)
			env := append(carrierEnv(kind, carrier, addr), "FAXGATE_RESULT_CHECK_AFTER=3s", "FAXGATE_RESULT_CHECK_EVERY=1s",
				"FAXGATE_GOFAX_RESULT_TIMEOUT=4s")
			p := startProcess(t, bin, dir, addr, env...)
			var ids []string
			for i := range 3 {
				body := multipartSend(map[string]string{"to": fmt.Sprintf("+1555888000%d", i)}, textDoc)
				code, b := p.request("POST", "/v1/faxes", body.ct, bytes.NewReader(body.buf.Bytes()))
				if code != http.StatusAccepted {
					t.Fatalf("send: got %d %s", code, b)
				}
				var f faxObj
				json.Unmarshal(b, &f)
				ids = append(ids, f.ID)
			}
			deadline := time.Now().Add(time.Minute)
			for queueDepth(t, p, "result") != len(ids) {
				if time.Now().After(deadline) {
					t.Fatalf("the result queue never counted the %d handed faxes; logs:\n%s", len(ids), p.logs)
				}
				time.Sleep(20 * time.Millisecond)
			}
			for _, id := range ids {
				for {
					_, b := p.request("GET", "/v1/faxes/"+id, "", nil)
					var f faxObj
					json.Unmarshal(b, &f)
					if f.Status == "sent" || f.Status == "failed" {
						want, code := "sent", ""
						if kind == "gofax" {
							want = "failed"
						}
						if f.Error != nil {
							code = f.Error.Code
						}
						if f.Status != want || (kind == "gofax" && code != "not_confirmed") {
							t.Errorf("%s: got %s %q, want %s (not_confirmed for GoFax)", id, f.Status, code, want)
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s still %s; logs:\n%s", id, f.Status, p.logs)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			// /metrics serves the last figures while it reads new ones, so
			// the queue is read until it catches up.
			for n := queueDepth(t, p, "result"); n != 0; n = queueDepth(t, p, "result") {
				if time.Now().After(deadline) {
					t.Fatalf("result queue: got %d, want 0 once every fax is settled", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			for id, n := range carrier.counts() {
				if n != 1 {
					t.Errorf("%s recorded %d times, want 1", id, n)
				}
			}
			if kind != "gofax" && carrier.checks == 0 {
				t.Errorf("%s was never asked for a result", kind)
			}
			t.Logf("%s: %d faxes without callbacks settled after %d result checks", kind, len(ids), carrier.checks)
		})
	}
}

// carrierEnv configures faxgate on addr to send through the recorder.
func carrierEnv(kind string, carrier *sendRecorder, addr string) []string {
	// The queue figures are read from /metrics while they change: reuse
	// the store's figures for 50 ms, not the default 30 s.
	env := append([]string{"FAXGATE_PROVIDER=" + kind, "FAXGATE_PUBLIC_URL=http://" + addr, "FAXGATE_METRICS_CACHE=50ms"}, fastResume...)
	switch kind {
	case "phaxio":
		env = append(env, "PHAXIO_API_KEY=crash-key", "PHAXIO_API_SECRET=crash-secret",
			"PHAXIO_WEBHOOK_TOKEN="+harnessToken, "PHAXIO_BASE_URL="+carrier.srv.URL+"/v2.1")
	case "sinch":
		env = append(env, "SINCH_PROJECT_ID=proj-1", "SINCH_KEY_ID=key-id", "SINCH_KEY_SECRET=key-secret",
			"SINCH_BASE_URL="+carrier.srv.URL, "SINCH_INBOUND_BASIC_USER=sinch-hook", "SINCH_INBOUND_BASIC_PASS=hook-pass",
			"SINCH_CALLBACK_CONTENT_TYPE=application/json")
	case "gofax":
		env = append(env, "GOFAX_TOKEN=crash-token", "GOFAX_BASE_URL="+carrier.srv.URL)
	}
	return env
}

// queueDepth reads faxgate_queue_depth{queue="name"} from /metrics.
func queueDepth(t *testing.T, p *process, name string) int {
	t.Helper()
	_, b := p.request("GET", "/metrics", "", nil)
	want := `faxgate_queue_depth{queue="` + name + `"} `
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), want); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return -1
}
