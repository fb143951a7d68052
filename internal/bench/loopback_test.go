package bench

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/webhook"
)

// TestLoaderLoopback drives a net/http server on loopback with a plan's
// callbacks through the raw client: every callback arrives whole on a
// kept-alive connection, in order per fax, and a refusal is counted.
func TestLoaderLoopback(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string][]string{} // job_id → bodies in arrival order
	var conns atomic.Int64
	var refused atomic.Bool
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || r.URL.Path != "/phaxio-callback" || r.Header.Get("X-Phaxio-Signature") == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		id := r.URL.Query().Get("job_id")
		mu.Lock()
		seen[id] = append(seen[id], string(b))
		mu.Unlock()
		if id == "fax_refused" && refused.CompareAndSwap(false, true) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	faxes := []benchFax{{"fax_a", 400000001}, {"fax_b", 400000002}, {"fax_refused", 400000003}, {"fax_d", 400000004}}
	const pages = 3
	p := newBenchPlan("test", faxes, pages, 14) // the last fax stops after two callbacks
	p.sign("token", srv.URL)
	lr := newLoader(2).run(context.Background(), srv.URL, p, 0, time.Now(), nil)
	if lr.n != 14 || lr.errors != 1 || !strings.Contains(lr.firstErr, "503") {
		t.Errorf("got %d callbacks, %d errors (first %q); want 14 and the one refusal", lr.n, lr.errors, lr.firstErr)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want one kept alive per client", n)
	}
	for i, f := range faxes {
		want := min(pages+1, 14-i*(pages+1))
		got := seen[f.id]
		if len(got) != want {
			t.Errorf("%s: %d callbacks, want %d", f.id, len(got), want)
			continue
		}
		// The last callback of a whole fax completes it.
		if want == pages+1 && !strings.Contains(got[pages], "fax_completed") {
			t.Errorf("%s: last callback %q, want fax_completed", f.id, got[pages])
		}
		for _, b := range got[:min(want, pages)] {
			if !strings.Contains(b, "transmitting_page") {
				t.Errorf("%s: page callback %q, want transmitting_page", f.id, b)
			}
		}
	}
}

// TestReceiverVerifies posts webhooks to the raw receiver: one signed with
// its secret is verified, one signed with another is counted invalid.
func TestReceiverVerifies(t *testing.T) {
	t.Parallel()
	secret := webhook.NewSecret()
	r, err := newBenchReceiver(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	post := func(secret string) {
		body := []byte(`{"type":"fax.sent","data":{"id":"fax_a"}}`)
		req, _ := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(body))
		if err := webhook.SetHeaders(req.Header, []string{secret}, "evt_1", time.Now(), body); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("answered %d, want 204", resp.StatusCode)
		}
	}
	post(secret)
	post(webhook.NewSecret())
	if err := r.waitVerified(context.Background(), 1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if v, n := r.verified.Load(), r.invalid.Load(); v != 1 || n != 1 {
		t.Errorf("verified %d, invalid %d; want 1 and 1", v, n)
	}
}
