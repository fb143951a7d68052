package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/provider/phaxio"
	"github.com/jackc/pgx/v5"
)

var (
	crashCycles = flag.Int("crash.cycles", 20, "SIGKILL/restart cycles of TestCrashHarness")
	crashSeed   = flag.Uint64("crash.seed", 0, "seed of TestCrashHarness's kill moments (0: from the clock; the seed is logged)")
)

// harnessToken is the fake Phaxio's webhook token.
const harnessToken = "crash-harness-phaxio-token"

// TestCrashHarness runs faxgate as a subprocess on one data directory and
// kills it with SIGKILL at random moments while API clients send faxes
// (retrying with the same Idempotency-Key when a connection dies), a fake
// Phaxio takes the sends and posts its signed callbacks (retrying until it
// gets a 2xx, as carriers do) and receives faxes for faxgate, and a
// loopback endpoint records every event delivered. After -crash.cycles
// restarts and a last run that is left to settle, it checks that:
//
//   - every fax accepted with 202 was handed to the carrier exactly once;
//   - every carrier callback that got a 2xx was applied exactly once: each
//     fax's timeline is queued, sending, page_sent, sent, once each, and
//     each received fax exists once with one fax.received;
//   - every event of every timeline was delivered at least once, with a
//     valid signature;
//   - no event was delivered twice unless a kill came while the earlier
//     delivery was in flight (from just before it reached the receiver to
//     2s after the receiver's 200, so that the attempt may not have been
//     recorded): such repeats are counted and reported, any other is a
//     failure.
//
// It runs on SQLite, and with FAXGATE_TEST_DATABASE_URL set runs again on
// a fresh database on that PostgreSQL server (scripts/test sets it, so CI
// runs both).
func TestCrashHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary; skipped in -short mode")
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	stores := []struct{ name, url string }{{"SQLite", ""}}
	if pg := os.Getenv("FAXGATE_TEST_DATABASE_URL"); pg != "" {
		stores = append(stores, struct{ name, url string }{"PostgreSQL", pg})
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Logf("crash harness: %d cycles on %s, -crash.seed=%d", *crashCycles, st.name, seed)
			h := newHarness(t, seed, st.url)
			h.run(*crashCycles)
			h.verify()
		})
	}
}

// harness drives one crash run.
type harness struct {
	t    *testing.T
	bin  string
	dir  string
	addr string
	url  string
	env  []string
	logs string // directory of each run's output

	rngMu sync.Mutex
	rng   *mrand.Rand

	carrier *crashCarrier
	recv    *crashReceiver
	client  *http.Client
	ctx     context.Context // ends the carriers' and clients' retries
	stop    chan struct{}   // closed: start no new work
	work    sync.WaitGroup  // logical operations in progress

	mu       sync.Mutex
	gens     []generation
	proc     *crashProcess
	accepted map[string]string // Idempotency-Key → fax id
	inbound  map[string]bool   // Phaxio id of a received fax → acknowledged with a 2xx
	problems []string
	retries  atomic.Int64 // requests repeated because a connection died or faxgate answered 5xx
}

// generation is one run of the process.
type generation struct {
	started, ready, killed time.Time
	killedAt               string // what was in flight, for the report
}

// newHarness prepares a run on SQLite in its data directory, or on a fresh
// database on the PostgreSQL server at pg when pg is set.
func newHarness(t *testing.T, seed uint64, pg string) *harness {
	h := &harness{
		t: t, bin: buildBinary(t), dir: t.TempDir(), addr: freeAddr(t),
		rng: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), stop: make(chan struct{}),
		accepted: map[string]string{}, inbound: map[string]bool{},
		client: &http.Client{Timeout: 10 * time.Second},
	}
	h.url = "http://" + h.addr
	h.logs = filepath.Join(h.dir, "logs")
	os.MkdirAll(h.logs, 0o700)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	h.ctx = ctx
	h.recv = newCrashReceiver(t)
	h.carrier = newCrashCarrier(t, ctx, h)
	h.env = []string{
		"FAXGATE_ADDR=" + h.addr, "FAXGATE_DATA_DIR=" + filepath.Join(h.dir, "data"), "FAXGATE_ADMIN_KEY=" + adminKey,
		"FAXGATE_PUBLIC_URL=" + h.url, "FAXGATE_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8", "FAXGATE_LOG_LEVEL=debug",
		"FAXGATE_PROVIDER=phaxio", "PHAXIO_API_KEY=crash-key", "PHAXIO_API_SECRET=crash-secret",
		"PHAXIO_WEBHOOK_TOKEN=" + harnessToken, "PHAXIO_BASE_URL=" + h.carrier.srv.URL + "/v2.1",
		// A failed attempt is retried soon, so that the run settles; the
		// verification's thousands of reads are not throttled.
		"FAXGATE_WEBHOOK_RETRY_SCHEDULE=100ms×50", "FAXGATE_RATE_LIMIT=0",
	}
	h.env = append(h.env, fastResume...)
	if pg != "" {
		h.env = append(h.env, "FAXGATE_DATABASE_URL="+harnessDatabase(t, pg))
	}
	return h
}

