package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/config"
)

const adminKey = "test-admin-key-0123456789"

// gateway is a running Main for a test.
type gateway struct {
	t    *testing.T
	m    *Main
	url  string
	stop func()
}

type gatewayOption func(env map[string]string, m *Main)

func withEnv(k, v string) gatewayOption {
	return func(env map[string]string, _ *Main) { env[k] = v }
}

func withClock(c *testClock) gatewayOption {
	return func(_ map[string]string, m *Main) { m.Now = c.Now }
}

// startGateway runs a whole gateway on a loopback port with a fresh data
// directory, the simulator carrier and webhooks allowed to loopback.
func startGateway(t *testing.T, opts ...gatewayOption) *gateway {
	t.Helper()
	return startGatewayIn(t, t.TempDir(), opts...)
}

func startGatewayIn(t *testing.T, dir string, opts ...gatewayOption) *gateway {
	t.Helper()
	env := map[string]string{
		"FAXGATE_ADDR":                   "127.0.0.1:0",
		"FAXGATE_DATA_DIR":               dir,
		"FAXGATE_ADMIN_KEY":              adminKey,
		"FAXGATE_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
		// Tests poll hard; the rate limit has tests of its own.
		"FAXGATE_RATE_LIMIT": "0",
		// A busy number fails at once; redial has tests of its own
		// (redial_e2e_test.go), which set it.
		"FAXGATE_REDIAL_ATTEMPTS": "1",
	}
	m := &Main{Now: time.Now}
	for _, o := range opts {
		o(env, m)
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	m.Config = cfg
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		m.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		cancel()
		m.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	g := &gateway{t: t, m: m, url: m.URL()}
	var once sync.Once
	g.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(g.stop)
	return g
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now().UTC()} }

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// do sends a request with the admin key and decodes a JSON answer.
func (g *gateway) do(method, path string, body any, out any) int {
	g.t.Helper()
	return g.doKey(adminKey, method, path, body, out)
}

func (g *gateway) doKey(key, method, path string, body any, out any) int {
	g.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case *multipartBody:
		rd, ct = bytes.NewReader(b.buf.Bytes()), b.ct
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, _ := http.NewRequest(method, g.url+path, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if p, ok := out.(*[]byte); ok {
			*p = raw
		} else if err := json.Unmarshal(raw, out); err != nil {
			g.t.Fatalf("%s %s: %d %q is not JSON: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

type multipartBody struct {
	buf bytes.Buffer
	ct  string
}

func multipartSend(fields map[string]string, file []byte) *multipartBody {
	var mb multipartBody
	w := multipart.NewWriter(&mb.buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if file != nil {
		fw, _ := w.CreateFormFile("file", "doc")
		fw.Write(file)
	}
	w.Close()
	mb.ct = w.FormDataContentType()
	return &mb
}

type faxObj struct {
	ID            string  `json:"id"`
	Direction     string  `json:"direction"`
	Status        string  `json:"status"`
	To            string  `json:"to"`
	Provider      string  `json:"provider"`
	ProviderFaxID *string `json:"provider_fax_id"`
	Pages         int     `json:"pages"`
	Error         *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	CompletedAt    *string `json:"completed_at"`
	DocumentStatus string  `json:"document_status"`
}

func (g *gateway) send(to string, doc []byte) faxObj {
	g.t.Helper()
	var f faxObj
	if code := g.do("POST", "/v1/faxes", multipartSend(map[string]string{"to": to}, doc), &f); code != http.StatusAccepted {
		g.t.Fatalf("send: got %d, want 202", code)
	}
	return f
}

// waitFax polls until the fax is final.
func (g *gateway) waitFax(id string) faxObj {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var f faxObj
		g.do("GET", "/v1/faxes/"+id, nil, &f)
		if f.Status != "queued" && f.Status != "sending" {
			return f
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("fax %s still %s after 20s", id, f.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receiver is a user's webhook endpoint on loopback that verifies every
// Standard Webhooks signature with its own code.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	events []receivedEvent
	// answers are the status codes to answer in turn; then 200.
	answers []int
}

type receivedEvent struct {
	ID, Type string
	Data     map[string]any
	Valid    bool
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	r := &receiver{t: t, answers: answers}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var ev struct {
		ID   string         `json:"id"`
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	json.Unmarshal(body, &ev)
	r.mu.Lock()
	defer r.mu.Unlock()
	valid := verifyStandardWebhook(r.secret, req.Header, body) && req.Header.Get("webhook-id") == ev.ID
	r.events = append(r.events, receivedEvent{ID: ev.ID, Type: ev.Type, Data: ev.Data, Valid: valid})
	code := 200
	if len(r.answers) > 0 {
		code, r.answers = r.answers[0], r.answers[1:]
	}
	w.WriteHeader(code)
}

// verifyStandardWebhook checks the signature as the Standard Webhooks spec
// says, independently of faxgate's signing code.
func verifyStandardWebhook(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return false
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", h.Get("webhook-id"), h.Get("webhook-timestamp"), body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

func (r *receiver) got() []receivedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedEvent(nil), r.events...)
}

// waitFor waits until an event of type typ about fax id arrived.
func (r *receiver) waitFor(typ, faxID string) receivedEvent {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range r.got() {
			if e.Type == typ && e.Data["id"] == faxID {
				return e
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("no %s for %s within 20s; got %v", typ, faxID, r.got())
	return receivedEvent{}
}

func (g *gateway) endpoint(r *receiver, body map[string]any) string {
	g.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	body["url"] = r.srv.URL + "/hook"
	var ep struct {
		ID, Secret string
	}
	if code := g.do("POST", "/v1/webhook-endpoints", body, &ep); code != http.StatusCreated || ep.Secret == "" {
		g.t.Fatalf("create endpoint: got %d %+v", code, ep)
	}
	r.mu.Lock()
	r.secret = ep.Secret
	r.mu.Unlock()
	return ep.ID
}

var textDoc = []byte("Dear Dr. Smith,\nplease find the referral attached.\n")

// TestSetGC: faxgate sets its own GOGC only when the environment has none.
func TestSetGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	setGC(func(k string) string {
		if k == "GOGC" {
			return "50"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the percent became %d; want it left at 100", got)
	}
	setGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("without GOGC, the percent is %d; want %d", got, gcPercent)
	}
}