// harnessDatabase creates an empty database on the PostgreSQL server at
// base for this run, dropped when the test ends.
func harnessDatabase(t *testing.T, base string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("FAXGATE_TEST_DATABASE_URL: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "faxgate_crash_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close(ctx)
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func (h *harness) randDuration(lo, hi time.Duration) time.Duration {
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	return lo + time.Duration(h.rng.Int64N(int64(hi-lo)+1))
}

func (h *harness) problem(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.problems = append(h.problems, fmt.Sprintf(format, args...))
}

func (h *harness) stopped() bool {
	select {
	case <-h.stop:
		return true
	default:
		return false
	}
}

// crashProcess is one faxgate serve process.
type crashProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// start runs generation n and waits until it is ready.
func (h *harness) start(n int) {
	h.t.Helper()
	logPath := filepath.Join(h.logs, fmt.Sprintf("gen-%03d.log", n))
	f, err := os.Create(logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(h.bin, "serve")
	cmd.Env = append(os.Environ(), h.env...)
	cmd.Stdout, cmd.Stderr = f, f
	g := generation{started: time.Now()}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	p := &crashProcess{cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	h.t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.done:
			out, _ := os.ReadFile(logPath)
			h.t.Fatalf("generation %d exited before it was ready:\n%s", n, out)
		default:
		}
		resp, err := http.Get(h.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			h.t.Fatalf("generation %d not ready after 30s:\n%s", n, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	g.ready = time.Now()
	h.mu.Lock()
	h.gens = append(h.gens, g)
	h.proc = p
	h.mu.Unlock()
}

// kill ends the running generation with SIGKILL.
func (h *harness) kill() {
	h.mu.Lock()
	p := h.proc
	h.mu.Unlock()
	p.cmd.Process.Signal(syscall.SIGKILL)
	now := time.Now()
	<-p.done
	h.mu.Lock()
	h.gens[len(h.gens)-1].killed = now
	h.gens[len(h.gens)-1].killedAt = fmt.Sprintf("%d sends and %d callbacks in flight", h.carrier.inflightSends.Load(), h.carrier.inflightCallbacks.Load())
	h.mu.Unlock()
}

func (h *harness) run(cycles int) {
	t := h.t
	h.start(0)
	var ep struct{ ID, Secret string }
	code, body := h.api("POST", "/v1/webhook-endpoints", "application/json", []byte(`{"url":"`+h.recv.srv.URL+`/hook","inflight":true}`), nil)
	if code != http.StatusCreated || json.Unmarshal(body, &ep) != nil || ep.Secret == "" {
		t.Fatalf("create endpoint: got %d %s", code, body)
	}
	h.recv.setSecret(ep.Secret)

	pdf := samplePDF(t, 1)
	for w := range 2 {
		h.work.Add(1)
		go h.sender(w)
	}
	h.work.Add(1)
	go h.carrierInbound(pdf)

	for n := 1; n <= cycles; n++ {
		time.Sleep(h.randDuration(20*time.Millisecond, 600*time.Millisecond))
		h.kill()
		h.start(n)
	}
	// The last generation is not killed: new work stops, work in progress
	// finishes, and everything settles.
	close(h.stop)
	done := make(chan struct{})
	go func() { h.work.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("clients did not finish within 2 minutes; logs in %s", h.logs)
	}
	h.carrier.wait()
	start := time.Now()
	h.settle()
	h.t.Logf("crash harness: settled %v after the last restart's clients finished", time.Since(start).Round(time.Millisecond))
}

// api sends one request with the admin key, once.
func (h *harness) api(method, path, ct string, body []byte, hdr map[string]string) (int, []byte) {
	req, _ := http.NewRequestWithContext(h.ctx, method, h.url+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// retry repeats a request until faxgate answers it with less than 500
// (and not 429), as a client does across restarts.
func (h *harness) retry(method, path, ct string, body []byte, hdr map[string]string) (int, []byte) {
	for {
		code, b := h.api(method, path, ct, body, hdr)
		if code != 0 && code < 500 && code != http.StatusTooManyRequests {
			return code, b
		}
		if h.ctx.Err() != nil {
			return 0, []byte("gave up: " + string(b))
		}
		h.retries.Add(1)
		time.Sleep(h.randDuration(5*time.Millisecond, 40*time.Millisecond))
	}
}

// sender is an API client sending faxes one after another, each under its
// own Idempotency-Key, retried until it gets its answer.
func (h *harness) sender(w int) {
	defer h.work.Done()
	for i := 0; !h.stopped(); i++ {
		key := fmt.Sprintf("crash-%d-%d", w, i)
		mb := multipartSend(map[string]string{"to": fmt.Sprintf("+1555%d%06d", 3+w, i)}, textDoc)
		code, b := h.retry("POST", "/v1/faxes", mb.ct, mb.buf.Bytes(), map[string]string{"Idempotency-Key": key})
		var f faxObj
		if code != http.StatusAccepted || json.Unmarshal(b, &f) != nil || f.ID == "" {
			h.problem("send %s: got %d %s", key, code, b)
			continue
		}
		h.mu.Lock()
		h.accepted[key] = f.ID
		h.mu.Unlock()
		// Repeating an accepted request gives the same fax.
		if i%7 == 0 {
			code, b = h.retry("POST", "/v1/faxes", mb.ct, mb.buf.Bytes(), map[string]string{"Idempotency-Key": key})
			var again faxObj
			if json.Unmarshal(b, &again); code != http.StatusAccepted || again.ID != f.ID {
				h.problem("send %s again: got %d %s, want 202 with %s", key, code, b, f.ID)
			}
		}
		time.Sleep(h.randDuration(0, 30*time.Millisecond))
	}
}

// carrierInbound is Phaxio delivering received faxes to faxgate, each
// retried until faxgate acknowledges it.
func (h *harness) carrierInbound(pdf []byte) {
	defer h.work.Done()
	for i := 0; !h.stopped(); i++ {
		id := 880000000 + i
		faxJSON := fmt.Sprintf(`{"id":%d,"direction":"received","num_pages":1,"status":"success","from_number":"+15557000%03d","to_number":"+15558000%03d"}`, id, i%1000, i%1000)
		ct, body, sig := phaxioInboundMarked(harnessToken, h.url+"/phaxio-inbound", faxJSON, pdf)
		ok := h.carrier.post(h.url+"/phaxio-inbound", ct, body, sig)
		h.mu.Lock()
		h.inbound[fmt.Sprint(id)] = ok
		h.mu.Unlock()
		if !ok {
			h.problem("received fax %d never acknowledged", id)
		}
		time.Sleep(h.randDuration(10*time.Millisecond, 60*time.Millisecond))
	}
}

// settle waits until every fax is final and every delivery done.
func (h *harness) settle() {
	t := h.t
	deadline := time.Now().Add(90 * time.Second)
	for {
		open := 0
		for _, st := range []string{"queued", "sending"} {
			open += len(h.list("/v1/faxes?direction=outbound&status=" + st))
		}
		pending := len(h.list("/v1/deliveries?status=pending"))
		if open == 0 && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after 90s: %d faxes not final, %d deliveries pending; logs in %s", open, pending, h.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// list reads every page of a list route.
func (h *harness) list(path string) []json.RawMessage {
	h.t.Helper()
	var out []json.RawMessage
	cursor := ""
	for {
		p := path
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		p += sep + "limit=500"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		code, b := h.retry("GET", p, "", nil, nil)
		var page struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor *string           `json:"next_cursor"`
		}
		if code != 200 || json.Unmarshal(b, &page) != nil {
			h.t.Fatalf("GET %s: %d %s", p, code, b)
		}
		out = append(out, page.Data...)
		if page.NextCursor == nil || *page.NextCursor == "" {
			return out
		}
		cursor = *page.NextCursor
	}
}

type harnessFax struct {
	ID            string  `json:"id"`
	Direction     string  `json:"direction"`
	Status        string  `json:"status"`
	ProviderFaxID *string `json:"provider_fax_id"`
}

func (h *harness) verify() {
	t := h.t
	h.mu.Lock()
	problems := append([]string(nil), h.problems...)
	accepted := map[string]string{}
	for k, v := range h.accepted {
		accepted[k] = v
	}
	inbound := map[string]bool{}
	for k, v := range h.inbound {
		inbound[k] = v
	}
	gens := append([]generation(nil), h.gens...)
	h.mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	if len(accepted) == 0 || len(inbound) == 0 {
		t.Fatalf("the run did no work: %d sends accepted, %d faxes received", len(accepted), len(inbound))
	}

	// Every accepted fax, once, handed to the carrier once.
	byID := map[string]bool{}
	for _, id := range accepted {
		if byID[id] {
			t.Errorf("two Idempotency-Keys got fax %s", id)
		}
		byID[id] = true
	}
	var faxes []harnessFax
	for _, raw := range h.list("/v1/faxes") {
		var f harnessFax
		json.Unmarshal(raw, &f)
		faxes = append(faxes, f)
	}
	sends := h.carrier.sendsByFax()
	var timelines = map[string][]harnessEvent{}
	received := map[string]int{}
	outbound := 0
	for _, f := range faxes {
		evs := h.events(f.ID)
		timelines[f.ID] = evs
		count := map[string]int{}
		for _, e := range evs {
			count[e.Type]++
		}
		switch f.Direction {
		case "outbound":
			outbound++
			if !byID[f.ID] {
				t.Errorf("fax %s exists but no client got a 202 for it", f.ID)
			}
			if n := sends[f.ID]; n != 1 {
				t.Errorf("fax %s was handed to the carrier %d times, want 1", f.ID, n)
			}
			want := map[string]int{"fax.queued": 1, "fax.sending": 1, "fax.page_sent": 1, "fax.sent": 1}
			if f.Status != "sent" || !mapsEqual(count, want) {
				t.Errorf("fax %s: %s with events %v, want sent with %v", f.ID, f.Status, count, want)
			}
		case "inbound":
			if f.ProviderFaxID == nil {
				t.Errorf("received fax %s has no carrier id", f.ID)
				continue
			}
			received[*f.ProviderFaxID]++
			if f.Status != "received" || !mapsEqual(count, map[string]int{"fax.received": 1}) {
				t.Errorf("received fax %s (%s): %s with events %v, want received with one fax.received", f.ID, *f.ProviderFaxID, f.Status, count)
			}
		}
	}
	if outbound != len(byID) {
		t.Errorf("%d outbound faxes, want the %d accepted", outbound, len(byID))
	}
	for id := range byID {
		if _, ok := timelines[id]; !ok {
			t.Errorf("accepted fax %s is missing", id)
		}
	}
	for id := range sends {
		if !byID[id] {
			t.Errorf("the carrier got a send for %s, which no client was told of", id)
		}
	}
	for id, ok := range inbound {
		if ok && received[id] != 1 {
			t.Errorf("received fax %s acknowledged with a 2xx is there %d times, want 1", id, received[id])
		}
	}
	for id, n := range received {
		if !inbound[id] {
			t.Errorf("received fax %s stored %d times but never acknowledged", id, n)
		}
	}
	cbs := h.carrier.callbackReport()
	for _, c := range cbs.failed {
		t.Errorf("carrier callback never acknowledged: %s", c)
	}

	// Every event delivered at least once; repeats only across a kill.
	receipts := h.recv.byEvent()
	var events, dupes, explained int
	var maxGap time.Duration
	var unexplained []string
	for faxID, evs := range timelines {
		for _, e := range evs {
			events++
			rs := receipts[e.ID]
			if len(rs) == 0 {
				t.Errorf("event %s (%s of %s) was never delivered", e.ID, e.Type, faxID)
				continue
			}
			for _, r := range rs {
				if !r.valid {
					t.Errorf("event %s was delivered with a signature that does not verify", e.ID)
				}
			}
			for j := 1; j < len(rs); j++ {
				dupes++
				prev, cur := rs[j-1], rs[j]
				// The receiver reads a request's arrival after faxgate wrote
				// it: one written just before a kill arrives just after.
				kill, ok := killBetween(gens, prev.arrived.Add(-inFlightSlack), cur.arrived)
				gap := kill.Sub(prev.answered)
				if ok && gap < 2*time.Second {
					explained++
					maxGap = max(maxGap, gap)
					continue
				}
				near := nearestKill(gens, prev.arrived)
				unexplained = append(unexplained, fmt.Sprintf("event %s (%s of %s) delivered again at +%v after +%v with no kill in between (nearest kill at +%v)",
					e.ID, e.Type, faxID, cur.arrived.Sub(gens[0].started), prev.arrived.Sub(gens[0].started), near.Sub(gens[0].started)))
			}
		}
	}
	for _, u := range unexplained {
		t.Error(u)
	}
	if extra := h.recv.unknown(timelines); len(extra) > 0 {
		t.Errorf("delivered events that are in no timeline: %v", extra)
	}

	// Documents stored for sends a kill interrupted before the fax was
	// committed: reported, not judged (nothing refers to them; a sweep of
	// unreferenced documents would reclaim them).
	orphans, partial := h.orphanDocuments(faxes)

	h.carrier.mu.Lock()
	finds, found := h.carrier.finds, h.carrier.found
	h.carrier.mu.Unlock()
	t.Logf("crash harness: %d kills; %d faxes sent (%d carrier sends; %d resumed sends asked the carrier, %d found it had the fax), %d received; %d carrier callbacks (%d repeated); %d client requests repeated",
		len(gens)-1, outbound, h.carrier.totalSends(), finds, found, len(received), cbs.total, cbs.repeated, h.retries.Load())
	t.Logf("crash harness: %d events, %d deliveries, %d repeated deliveries (%d explained by a kill after the earlier one arrived, latest %v after its 200; rate %.2f%%); %d outbound documents without a fax, %d partly written files",
		events, h.recv.total(), dupes, explained, maxGap, 100*float64(dupes)/float64(max(events, 1)), orphans, partial)
	if t.Failed() {
		t.Logf("process logs are in %s", h.logs)
		for i, g := range gens {
			if !g.killed.IsZero() {
				t.Logf("generation %d: up %v, killed with %s", i, g.killed.Sub(g.ready).Round(time.Millisecond), g.killedAt)
			}
		}
		// Keep the logs: copy them where the test's temp dir won't remove them.
		if keep, err := os.MkdirTemp("", "faxgate-crash-logs-"); err == nil {
			exec.Command("cp", "-r", h.logs, keep).Run()
			t.Logf("process logs copied to %s", keep)
		}
	}
}

// inFlightSlack is how long before the receiver saw a request the kill may
// have come while the request was already on its way.
const inFlightSlack = 100 * time.Millisecond

// killBetween returns the first kill at or after a and before b.
func killBetween(gens []generation, a, b time.Time) (time.Time, bool) {
	for _, g := range gens {
		if !g.killed.IsZero() && !g.killed.Before(a) && g.killed.Before(b) {
			return g.killed, true
		}
	}
	return time.Time{}, false
}

// nearestKill returns the kill closest to t.
func nearestKill(gens []generation, t time.Time) time.Time {
	var best time.Time
	for _, g := range gens {
		if !g.killed.IsZero() && (best.IsZero() || g.killed.Sub(t).Abs() < best.Sub(t).Abs()) {
			best = g.killed
		}
	}
	return best
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

type harnessEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

func (h *harness) events(faxID string) []harnessEvent {
	code, b := h.retry("GET", "/v1/faxes/"+faxID+"/events", "", nil, nil)
	var l struct{ Data []harnessEvent }
	if code != 200 || json.Unmarshal(b, &l) != nil {
		h.t.Fatalf("events of %s: %d %s", faxID, code, b)
	}
	return l.Data
}

// orphanDocuments counts stored outbound documents no fax refers to, and
// temporary files of writes a kill cut short.
func (h *harness) orphanDocuments(faxes []harnessFax) (orphans, partial int) {
	ids := map[string]bool{}
	for _, f := range faxes {
		ids[f.ID] = true
	}
	filepath.WalkDir(filepath.Join(h.dir, "data", "documents"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := filepath.Base(p)
		switch {
		case strings.HasPrefix(name, ".tmp"):
			partial++
		case strings.Contains(p, string(filepath.Separator)+"outbound"+string(filepath.Separator)) && !ids[strings.TrimSuffix(name, filepath.Ext(name))]:
			orphans++
		}
		return nil
	})
	return orphans, partial
}

// crashReceiver is the user's webhook endpoint: it answers 200 at once and
// records when each event arrived and was answered.
type crashReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    map[string][]receipt
	n      int
}

type receipt struct {
	arrived, answered time.Time
	valid             bool
}

func newCrashReceiver(t *testing.T) *crashReceiver {
	r := &crashReceiver{t: t, got: map[string][]receipt{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		arrived := time.Now()
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return // the sender died mid-request: nothing was delivered
		}
		r.mu.Lock()
		valid := verifyStandardWebhook(r.secret, req.Header, body)
		r.mu.Unlock()
		// A receiver takes a moment, so that kills land while deliveries
		// are in flight.
		time.Sleep(time.Duration(arrived.UnixNano()%5) * time.Millisecond)
		w.WriteHeader(http.StatusOK)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		answered := time.Now()
		r.mu.Lock()
		id := req.Header.Get("webhook-id")
		r.got[id] = append(r.got[id], receipt{arrived: arrived, answered: answered, valid: valid})
		r.n++
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *crashReceiver) setSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }

func (r *crashReceiver) byEvent() map[string][]receipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]receipt{}
	for id, rs := range r.got {
		rs = append([]receipt(nil), rs...)
		sort.Slice(rs, func(i, j int) bool { return rs[i].arrived.Before(rs[j].arrived) })
		out[id] = rs
	}
	return out
}

func (r *crashReceiver) total() int { r.mu.Lock(); defer r.mu.Unlock(); return r.n }

// unknown lists delivered event ids that belong to no fax's timeline.
func (r *crashReceiver) unknown(timelines map[string][]harnessEvent) []string {
	known := map[string]bool{}
	for _, evs := range timelines {
		for _, e := range evs {
			known[e.ID] = true
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for id := range r.got {
		if !known[id] {
			out = append(out, id)
		}
	}
	return out
}

// crashCarrier is Phaxio: it takes sends (recording each complete one per
// faxgate id), answers Find from what it took, and posts each fax's
// transmitting_page and fax_completed callbacks in order, each retried
// until faxgate answers 2xx.
type crashCarrier struct {
	t   *testing.T
	h   *harness
	ctx context.Context
	srv *httptest.Server

	mu        sync.Mutex
	sends     map[string][]int // faxgate id → Phaxio ids given
	next      int
	finds     int // Find requests (a resumed send asks before sending again)
	found     int // … that found the fax already taken
	callbacks []*crashCallback
	wg        sync.WaitGroup

	inflightSends, inflightCallbacks atomic.Int32
}

type crashCallback struct {
	what  string
	ok    bool
	tries int
}

func newCrashCarrier(t *testing.T, ctx context.Context, h *harness) *crashCarrier {
	c := &crashCarrier{t: t, h: h, ctx: ctx, sends: map[string][]int{}, next: 424000000}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(func() { c.srv.Close() })
	return c
}

func (c *crashCarrier) serve(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != "crash-key" || p != "crash-secret" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/v2.1/faxes":
		c.inflightSends.Add(1)
		defer c.inflightSends.Add(-1)
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			// The upload was cut off (faxgate died): Phaxio has nothing.
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		faxID, cb, to := r.FormValue("tag["+phaxio.TagName+"]"), r.FormValue("callback_url"), r.FormValue("to")
		if faxID == "" || cb == "" {
			c.h.problem("a send without tag or callback_url: %v", r.MultipartForm.Value)
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		c.mu.Lock()
		c.next++
		id := c.next
		c.sends[faxID] = append(c.sends[faxID], id)
		c.mu.Unlock()
		// Phaxio took the fax; its answer takes a moment, so that kills
		// land between the carrier taking a fax and faxgate recording it.
		time.Sleep(c.h.randDuration(0, 60*time.Millisecond))
		fmt.Fprintf(w, `{"success":true,"message":"Fax queued for sending","data":{"id":%d}}`, id)
		c.wg.Add(1)
		go c.callBack(cb, faxID, id, to)
	case r.Method == "GET" && r.URL.Path == "/v2.1/faxes":
		faxID := r.URL.Query().Get("tag[" + phaxio.TagName + "]")
		c.mu.Lock()
		ids := c.sends[faxID]
		c.finds++
		if len(ids) > 0 {
			c.found++
		}
		c.mu.Unlock()
		data := []any{}
		for _, id := range ids {
			data = append(data, map[string]any{"id": id, "direction": "sent", "status": "inprogress", "tags": map[string]string{phaxio.TagName: faxID}})
		}
		json.NewEncoder(w).Encode(map[string]any{"success": true, "message": "Retrieved faxes successfully", "data": data})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// callBack posts a fax's callbacks in order, each until acknowledged.
func (c *crashCarrier) callBack(cbURL, faxID string, id int, to string) {
	defer c.wg.Done()
	page := fmt.Sprintf(`{"id":%d,"direction":"sent","num_pages":1,"status":"inprogress","to_number":%q}`, id, to)
	done := fmt.Sprintf(`{"id":%d,"direction":"sent","num_pages":1,"status":"success","to_number":%q,"completed_at":"2026-11-23T10:00:00.000Z"}`, id, to)
	for _, ev := range []struct {
		what   string
		fields map[string][]string
	}{
		{"transmitting_page", map[string][]string{"fax": {page}, "event_type": {"transmitting_page"}, "page": {"1"}}},
		{"fax_completed", map[string][]string{"fax": {done}, "event_type": {"fax_completed"}}},
	} {
		form := url.Values(ev.fields).Encode()
		cb := &crashCallback{what: ev.what + " of " + faxID}
		c.mu.Lock()
		c.callbacks = append(c.callbacks, cb)
		c.mu.Unlock()
		sig := phaxio.Sign(harnessToken, cbURL, ev.fields, nil)
		c.inflightCallbacks.Add(1)
		ok, tries := c.postCounting(cbURL, "application/x-www-form-urlencoded", []byte(form), sig)
		c.inflightCallbacks.Add(-1)
		c.mu.Lock()
		cb.ok, cb.tries = ok, tries
		c.mu.Unlock()
		if !ok {
			return
		}
	}
}

// post delivers one webhook to faxgate until it answers 2xx.
func (c *crashCarrier) post(u, ct string, body []byte, sig string) bool {
	ok, _ := c.postCounting(u, ct, body, sig)
	return ok
}

func (c *crashCarrier) postCounting(u, ct string, body []byte, sig string) (bool, int) {
	for tries := 1; ; tries++ {
		req, _ := http.NewRequestWithContext(c.ctx, "POST", u, bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set(phaxio.SignatureHeader, sig)
		resp, err := c.h.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode < 300 {
				return true, tries
			}
			if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
				c.h.problem("webhook %s refused with %d", u, resp.StatusCode)
				return false, tries
			}
		}
		if c.ctx.Err() != nil {
			return false, tries
		}
		time.Sleep(c.h.randDuration(10*time.Millisecond, 50*time.Millisecond))
	}
}

func (c *crashCarrier) wait() { c.wg.Wait() }

func (c *crashCarrier) sendsByFax() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for id, ids := range c.sends {
		out[id] = len(ids)
	}
	return out
}

func (c *crashCarrier) totalSends() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, ids := range c.sends {
		n += len(ids)
	}
	return n
}

type callbackReport struct {
	total, repeated int
	failed          []string
}

func (c *crashCarrier) callbackReport() callbackReport {
	c.mu.Lock()
	defer c.mu.Unlock()
	var r callbackReport
	for _, cb := range c.callbacks {
		r.total++
		if cb.tries > 1 {
			r.repeated++
		}
		if !cb.ok {
			r.failed = append(r.failed, cb.what)
		}
	}
	return r
}
