package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/provider/phaxio"
	"github.com/faxgate/faxgate/internal/webhook"
)

// Secrets of the hostile gateway: every carrier is configured, so that each
// webhook route runs its real verification rather than "not configured".
const (
	hPhaxioKey    = "phaxio-key"
	hPhaxioSecret = "phaxio-api-secret-h0stile"
	hPhaxioToken  = "phaxio-webhook-token-h0stile"
	hSinchUser    = "sinch-hook"
	hSinchPass    = "sinch-pass-h0stile"
	hSinchHMAC    = "sinch-hmac-secret-h0stile"
	hGoFaxToken   = "gofax-api-token-h0stile"
	hGoFaxUser    = "gofax-hook"
	hGoFaxPass    = "gofax-pass-h0stile"
	hAsteriskKey  = "asterisk-inbound-secret-h0stile"

	// hookHost is where the test's webhook endpoint lives: a documentation
	// address (TEST-NET-1) that passes faxgate's outbound checks, which the
	// test's client routes to a loopback receiver. Loopback itself stays
	// forbidden, since FAXGATE_WEBHOOK_ALLOW_NETWORKS is not set.
	hookHost = "192.0.2.10"
)

// hostileFixture is a gateway with every carrier's secrets, a few faxes of
// each kind, an endpoint with delivered events, and API keys of each scope.
type hostileFixture struct {
	*gateway
	dir, spool, outside string
	public              string
	db                  *sql.DB

	pendingID  string // a Phaxio fax handed to the carrier, not final: forgeries would move it
	doneID     string // a Phaxio fax sent, through a signed callback
	simID      string // a simulator fax, sent
	inboundID  string // a received fax
	senderFax  string // a fax the fax:send-only key sent itself
	endpointID string
	deliveryID string

	keys map[string]apiKey // by role: reader, sender, hooks, keyadmin, revoked

	doneBody []byte // the signed Phaxio callback that completed doneID
	doneSig  string
	carrier  *quietCarrier
	gofaxAPI *atomic.Int32 // requests to the fake GoFax API (none may come)
}

type apiKey struct{ ID, Key string }

// quietCarrier is Phaxio's API accepting sends and never calling back, so
// that a fax it took stays in sending.
type quietCarrier struct {
	srv   *httptest.Server
	mu    sync.Mutex
	sends []string // faxgate ids (tag[faxgate_id]) of the sends it took
	next  int
}

func newQuietCarrier(t *testing.T) *quietCarrier {
	c := &quietCarrier{next: 700000}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != hPhaxioKey || p != hPhaxioSecret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == "POST" && r.URL.Path == "/v2.1/faxes":
			r.ParseMultipartForm(1 << 20)
			c.mu.Lock()
			c.sends = append(c.sends, r.FormValue("tag[faxgate_id]"))
			c.next++
			id := c.next
			c.mu.Unlock()
			fmt.Fprintf(w, `{"success":true,"message":"Fax queued for sending","data":{"id":%d}}`, id)
		case r.Method == "GET" && r.URL.Path == "/v2.1/faxes":
			fmt.Fprint(w, `{"success":true,"message":"none","data":[]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// hookClient delivers webhooks for hookHost to the receiver at addr, and
// everything else through faxgate's own outbound-safe client, so that
// content_url downloads keep their SSRF protection.
func hookClient(addr string) *http.Client {
	safe := webhook.NewClient(webhook.ClientOptions{Timeout: 5 * time.Second})
	direct := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	return &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: safe.CheckRedirect,
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Hostname() == hookHost {
				return direct.RoundTrip(r)
			}
			return safe.Transport.RoundTrip(r)
		}),
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newHostileFixture(t *testing.T) *hostileFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &hostileFixture{dir: dir, spool: filepath.Join(t.TempDir(), "spool"), keys: map[string]apiKey{}}
	tiff, err := os.ReadFile("../../internal/document/testdata/fax-g4-fine-2p.tif")
	if err != nil {
		t.Fatal(err)
	}
	outsideDir := t.TempDir()
	fx.outside = filepath.Join(outsideDir, "secret.tiff")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(fx.spool, "sub"), 0o700),
		os.WriteFile(filepath.Join(fx.spool, "in-1.tiff"), tiff, 0o600),
		os.WriteFile(fx.outside, tiff, 0o600),
		os.Symlink(fx.outside, filepath.Join(fx.spool, "escape.tiff")),
		os.Symlink(outsideDir, filepath.Join(fx.spool, "escape-dir")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	fx.carrier = newQuietCarrier(t)
	var gofaxHits atomic.Int32
	gofaxAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gofaxHits.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(gofaxAPI.Close)
	fx.gofaxAPI = &gofaxHits
	recv := newReceiver(t)
	addr := freeAddr(t)
	fx.public = "http://" + addr
	fx.gateway = startGatewayIn(t, dir,
		withEnv("FAXGATE_ADDR", addr), withEnv("FAXGATE_PUBLIC_URL", fx.public),
		withEnv("FAXGATE_WEBHOOK_ALLOW_NETWORKS", ""), withEnv("FAXGATE_MAX_DOCUMENT_BYTES", "65536"),
		// The table's hundreds of requests are not throttled here;
		// TestFloodLimits covers the limits.
		withEnv("FAXGATE_RATE_LIMIT", "0"),
		withEnv("PHAXIO_API_KEY", hPhaxioKey), withEnv("PHAXIO_API_SECRET", hPhaxioSecret),
		withEnv("PHAXIO_WEBHOOK_TOKEN", hPhaxioToken), withEnv("PHAXIO_BASE_URL", fx.carrier.srv.URL+"/v2.1"),
		withEnv("SINCH_INBOUND_BASIC_USER", hSinchUser), withEnv("SINCH_INBOUND_BASIC_PASS", hSinchPass),
		withEnv("SINCH_INBOUND_HMAC_SECRET", hSinchHMAC),
		withEnv("GOFAX_TOKEN", hGoFaxToken), withEnv("GOFAX_WEBHOOK_USER", hGoFaxUser), withEnv("GOFAX_WEBHOOK_PASS", hGoFaxPass),
		withEnv("GOFAX_BASE_URL", gofaxAPI.URL),
		withEnv("ASTERISK_SPOOL_DIR", fx.spool), withEnv("ASTERISK_INBOUND_SECRET", hAsteriskKey),
		func(_ map[string]string, m *Main) { m.WebhookClient = hookClient(recv.srv.Listener.Addr().String()) },
	)
	fx.db = openReadOnly(t, filepath.Join(dir, "faxgate.db"))
	g := fx.gateway

	var ep struct{ ID, Secret string }
	if code := g.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "http://" + hookHost + "/hook"}, &ep); code != http.StatusCreated {
		t.Fatalf("create endpoint: got %d", code)
	}
	recv.mu.Lock()
	recv.secret = ep.Secret
	recv.mu.Unlock()
	fx.endpointID = ep.ID

	for role, scopes := range map[string][]string{
		"reader": {"fax:read"}, "sender": {"fax:send"}, "hooks": {"webhooks:manage"}, "keyadmin": {"keys:manage"},
		"revoked": {"fax:send", "fax:read", "webhooks:manage", "keys:manage"},
	} {
		var k apiKey
		if code := g.do("POST", "/v1/api-keys", map[string]any{"name": role, "scopes": scopes}, &k); code != http.StatusCreated {
			t.Fatalf("create key %s: got %d", role, code)
		}
		fx.keys[role] = k
	}
	if code := g.do("DELETE", "/v1/api-keys/"+fx.keys["revoked"].ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: got %d", code)
	}

	sim := g.send("+15557650011", textDoc)
	fx.simID = g.waitFax(sim.ID).ID
	var in faxObj
	if code := g.do("POST", "/v1/simulator/inbound", map[string]any{"from": "+15557650002", "to": "+15557650003", "pages": 1}, &in); code != http.StatusCreated {
		t.Fatalf("simulator inbound: got %d", code)
	}
	fx.inboundID = in.ID
	var own faxObj
	mb := multipartSend(map[string]string{"to": "+15557650004"}, textDoc)
	req, _ := http.NewRequest("POST", g.url+"/v1/faxes", bytes.NewReader(mb.buf.Bytes()))
	req.Header.Set("Content-Type", mb.ct)
	req.Header.Set("Authorization", "Bearer "+fx.keys["sender"].Key)
	req.Header.Set("Idempotency-Key", "order-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&own)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("send with the sender key: got %d", resp.StatusCode)
	}
	fx.senderFax = g.waitFax(own.ID).ID

	sendPhaxio := func(to string) string {
		var f faxObj
		if code := g.do("POST", "/v1/faxes", multipartSend(map[string]string{"to": to, "provider": "phaxio"}, textDoc), &f); code != http.StatusAccepted {
			t.Fatalf("phaxio send: got %d", code)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			var got faxObj
			g.do("GET", "/v1/faxes/"+f.ID, nil, &got)
			if got.Status == "sending" && got.ProviderFaxID != nil {
				return f.ID
			}
			if time.Now().After(deadline) {
				t.Fatalf("phaxio fax not handed over: %+v", got)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	fx.pendingID = sendPhaxio("+15557650005")
	fx.doneID = sendPhaxio("+15557650006")
	var done faxObj
	g.do("GET", "/v1/faxes/"+fx.doneID, nil, &done)
	fx.doneBody, fx.doneSig = fx.phaxioCallback(fx.doneID, *done.ProviderFaxID, "success", hPhaxioToken)
	if code, resp := g.post("/phaxio-callback?job_id="+fx.doneID, "application/x-www-form-urlencoded", fx.doneBody,
		map[string]string{"X-Phaxio-Signature": fx.doneSig}); code != 200 {
		t.Fatalf("legitimate callback: got %d %s", code, resp)
	}
	if f := g.waitFax(fx.doneID); f.Status != "sent" {
		t.Fatalf("legitimate callback: fax %s, want sent", f.Status)
	}

	// Everything settles: deliveries done, no work left that could change
	// the state while the table runs.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var l struct{ Data []struct{ ID, Status string } }
		g.do("GET", "/v1/deliveries?limit=500", nil, &l)
		pending := 0
		for _, d := range l.Data {
			if d.Status == "pending" {
				pending++
			}
		}
		if pending == 0 && len(l.Data) >= 3 {
			fx.deliveryID = l.Data[0].ID
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries did not settle: %+v", l.Data)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, e := range recv.got() {
		if !e.Valid {
			t.Errorf("fixture delivery %s did not verify", e.ID)
		}
	}
	return fx
}

// phaxioCallback is a fax_completed callback for faxID as Phaxio posts it
// (urlencoded), with its HMAC-SHA1 signature keyed with token.
func (fx *hostileFixture) phaxioCallback(faxID, phaxioID, status, token string) ([]byte, string) {
	faxJSON := fmt.Sprintf(`{"id":%s,"direction":"sent","num_pages":1,"status":%q,"completed_at":"2026-11-23T10:00:00.000Z"}`, phaxioID, status)
	body := "fax=" + url.QueryEscape(faxJSON) + "&event_type=fax_completed"
	sig := phaxio.Sign(token, fx.public+"/phaxio-callback?job_id="+faxID,
		map[string][]string{"fax": {faxJSON}, "event_type": {"fax_completed"}}, nil)
	return []byte(body), sig
}

// phaxioInboundSigned is a received-fax webhook with a PDF part, signed
// with token for url.
func phaxioInboundSigned(token, url string, id int, to string, pdf []byte) (ct string, body []byte, sig string) {
	faxJSON := fmt.Sprintf(`{"id":%d,"direction":"received","num_pages":1,"status":"success","from_number":"+15557650010","to_number":%q}`, id, to)
	return phaxioInboundMarked(token, url, faxJSON, pdf)
}

func hmacSHA1Hex(key string, msg []byte) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// openReadOnly opens the gateway's SQLite file for reading beside it.
func openReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// stateSnapshot is everything a request could change apart from the audit
// trail (refused webhooks are audited on purpose): each other table's rows,
// and the files under the data and spool directories.
type stateSnapshot map[string]string

// snapshotState reads every table but audit as a digest and row count, and
// lists files with their sizes. Columns that record use rather than state
// (last_used_at) are left out.
func snapshotState(t *testing.T, db *sql.DB, dirs ...string) stateSnapshot {
	t.Helper()
	s := stateSnapshot{}
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'audit' ORDER BY name`)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	for _, name := range names {
		rows, err := db.Query(`SELECT * FROM "` + name + `"`)
		if err != nil {
			t.Fatalf("snapshot %s: %v", name, err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("snapshot %s: %v", name, err)
			}
			var b strings.Builder
			for i, v := range vals {
				if cols[i] == "last_used_at" {
					continue
				}
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%s=%v\x00", cols[i], v)
			}
			lines = append(lines, b.String())
		}
		rows.Close()
		sort.Strings(lines)
		sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
		s["table "+name] = fmt.Sprintf("%d rows %x", len(lines), sum[:6])
	}
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			base := filepath.Base(p)
			if strings.HasPrefix(base, "faxgate.db") || base == "lock" || strings.HasSuffix(base, ".lock") {
				return nil // the database itself is compared by its tables
			}
			info, err := d.Info()
			if err == nil {
				s["file "+p] = fmt.Sprint(info.Size())
			}
			return nil
		})
	}
	return s
}

// diff lists what changed between two snapshots.
func (a stateSnapshot) diff(b stateSnapshot) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			out = append(out, k+" removed")
		} else if w != v {
			out = append(out, fmt.Sprintf("%s: %s → %s", k, v, w))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k+" added ("+v+")")
		}
	}
	sort.Strings(out)
	return out
}

// hostileReq is one hostile request and the answer it must get.
type hostileReq struct {
	name   string
	method string
	path   string
	ct     string
	body   []byte
	hdr    map[string]string
	key    string // sent as Authorization: Bearer
	status int
	code   string // the JSON error code
}

func (fx *hostileFixture) do(t *testing.T, h hostileReq) (int, errorBody, string) {
	t.Helper()
	req, err := http.NewRequest(h.method, fx.url+h.path, bytes.NewReader(h.body))
	if err != nil {
		t.Fatalf("build request: %v", err)
	}
	if h.ct != "" {
		req.Header.Set("Content-Type", h.ct)
	}
	if h.key != "" {
		req.Header.Set("Authorization", "Bearer "+h.key)
	}
	// Headers are set first; a name starting with "+" then adds a
	// further value of the same header.
	for k, v := range h.hdr {
		if !strings.HasPrefix(k, "+") {
			req.Header.Set(k, v)
		}
	}
	for k, v := range h.hdr {
		if name, ok := strings.CutPrefix(k, "+"); ok {
			req.Header.Add(name, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", h.method, h.path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e errorBody
	json.Unmarshal(raw, &e)
	return resp.StatusCode, e, string(raw)
}

// TestHostileRequests sends a table of hostile requests to every route,
// API and carrier webhooks alike. Each must get the right 4xx in the JSON
// error shape and change nothing: no fax, event, carrier event, endpoint,
// delivery, attempt, key, setting, inbound job, stored document or spool
// file appears or changes. Refused webhooks are audited, so the audit
// table alone may grow.
func TestHostileRequests(t *testing.T) {
	fx := newHostileFixture(t)
	cases := fx.hostileCases(t)
	if len(cases) < 100 {
		t.Fatalf("only %d hostile cases, want at least 100", len(cases))
	}
	t.Logf("%d hostile requests", len(cases))
	dirs := []string{fx.dir, fx.spool, filepath.Dir(fx.outside)}
	before := snapshotState(t, fx.db, dirs...)
	first := before
	for _, h := range cases {
		t.Run(h.name, func(t *testing.T) {
			code, e, raw := fx.do(t, h)
			if code != h.status || e.Error.Code != h.code {
				t.Errorf("got %d %q (%s), want %d %q", code, e.Error.Code, truncateStr(raw, 300), h.status, h.code)
			}
			if e.Error.Message == "" || e.Error.RequestID == "" {
				t.Errorf("not the JSON error shape: %s", truncateStr(raw, 300))
			}
			after := snapshotState(t, fx.db, dirs...)
			if d := before.diff(after); len(d) > 0 {
				t.Errorf("the request changed state:\n%s", strings.Join(d, "\n"))
			}
			before = after
		})
	}
	if d := first.diff(snapshotState(t, fx.db, dirs...)); len(d) > 0 {
		t.Errorf("the table changed state:\n%s", strings.Join(d, "\n"))
	}
	if n := fx.gofaxAPI.Load(); n != 0 {
		t.Errorf("forged GoFax webhooks made faxgate call GoFax's API %d times", n)
	}
	fx.carrier.mu.Lock()
	if n := len(fx.carrier.sends); n != 2 {
		t.Errorf("the carrier got %d sends, want the fixture's 2", n)
	}
	fx.carrier.mu.Unlock()
}

func truncateStr(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// openAPIRoute is an authenticated API route, read from /openapi.json so
// that the table follows the route table.
type openAPIRoute struct{ method, path, scope string }

func (fx *hostileFixture) apiRoutes(t *testing.T) []openAPIRoute {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]struct {
			Description string `json:"description"`
			Security    []any  `json:"security"`
		} `json:"paths"`
	}
	if code := fx.doKey("", "GET", "/openapi.json", nil, &doc); code != 200 {
		t.Fatalf("openapi.json: got %d", code)
	}
	var out []openAPIRoute
	for p, ops := range doc.Paths {
		for m, op := range ops {
			if len(op.Security) == 0 {
				continue
			}
			scope, ok := strings.CutPrefix(op.Description, "Requires the ")
			scope, ok2 := strings.CutSuffix(scope, " scope.")
			if !ok || !ok2 {
				t.Fatalf("%s %s: no scope in %q", m, p, op.Description)
			}
			out = append(out, openAPIRoute{strings.ToUpper(m), p, scope})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	if len(out) < 20 {
		t.Fatalf("openapi.json lists %d authenticated routes, want the whole API", len(out))
	}
	return out
}

// validRequest is a request to rt that the admin key would get a 2xx for,
// so that a credential check that let it through would change state.
func (fx *hostileFixture) validRequest(rt openAPIRoute) (path, ct string, body []byte) {
	path = rt.path
	switch {
	case strings.HasPrefix(path, "/v1/faxes/{id}"):
		path = strings.Replace(path, "{id}", fx.pendingID, 1)
	case strings.HasPrefix(path, "/v1/webhook-endpoints/{id}"):
		path = strings.Replace(path, "{id}", fx.endpointID, 1)
	case strings.HasPrefix(path, "/v1/deliveries/{id}"):
		path = strings.Replace(path, "{id}", fx.deliveryID, 1)
	case strings.HasPrefix(path, "/v1/api-keys/{id}"):
		path = strings.Replace(path, "{id}", fx.keys["reader"].ID, 1)
	}
	js := func(s string) (string, string, []byte) { return path, "application/json", []byte(s) }
	switch rt.method + " " + rt.path {
	case "POST /v1/faxes":
		mb := multipartSend(map[string]string{"to": "+15557650099"}, textDoc)
		return path, mb.ct, mb.buf.Bytes()
	case "POST /v1/webhook-endpoints":
		return js(`{"url":"http://` + hookHost + `/other"}`)
	case "PATCH /v1/webhook-endpoints/{id}":
		return js(`{"description":"changed"}`)
	case "POST /v1/webhook-endpoints/{id}/retry-failed":
		return js(`{"since":"2020-01-01T00:00:00Z"}`)
	case "POST /v1/simulator/inbound":
		return js(`{"from":"+15557650097","to":"+15557650098","pages":1}`)
	case "POST /v1/api-keys":
		return js(`{"name":"intruder","scopes":["keys:manage"]}`)
	}
	return path, "", nil
}

func (fx *hostileFixture) hostileCases(t *testing.T) []hostileReq {
	t.Helper()
	admin := adminKey
	keys := fx.keys
	var cs []hostileReq
	add := func(h hostileReq) { cs = append(cs, h) }

	// Every authenticated route: no key, a revoked key, a key without the
	// route's scope. Each request would succeed with the admin key.
	for _, rt := range fx.apiRoutes(t) {
		path, ct, body := fx.validRequest(rt)
		lacking := keys["reader"].Key
		if rt.scope == "fax:read" {
			lacking = keys["sender"].Key
		}
		name := rt.method + " " + rt.path
		add(hostileReq{name: name + ": no key", method: rt.method, path: path, ct: ct, body: body, status: 401, code: "unauthorized"})
		add(hostileReq{name: name + ": revoked key", method: rt.method, path: path, ct: ct, body: body, key: keys["revoked"].Key, status: 401, code: "unauthorized"})
		add(hostileReq{name: name + ": key without " + rt.scope, method: rt.method, path: path, ct: ct, body: body, key: lacking, status: 403, code: "forbidden"})
	}

	// Isolation is by scope: faxgate is single-tenant, and every key with
	// fax:read sees every fax, whoever sent it. A key without fax:read
	// cannot read any fax, its document or its timeline, not even a fax it
	// sent itself.
	for _, role := range []string{"sender", "hooks", "keyadmin"} {
		for _, id := range []string{fx.senderFax, fx.inboundID, fx.doneID} {
			for _, sub := range []string{"", "/document", "/events"} {
				add(hostileReq{name: fmt.Sprintf("%s key reads %s%s", role, id, sub), method: "GET", path: "/v1/faxes/" + id + sub,
					key: keys[role].Key, status: 403, code: "forbidden"})
			}
		}
	}

	// Credentials that are wrong in other ways.
	get := func(name string, hdr map[string]string) {
		add(hostileReq{name: name, method: "GET", path: "/v1/faxes", hdr: hdr, status: 401, code: "unauthorized"})
	}
	get("auth: unknown key", map[string]string{"Authorization": "Bearer fgk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
	get("auth: truncated admin key", map[string]string{"Authorization": "Bearer " + admin[:len(admin)-1]})
	get("auth: admin key with a suffix", map[string]string{"Authorization": "Bearer " + admin + "x"})
	get("auth: truncated stored key", map[string]string{"Authorization": "Bearer " + keys["reader"].Key[:20]})
	get("auth: admin key as Basic", map[string]string{"Authorization": basic("admin", admin)})
	get("auth: Bearer without key", map[string]string{"Authorization": "Bearer"})
	get("auth: 10 KB key", map[string]string{"Authorization": "Bearer " + strings.Repeat("k", 10<<10)})
	get("auth: carrier secret as key", map[string]string{"Authorization": "Bearer " + hPhaxioSecret})
	get("auth: key hash as key", map[string]string{"Authorization": "Bearer " + hexSHA256(keys["reader"].Key)})
	get("auth: revoked key in X-API-Key", map[string]string{"X-API-Key": keys["revoked"].Key})
	get("auth: wrong X-API-Key beside a good Bearer", map[string]string{"X-API-Key": "fgk_wrong", "Authorization": "Bearer " + admin})

	// Sends that are malformed, too large or not E.164.
	send := func(name string, ct string, body []byte, status int, code string) {
		add(hostileReq{name: "send: " + name, method: "POST", path: "/v1/faxes", ct: ct, body: body, key: admin, status: status, code: code})
	}
	mp := func(fields map[string]string, doc []byte) (string, []byte) {
		mb := multipartSend(fields, doc)
		return mb.ct, mb.buf.Bytes()
	}
	for _, n := range []string{"5551234567", "+0123456789", "+1555123456789012", "+1555", "++15551234567", "+1-555-CALL-NOW",
		"tel:+15551234567", "+15551234567;ext=1", "+１５５５１２３４５６７", "+15551234567\x00", " ", "+15551234567,+15557654321"} {
		ct, body := mp(map[string]string{"to": n}, textDoc)
		send(fmt.Sprintf("to %q", n), ct, body, 400, "invalid")
	}
	ct, body := mp(map[string]string{"to": "+15551234567", "from": "anonymous"}, textDoc)
	send("from not E.164", ct, body, 400, "invalid")
	send("multipart without boundary", "multipart/form-data", body, 400, "invalid")
	send("truncated multipart", ct, body[:len(body)/2], 400, "invalid")
	send("multipart with a foreign boundary", "multipart/form-data; boundary=nope", body, 400, "invalid")
	send("nested multipart", "multipart/form-data; boundary=outer", []byte("--outer\r\nContent-Disposition: form-data; name=\"to\"\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n--inner\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n+15551234567\r\n--inner--\r\n\r\n--outer\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--outer--\r\n"), 400, "invalid")
	pct, pbody := manyParts(1000)
	send("1000 parts", pct, pbody, 400, "invalid")
	ct, body = mp(map[string]string{"to": "+15551234567"}, bytes.Repeat([]byte("a"), 70000))
	send("document over the limit", ct, body, 413, "too_large")
	ct, body = mp(map[string]string{"to": "+15551234567", "header_text": strings.Repeat("h", 4000)}, textDoc)
	send("field over 2 KB", ct, body, 400, "invalid")
	// Several file parts are one fax's documents (issue 19): together they
	// must fit the limit, and each must be a type faxgate can send.
	for _, tc := range []struct {
		name   string
		files  [][]byte
		status int
		code   string
	}{
		{"two documents over the limit together", [][]byte{bytes.Repeat([]byte("a"), 40000), bytes.Repeat([]byte("a"), 40000)}, 413, "too_large"},
		{"two documents, the second unsupported", [][]byte{textDoc, []byte("\x00\x01\x02 not a document")}, 415, "unsupported_type"},
	} {
		var twoFiles bytes.Buffer
		w := multipart.NewWriter(&twoFiles)
		w.WriteField("to", "+15551234567")
		for _, f := range tc.files {
			fw, _ := w.CreateFormFile("file", "a.txt")
			fw.Write(f)
		}
		w.Close()
		send(tc.name, w.FormDataContentType(), twoFiles.Bytes(), tc.status, tc.code)
	}
	send("JSON 100000 deep", "application/json", []byte(`{"to":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}`), 400, "invalid")
	send("JSON unknown field", "application/json", []byte(`{"to":"+15551234567","content_base64":"aGVsbG8=","owner_key_id":"x"}`), 400, "invalid")
	send("JSON body over the limit", "application/json", []byte(`{"to":"`+strings.Repeat("1", 200000)+`"}`), 413, "too_large")
	send("JSON document over the limit", "application/json", []byte(`{"to":"+15551234567","content_base64":"`+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("a"), 70000))+`"}`), 413, "too_large")
	send("JSON array", "application/json", []byte(`[{"to":"+15551234567"}]`), 400, "invalid")
	send("image/png body", "image/png", []byte("\x89PNG\r\n\x1a\n"), 415, "unsupported_type")
	send("content_url file://", "application/json", []byte(`{"to":"+15551234567","content_url":"file:///etc/passwd"}`), 400, "invalid")
	send("content_url gopher://", "application/json", []byte(`{"to":"+15551234567","content_url":"gopher://127.0.0.1:70/"}`), 400, "invalid")
	for _, u := range []string{"http://127.0.0.1:1/doc.pdf", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/doc.pdf",
		"http://localhost:1/doc.pdf", "http://10.0.0.1/doc.pdf", "http://[::ffff:127.0.0.1]:1/doc.pdf", fx.url + "/v1/faxes"} {
		send("content_url "+u, "application/json", []byte(`{"to":"+15551234567","content_url":"`+u+`"}`), 422, "unprocessable")
	}
	for _, u := range []string{"http://127.0.0.1/cb", "http://localhost/cb", "http://[::1]/cb", "http://169.254.169.254/cb", "http://192.168.0.1/cb", "http://2130706433/cb"} {
		ct, body := mp(map[string]string{"to": "+15551234567", "callback_url": u}, textDoc)
		send("callback_url "+u, ct, body, 400, "invalid")
	}
	ct, body = mp(map[string]string{"to": "+15557650033"}, []byte("another document"))
	add(hostileReq{name: "send: Idempotency-Key reused for another fax", method: "POST", path: "/v1/faxes", ct: ct, body: body, key: keys["sender"].Key,
		hdr: map[string]string{"Idempotency-Key": "order-1"}, status: 409, code: "conflict"})
	ct, body = mp(map[string]string{"to": "+15551234567"}, textDoc)
	add(hostileReq{name: "send: Idempotency-Key over 255", method: "POST", path: "/v1/faxes", ct: ct, body: body, key: admin,
		hdr: map[string]string{"Idempotency-Key": strings.Repeat("i", 256)}, status: 400, code: "invalid"})

	// Webhook endpoints aimed at faxgate's own host, its networks or cloud
	// metadata (FAXGATE_WEBHOOK_ALLOW_NETWORKS is not set).
	for _, u := range []string{
		"http://127.0.0.1/h", "http://127.0.0.1:8080/h", "http://localhost/h", "http://LOCALHOST/h", "http://localhost./h",
		"http://[::1]/h", "http://[::ffff:127.0.0.1]/h", "http://[::ffff:7f00:1]/h", "http://[0:0:0:0:0:ffff:127.0.0.1]/h",
		"http://2130706433/h", "http://0x7f000001/h", "http://0x7f.0.0.1/h", "http://127.1/h", "http://017700000001/h", "http://0177.0.0.1/h",
		"http://0.0.0.0/h", "http://[::]/h", "http://10.0.0.1/h", "http://172.16.5.4/h", "http://192.168.1.1/h", "http://100.64.0.1/h",
		"http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/h", "http://[fe80::1]/h", "http://[fe80::1%25eth0]/h",
		"http://[fd00::1]/h", "http://[64:ff9b::a9fe:a9fe]/h", "http://[2002:7f00:1::1]/h", "http://224.0.0.1/h", "http://255.255.255.255/h",
		"https://user:pass@127.0.0.1/h", "http://" + hookHost + "@127.0.0.1/h",
		"file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)", "http:///h", "//example.com/h", "http://" + hookHost + ":99999/h",
		"http://" + strings.Repeat("a", 2100) + ".com/",
	} {
		add(hostileReq{name: "endpoint url " + truncateStr(u, 60), method: "POST", path: "/v1/webhook-endpoints", ct: "application/json",
			body: mustJSON(map[string]any{"url": u}), key: admin, status: 400, code: "invalid"})
	}
	add(hostileReq{name: "endpoint: PATCH url to loopback", method: "PATCH", path: "/v1/webhook-endpoints/" + fx.endpointID, ct: "application/json",
		body: []byte(`{"url":"http://127.0.0.1/h"}`), key: admin, status: 400, code: "invalid"})
	add(hostileReq{name: "endpoint: PATCH url to metadata", method: "PATCH", path: "/v1/webhook-endpoints/" + fx.endpointID, ct: "application/json",
		body: []byte(`{"url":"http://169.254.169.254/"}`), key: admin, status: 400, code: "invalid"})
	endpoint := func(name, body string, status int, code string) {
		add(hostileReq{name: "endpoint: " + name, method: "POST", path: "/v1/webhook-endpoints", ct: "application/json", body: []byte(body), key: admin, status: status, code: code})
	}
	hook := `"url":"http://` + hookHost + `/x"`
	endpoint("numbers not E.164", `{`+hook+`,"numbers":["5551234567"]}`, 400, "invalid")
	endpoint("1001 numbers", `{`+hook+`,"numbers":[`+strings.TrimSuffix(strings.Repeat(`"+15551234567",`, 1001), ",")+`]}`, 400, "invalid")
	endpoint("unknown event", `{`+hook+`,"events":["fax.stolen"]}`, 400, "invalid")
	endpoint("chooses its own secret", `{`+hook+`,"secret":"whsec_bWluZQ=="}`, 400, "invalid")
	endpoint("unknown field", `{`+hook+`,"owner_key_id":"key_x"}`, 400, "invalid")
	endpoint("description 501 bytes", `{`+hook+`,"description":"`+strings.Repeat("d", 501)+`"}`, 400, "invalid")
	endpoint("deeply nested", `{"url":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`, 400, "invalid")
	endpoint("body over the limit", `{`+hook+`,"description":"`+strings.Repeat("d", 300<<10)+`"}`, 413, "too_large")
	add(hostileReq{name: "endpoint: text/plain", method: "POST", path: "/v1/webhook-endpoints", ct: "text/plain", body: []byte(`{` + hook + `}`), key: admin, status: 415, code: "unsupported_type"})
	add(hostileReq{name: "rotate: chooses the secret", method: "POST", path: "/v1/webhook-endpoints/" + fx.endpointID + "/rotate-secret", ct: "application/json",
		body: []byte(`{"overlap":"1h","secret":"whsec_bWluZQ=="}`), key: admin, status: 400, code: "invalid"})
	add(hostileReq{name: "api-keys: unknown scope", method: "POST", path: "/v1/api-keys", ct: "application/json", body: []byte(`{"name":"x","scopes":["admin"]}`), key: admin, status: 400, code: "invalid"})
	add(hostileReq{name: "api-keys: admin field", method: "POST", path: "/v1/api-keys", ct: "application/json", body: []byte(`{"name":"x","scopes":["fax:read"],"admin":true}`), key: admin, status: 400, code: "invalid"})
	add(hostileReq{name: "api-keys: body over the limit", method: "POST", path: "/v1/api-keys", ct: "application/json", body: []byte(`{"name":"` + strings.Repeat("n", 20<<10) + `"}`), key: admin, status: 413, code: "too_large"})
	add(hostileReq{name: "simulator: unknown field", method: "POST", path: "/v1/simulator/inbound", ct: "application/json", body: []byte(`{"from":"+15551112222","to":"+15553334444","document":"x"}`), key: admin, status: 400, code: "invalid"})
	add(hostileReq{name: "simulator: to not E.164", method: "POST", path: "/v1/simulator/inbound", ct: "application/json", body: []byte(`{"from":"+15551112222","to":"911"}`), key: admin, status: 400, code: "invalid"})
	add(hostileReq{name: "get: traversal id", method: "GET", path: "/v1/faxes/fax_..%2F..%2Fetc%2Fpasswd", key: admin, status: 404, code: "not_found"})
	add(hostileReq{name: "document: traversal id", method: "GET", path: "/v1/faxes/..%2F..%2Ffaxgate.db/document", key: admin, status: 404, code: "not_found"})
	add(hostileReq{name: "delete document: traversal id", method: "DELETE", path: "/v1/faxes/..%2F..%2Ffaxgate.db/document", key: admin, status: 404, code: "not_found"})
	add(hostileReq{name: "delete: traversal id", method: "DELETE", path: "/v1/faxes/fax_..%2F..%2Fetc%2Fpasswd", key: admin, status: 404, code: "not_found"})

	// Methods that are not allowed.
	for _, m := range []struct{ method, path string }{
		{"PUT", "/v1/faxes"}, {"PUT", "/v1/faxes/" + fx.doneID}, {"PATCH", "/v1/faxes/" + fx.doneID}, {"PUT", "/v1/api-keys/" + keys["reader"].ID},
		{"POST", "/v1/deliveries"}, {"DELETE", "/v1/deliveries/" + fx.deliveryID}, {"POST", "/healthz"}, {"DELETE", "/v1/callback-secret"},
	} {
		add(hostileReq{name: "method " + m.method + " " + m.path, method: m.method, path: m.path, key: admin, status: 405, code: "method_not_allowed"})
	}

	cs = append(cs, fx.carrierCases(t)...)
	return cs
}

func manyParts(n int) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for i := range n {
		w.WriteField(fmt.Sprintf("f%d", i), "x")
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// carrierCases are forged, replayed and malformed carrier webhooks.
func (fx *hostileFixture) carrierCases(t *testing.T) []hostileReq {
	t.Helper()
	var cs []hostileReq
	hook := func(name, path, ct string, body []byte, hdr map[string]string, status int, code string) {
		cs = append(cs, hostileReq{name: name, method: "POST", path: path, ct: ct, body: body, hdr: hdr, status: status, code: code})
	}
	unauthorized := func(name, path, ct string, body []byte, hdr map[string]string) {
		hook(name, path, ct, body, hdr, 401, "unauthorized")
	}
	form := "application/x-www-form-urlencoded"
	pdf := samplePDF(t, 1)
	var pending faxObj
	fx.gateway.do("GET", "/v1/faxes/"+fx.pendingID, nil, &pending)
	pendingPhaxioID := *pending.ProviderFaxID

	// Phaxio status callbacks, aimed at the fax still in sending: a forged
	// failure would fail it.
	cb := "/phaxio-callback?job_id=" + fx.pendingID
	failBody, failSig := fx.phaxioCallback(fx.pendingID, pendingPhaxioID, "failure", hPhaxioToken)
	sig := func(s string) map[string]string { return map[string]string{"X-Phaxio-Signature": s} }
	unauthorized("phaxio callback: no signature", cb, form, failBody, nil)
	unauthorized("phaxio callback: empty signature", cb, form, failBody, sig(""))
	_, wrongTok := fx.phaxioCallback(fx.pendingID, pendingPhaxioID, "failure", "not-the-token")
	unauthorized("phaxio callback: wrong token", cb, form, failBody, sig(wrongTok))
	unauthorized("phaxio callback: truncated SHA-1", cb, form, failBody, sig(failSig[:39]))
	unauthorized("phaxio callback: SHA-1 cut to 38 digits", cb, form, failBody, sig(failSig[:38]))
	unauthorized("phaxio callback: SHA-1 with a prefix", cb, form, failBody, sig("sha1="+failSig))
	unauthorized("phaxio callback: SHA-1 of other bytes", cb, form, failBody, sig(hmacSHA1Hex(hPhaxioToken, failBody)))
	// The completed fax's genuine callback, replayed with the other job id.
	unauthorized("phaxio callback: replayed with another job_id", cb, form, fx.doneBody, sig(fx.doneSig))
	unauthorized("phaxio callback: replayed with a second job_id", "/phaxio-callback?job_id="+fx.doneID+"&job_id="+fx.pendingID, form, fx.doneBody, sig(fx.doneSig))
	signedElsewhere := phaxio.Sign(hPhaxioToken, "http://attacker.example/phaxio-callback?job_id="+fx.pendingID,
		map[string][]string{"fax": {fmt.Sprintf(`{"id":%s,"direction":"sent","num_pages":1,"status":"failure","completed_at":"2026-11-23T10:00:00.000Z"}`, pendingPhaxioID)}, "event_type": {"fax_completed"}}, nil)
	unauthorized("phaxio callback: signed for another host", cb, form, failBody, sig(signedElsewhere))
	unauthorized("phaxio callback: token's signature plus a field", cb, form, append(append([]byte{}, failBody...), "&page=1"...), sig(failSig))
	unauthorized("phaxio callback: SHA-256 keyed with Sinch's secret", cb, form, failBody, sig(hmacHex(hSinchHMAC, failBody)))
	unauthorized("phaxio callback: SHA-256 keyed with the webhook token", cb, form, failBody, sig(hmacHex(hPhaxioToken, failBody)))
	unauthorized("phaxio callback: SHA-1 keyed with the API secret", cb, form, failBody, sig(phaxio.Sign(hPhaxioSecret, fx.public+cb, nil, nil)))
	unauthorized("phaxio callback: SHA-256 of another body", cb, form, failBody, sig(hmacHex(hPhaxioSecret, fx.doneBody)))
	unauthorized("phaxio callback: truncated SHA-256", cb, form, failBody, sig(hmacHex(hPhaxioSecret, failBody)[:63]))
	unauthorized("phaxio callback: zeros", cb, form, failBody, sig(strings.Repeat("0", 64)))
	unauthorized("phaxio callback: not hex", cb, form, failBody, sig(strings.Repeat("z", 40)))
	unauthorized("phaxio callback: Sinch signature header", cb, form, failBody, map[string]string{"X-Sinch-Signature": hmacHex(hSinchHMAC, failBody)})
	unauthorized("phaxio callback: Basic with Phaxio's API credentials", cb, form, failBody, map[string]string{"Authorization": basic(hPhaxioKey, hPhaxioSecret)})
	unauthorized("phaxio callback: admin key", cb, form, failBody, map[string]string{"Authorization": "Bearer " + adminKey})
	jsonFail := []byte(fmt.Sprintf(`{"fax":{"id":%s,"status":"failure"},"event_type":"fax_completed"}`, pendingPhaxioID))
	unauthorized("phaxio callback: JSON with a URL-only SHA-1", cb, "application/json", jsonFail, sig(phaxio.Sign(hPhaxioToken, fx.public+cb, nil, nil)))
	unauthorized("phaxio callback: two signatures, one good", cb, form, failBody, map[string]string{"X-Phaxio-Signature": "00", "+X-Phaxio-Signature": failSig})

	// Phaxio received faxes.
	in := "/phaxio-inbound"
	ct, inBody, inSig := phaxioInboundSigned(hPhaxioToken, fx.public+in, 800001, "+15557650020", pdf)
	unauthorized("phaxio inbound: no signature", in, ct, inBody, nil)
	_, _, badSig := phaxioInboundSigned("not-the-token", fx.public+in, 800001, "+15557650020", pdf)
	unauthorized("phaxio inbound: wrong token", in, ct, inBody, sig(badSig))
	_, _, cbSig := phaxioInboundSigned(hPhaxioToken, fx.public+"/phaxio-callback", 800001, "+15557650020", pdf)
	unauthorized("phaxio inbound: signed for the callback path", in, ct, inBody, sig(cbSig))
	_, otherDoc, _ := phaxioInboundSigned(hPhaxioToken, fx.public+in, 800001, "+15557650020", samplePDF(t, 2))
	unauthorized("phaxio inbound: document swapped under a good signature", in, ct, otherDoc, sig(inSig))
	unauthorized("phaxio inbound: SHA-256 keyed with GoFax's password", in, ct, inBody, sig(hmacHex(hGoFaxPass, inBody)))
	unauthorized("phaxio inbound: truncated SHA-256", in, ct, inBody, sig(hmacHex(hPhaxioSecret, inBody)[:62]))
	unauthorized("phaxio inbound: Asterisk's secret", in, ct, inBody, map[string]string{"X-Internal-Secret": hAsteriskKey})
	fileURLBody := []byte(`{"fax":{"id":800002,"to":"+15557650021","status":"received","file_url":"http://169.254.169.254/latest/meta-data/"}}`)
	unauthorized("phaxio inbound: unsigned metadata file_url", in, "application/json", fileURLBody, nil)
	hook("phaxio inbound: body over 40 MiB", in, ct, bytes.Repeat([]byte("a"), 40<<20+1), sig(inSig), 413, "too_large")

	// Signed, but malformed: 400 and nothing stored. On the callback
	// route a body signed alone must name the job's fax, so 401 there.
	signed := func(name, path, ct string, body []byte) {
		hook(name, path, ct, body, sig(hmacHex(hPhaxioSecret, body)), 400, "invalid")
	}
	signedCB := func(name, path, ct string, body []byte) {
		hook(name, path, ct, body, sig(hmacHex(hPhaxioSecret, body)), 401, "unauthorized")
	}
	signedCB("phaxio callback signed: multipart without boundary", cb, "multipart/form-data", []byte("--x\r\nContent-Disposition: form-data; name=\"fax\"\r\n\r\n{}\r\n--x--\r\n"))
	signedCB("phaxio callback signed: truncated multipart", cb, "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"fax\"\r\n\r\n{\"id\":1,\"status\":\"fail"))
	pct, pbody := manyParts(1000)
	signedCB("phaxio callback signed: 1000 parts", cb, pct, pbody)
	signedCB("phaxio callback signed: nested JSON", cb, "application/json", []byte(`{"fax":`+strings.Repeat(`{"fax":`, 5000)+"1"+strings.Repeat("}", 5001)))
	signedCB("phaxio callback signed: fax id of 200 KB (under the route's 256 KiB limit)", cb, "application/json", []byte(`{"event_type":"fax_completed","fax":{"id":"`+strings.Repeat("9", 200<<10)+`","status":"failure"}}`))
	signedCB("phaxio callback signed: job_id of 200 bytes", "/phaxio-callback?job_id=fax_"+strings.Repeat("0", 196), "application/json", jsonFail)
	signedCB("phaxio callback signed: job_id with a control byte", "/phaxio-callback?job_id=fax_%01x", "application/json", jsonFail)
	signedCB("phaxio callback signed: no job_id", "/phaxio-callback", "application/json", jsonFail)
	signed("phaxio inbound signed: to not E.164", in, "application/json", []byte(`{"fax":{"id":800003,"to":"12","status":"received","file_url":"https://files.phaxio.com/1.pdf"}}`))
	signed("phaxio inbound signed: file:// file_url", in, "application/json", []byte(`{"fax":{"id":800004,"to":"+15557650022","status":"received","file_url":"file:///etc/passwd"}}`))
	signed("phaxio inbound signed: relative file_url", in, "application/json", []byte(`{"fax":{"id":800005,"to":"+15557650022","status":"received","file_url":"../../faxgate.db"}}`))
	signed("phaxio inbound signed: not JSON", in, "application/json", []byte(`{"fax":`))

	// Sinch: Basic credentials and X-Sinch-Signature are both required.
	sinchBody := mustJSON(map[string]any{"event": "INCOMING_FAX", "fileType": "PDF", "file": base64.StdEncoding.EncodeToString(pdf),
		"fax": map[string]any{"id": "01JHOSTILE00000000000000001", "direction": "INBOUND", "from": "+15557650030", "to": "+15557650031", "numberOfPages": 1, "status": "COMPLETED"}})
	good := func(body []byte) map[string]string {
		return map[string]string{"Authorization": basic(hSinchUser, hSinchPass), "X-Sinch-Signature": hmacHex(hSinchHMAC, body)}
	}
	with := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for a, b := range h {
			out[a] = b
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	sinchFail := []byte(`{"event":"FAX_COMPLETED","fax":{"id":"01JHOSTILE00000000000000002","direction":"OUTBOUND","status":"FAILURE"}}`)
	for _, route := range []struct {
		path string
		body []byte
	}{{"/sinch-inbound", sinchBody}, {"/sinch-callback?job_id=" + fx.pendingID, sinchFail}} {
		p, b := route.path, route.body
		name := "sinch " + strings.SplitN(strings.TrimPrefix(p, "/sinch-"), "?", 2)[0] + ": "
		unauthorized(name+"no credentials", p, "application/json", b, nil)
		unauthorized(name+"signature without Basic", p, "application/json", b, with(good(b), "Authorization", ""))
		unauthorized(name+"Basic without signature", p, "application/json", b, with(good(b), "X-Sinch-Signature", ""))
		unauthorized(name+"wrong password", p, "application/json", b, with(good(b), "Authorization", basic(hSinchUser, "nope")))
		unauthorized(name+"wrong user", p, "application/json", b, with(good(b), "Authorization", basic("admin", hSinchPass)))
		unauthorized(name+"GoFax's Basic credentials", p, "application/json", b, with(good(b), "Authorization", basic(hGoFaxUser, hGoFaxPass)))
		unauthorized(name+"signature keyed with Phaxio's secret", p, "application/json", b, with(good(b), "X-Sinch-Signature", hmacHex(hPhaxioSecret, b)))
		unauthorized(name+"signature of another body", p, "application/json", b, with(good(b), "X-Sinch-Signature", hmacHex(hSinchHMAC, append([]byte(" "), b...))))
		unauthorized(name+"truncated signature", p, "application/json", b, with(good(b), "X-Sinch-Signature", hmacHex(hSinchHMAC, b)[:60]))
		unauthorized(name+"signature as base64", p, "application/json", b, with(good(b), "X-Sinch-Signature", base64.StdEncoding.EncodeToString(hmacRaw(hSinchHMAC, b))))
		unauthorized(name+"HMAC secret as password", p, "application/json", b, with(good(b), "Authorization", basic(hSinchUser, hSinchHMAC)))
		unauthorized(name+"admin key as Bearer", p, "application/json", b, with(good(b), "Authorization", "Bearer "+adminKey))
	}
	sinchSigned := func(name string, body []byte) {
		hook("sinch inbound signed: "+name, "/sinch-inbound", "application/json", body, good(body), 400, "invalid")
	}
	sinchSigned("file:// file_url", []byte(`{"event":"INCOMING_FAX","fax":{"id":"01JHOSTILE00000000000000003","direction":"INBOUND","to":"+15557650032","status":"COMPLETED","file_url":"file:///etc/passwd"}}`))
	sinchSigned("file_url with credentials", []byte(`{"event":"INCOMING_FAX","fax":{"id":"01JHOSTILE00000000000000004","direction":"INBOUND","to":"+15557650032","status":"COMPLETED","file_url":"https://u:p@fax.api.sinch.com/f"}}`))
	sinchSigned("to not E.164", []byte(`{"event":"INCOMING_FAX","fax":{"id":"01JHOSTILE00000000000000005","direction":"INBOUND","to":"hello","status":"COMPLETED","file":"JVBERi0="}}`))
	sinchSigned("deeply nested", []byte(strings.Repeat("[", 50000)+strings.Repeat("]", 50000)))

	// GoFax: Basic credentials, or the per-fax token in the callback URL.
	token := func(id string) string {
		var tok string
		if err := fx.db.QueryRow(`SELECT callback_token FROM faxes WHERE id = ?`, id).Scan(&tok); err != nil || tok == "" {
			t.Fatalf("callback token of %s: %q %v", id, tok, err)
		}
		return tok
	}
	gofaxSent := []byte("ID=4851999&Status=failed&Message=BUSY")
	gofaxIn := []byte("FaxID=4851998&Number=61712344321&Message=COMPLETE&NumberOfPages=1")
	for _, p := range []string{"/gofax-callback", "/gofax-sms-callback"} {
		unauthorized(p+": no credentials", p+"?job_id="+fx.pendingID, form, gofaxSent, nil)
		unauthorized(p+": wrong password", p+"?job_id="+fx.pendingID, form, gofaxSent, map[string]string{"Authorization": basic(hGoFaxUser, "nope")})
		unauthorized(p+": Sinch's credentials", p+"?job_id="+fx.pendingID, form, gofaxSent, map[string]string{"Authorization": basic(hSinchUser, hSinchPass)})
		unauthorized(p+": another fax's token", p+"?job_id="+fx.pendingID+"&token="+token(fx.simID), form, gofaxSent, nil)
		unauthorized(p+": a made-up token", p+"?job_id="+fx.pendingID+"&token="+strings.Repeat("ab", 24), form, gofaxSent, nil)
		unauthorized(p+": a token without job_id", p+"?token="+token(fx.pendingID), form, gofaxSent, nil)
		unauthorized(p+": a token for an unknown fax", p+"?job_id=fax_01NOPE&token="+token(fx.pendingID), form, gofaxSent, nil)
		unauthorized(p+": an empty token", p+"?job_id="+fx.pendingID+"&token=", form, gofaxSent, nil)
		unauthorized(p+": the API token as callback token", p+"?job_id="+fx.pendingID+"&token="+hGoFaxToken, form, gofaxSent, nil)
	}
	unauthorized("/gofax-callback: token in the body for another job", "/gofax-callback", form,
		append([]byte("job_id="+fx.pendingID+"&token="+token(fx.doneID)+"&"), gofaxSent...), nil)
	unauthorized("/gofax-inbound: no credentials", "/gofax-inbound", form, gofaxIn, nil)
	unauthorized("/gofax-inbound: wrong password", "/gofax-inbound", form, gofaxIn, map[string]string{"Authorization": basic(hGoFaxUser, hGoFaxPass+"x")})
	unauthorized("/gofax-inbound: a fax's callback token", "/gofax-inbound?job_id="+fx.pendingID+"&token="+token(fx.pendingID), form, gofaxIn, nil)
	unauthorized("/gofax-inbound: Phaxio's API credentials", "/gofax-inbound", form, gofaxIn, map[string]string{"Authorization": basic(hPhaxioKey, hPhaxioSecret)})
	unauthorized("/gofax-inbound: API token as password", "/gofax-inbound", form, gofaxIn, map[string]string{"Authorization": basic(hGoFaxUser, hGoFaxToken)})
	hook("/gofax-inbound signed: Number not a number", "/gofax-inbound", form, []byte("FaxID=4851997&Number=abc&Message=COMPLETE"),
		map[string]string{"Authorization": basic(hGoFaxUser, hGoFaxPass)}, 400, "invalid")
	hook("/gofax-inbound signed: FaxID with a space", "/gofax-inbound", form, []byte("FaxID=48%2051997&Number=61712344321&Message=COMPLETE"),
		map[string]string{"Authorization": basic(hGoFaxUser, hGoFaxPass)}, 400, "invalid")
	hook("/gofax-inbound signed: FaxID of 200 bytes", "/gofax-inbound", form, []byte("FaxID="+strings.Repeat("4", 200)+"&Number=61712344321&Message=COMPLETE"),
		map[string]string{"Authorization": basic(hGoFaxUser, hGoFaxPass)}, 400, "invalid")

	// Asterisk: X-Internal-Secret, then tiff_path must stay in the spool.
	ast := "/_internal/asterisk/inbound"
	astBody := func(path string) []byte {
		return mustJSON(map[string]any{"tiff_path": path, "to_number": "+15557650040", "from_number": "+15557650041",
			"faxstatus": "SUCCESS", "faxpages": "2", "uniqueid": fmt.Sprintf("1700000000.%d", len(cs))})
	}
	inSpool := filepath.Join(fx.spool, "in-1.tiff")
	secret := func(s string) map[string]string { return map[string]string{"X-Internal-Secret": s} }
	unauthorized("asterisk: no secret", ast, "application/json", astBody(inSpool), nil)
	unauthorized("asterisk: wrong secret", ast, "application/json", astBody(inSpool), secret("wrong"))
	unauthorized("asterisk: truncated secret", ast, "application/json", astBody(inSpool), secret(hAsteriskKey[:len(hAsteriskKey)-1]))
	unauthorized("asterisk: secret in upper case", ast, "application/json", astBody(inSpool), secret(strings.ToUpper(hAsteriskKey)))
	unauthorized("asterisk: Phaxio's secret", ast, "application/json", astBody(inSpool), secret(hPhaxioSecret))
	unauthorized("asterisk: the admin key", ast, "application/json", astBody(inSpool), secret(adminKey))
	unauthorized("asterisk: secret as Bearer", ast, "application/json", astBody(inSpool), map[string]string{"Authorization": "Bearer " + hAsteriskKey})
	unauthorized("asterisk: secret twice", ast, "application/json", astBody(inSpool), map[string]string{"X-Internal-Secret": hAsteriskKey, "+X-Internal-Secret": hAsteriskKey})
	unauthorized("asterisk: traversal without the secret", ast, "application/json", astBody("../../etc/passwd"), nil)
	for _, p := range []string{
		"../../etc/passwd", "../" + filepath.Base(filepath.Dir(fx.outside)) + "/secret.tiff", fx.outside, fx.spool + "/../spool/../" + filepath.Base(fx.outside),
		filepath.Join(fx.spool, "escape.tiff"), "escape.tiff", "escape-dir/secret.tiff", filepath.Join(fx.spool, "sub"), "in-1.tiff\x00.txt",
		filepath.Join(fx.spool, "missing.tiff"), "/dev/zero", "/proc/self/environ", "/etc/passwd", "file:///etc/passwd", "~/.ssh/id_rsa",
		"\\..\\..\\etc\\passwd", "..", "/", strings.Repeat("a/", 2100) + "x.tiff",
	} {
		hook("asterisk tiff_path "+truncateStr(strings.ReplaceAll(p, fx.spool, "$SPOOL"), 60), ast, "application/json", astBody(p), secret(hAsteriskKey), 400, "invalid")
	}
	astBad := func(name string, body []byte, status int, code string) {
		hook("asterisk: "+name, ast, "application/json", body, secret(hAsteriskKey), status, code)
	}
	astBad("to not E.164", []byte(`{"tiff_path":"in-1.tiff","to_number":"abc","faxstatus":"SUCCESS","uniqueid":"1700000000.1"}`), 400, "invalid")
	astBad("uniqueid with spaces", []byte(`{"tiff_path":"in-1.tiff","to_number":"+15557650040","faxstatus":"SUCCESS","uniqueid":"a b"}`), 400, "invalid")
	astBad("duplicate tiff_path", []byte(`{"tiff_path":"in-1.tiff","tiff_path":"/etc/passwd","to_number":"+15557650040","faxstatus":"SUCCESS","uniqueid":"1700000000.2"}`), 400, "invalid")
	astBad("array body", []byte(`[{"tiff_path":"in-1.tiff"}]`), 400, "invalid")
	astBad("deeply nested", []byte(`{"tiff_path":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`), 400, "invalid")
	astBad("body over 64 KB", []byte(`{"tiff_path":"in-1.tiff","to_number":"+15557650040","faxstatus":"SUCCESS","uniqueid":"1700000000.3","x":"`+strings.Repeat("x", 70<<10)+`"}`), 413, "too_large")

	// Carrier routes take POST only.
	for _, p := range []string{"/phaxio-callback", "/sinch-inbound", "/gofax-inbound", ast} {
		cs = append(cs, hostileReq{name: "GET " + p, method: "GET", path: p, status: 404, code: "not_found"})
	}
	return cs
}

func hmacRaw(key string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return m.Sum(nil)
}

// TestHostileFileURLs: a genuinely signed received-fax webhook whose
// file_url points away from the carrier's file hosts (another host, cloud
// metadata, faxgate itself) is acknowledged, since the carrier did receive a
// fax, and recorded as partial without a document; no such URL is ever
// fetched.
func TestHostileFileURLs(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(samplePDF(t, 1))
	}))
	defer elsewhere.Close()
	clock := newTestClock()
	g := startGateway(t, withClock(clock), withEnv("FAXGATE_WEBHOOK_ALLOW_NETWORKS", ""),
		withEnv("PHAXIO_API_KEY", hPhaxioKey), withEnv("PHAXIO_API_SECRET", hPhaxioSecret),
		// A file host the operator allowed that resolves to loopback is
		// still refused when faxgate connects.
		withEnv("PHAXIO_FILE_HOSTS", "*.phaxio.com,localhost"), withEnv("SINCH_FILE_HOSTS", "*.sinch.com,localhost"),
		withEnv("SINCH_INBOUND_BASIC_USER", hSinchUser), withEnv("SINCH_INBOUND_BASIC_PASS", hSinchPass))
	_, port, _ := net.SplitHostPort(elsewhere.Listener.Addr().String())
	urls := []string{
		elsewhere.URL + "/steal.pdf",
		"http://localhost:" + port + "/allowed-host.pdf",
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/",
		"http://[::1]:1/x.pdf",
		g.url + "/v1/faxes",
		"https://files.phaxio.com.attacker.example/x.pdf",
		"https://phaxio.com@127.0.0.1/x.pdf",
	}
	for i, u := range urls {
		body := []byte(fmt.Sprintf(`{"fax":{"id":%d,"from":"+15557650050","to":"+15557650051","num_pages":1,"status":"received","file_url":%q}}`, 900000+i, u))
		code, resp := g.post("/phaxio-inbound", "application/json", body, map[string]string{"X-Phaxio-Signature": hmacHex(hPhaxioSecret, body)})
		if code != 200 && code != 400 {
			t.Errorf("phaxio file_url %s: got %d %s, want 200 (recorded without the document) or 400", u, code, resp)
		}
		sbody := mustJSON(map[string]any{"event": "INCOMING_FAX", "fax": map[string]any{"id": fmt.Sprintf("01JFILEURL%016d", i), "direction": "INBOUND",
			"to": "+15557650052", "status": "COMPLETED", "file_url": u}})
		code, resp = g.post("/sinch-inbound", "application/json", sbody, map[string]string{"Authorization": basic(hSinchUser, hSinchPass)})
		if code != 200 && code != 400 {
			t.Errorf("sinch file_url %s: got %d %s, want 200 or 400", u, code, resp)
		}
	}
	// Every acknowledged one ends partial, without a document; the fetch
	// is never retried into success.
	db := openReadOnly(t, filepath.Join(g.m.Config.DataDir, "faxgate.db"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		clock.Advance(time.Hour)
		g.m.Ingest.Notify()
		in := g.inbound()
		final := 0
		for _, f := range in {
			if f.Status == "partial" {
				final++
			}
		}
		var jobs int
		db.QueryRow(`SELECT count(*) FROM inbound_jobs WHERE status = 'pending'`).Scan(&jobs)
		if jobs == 0 && final == len(in) {
			for _, f := range in {
				if f.Error == nil || f.Error.Code != "document_unavailable" {
					t.Errorf("fax %s: got %+v, want partial with document_unavailable", f.ID, f.Error)
				}
				if code := g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, nil); code != 404 {
					t.Errorf("fax %s has a document: got %d", f.ID, code)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fetch jobs did not end: %d pending, %d of %d partial", jobs, final, len(in))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("faxgate fetched a file_url outside the carriers' file hosts %d times", n)
	}
	if slices.ContainsFunc(g.inbound(), func(f faxObj) bool { return f.Status == "received" }) {
		t.Error("a fax was received with a document from a foreign URL")
	}
}

// TestFloodLimits: through the configuration, a key over its rate gets 429
// with Retry-After and the error shape while other keys go on, and sends
// beyond FAXGATE_MAX_INFLIGHT_SENDS get 503 with Retry-After at once rather
// than waiting; neither changes anything.
func TestFloodLimits(t *testing.T) {
	t.Run("rate", func(t *testing.T) {
		g := startGateway(t, withEnv("FAXGATE_RATE_LIMIT", "0.5"), withEnv("FAXGATE_RATE_BURST", "3"))
		var k apiKey
		if code := g.do("POST", "/v1/api-keys", map[string]any{"name": "busy", "scopes": []string{"fax:read", "fax:send"}}, &k); code != 201 {
			t.Fatalf("create key: got %d", code)
		}
		for i := range 3 {
			if code := g.doKey(k.Key, "GET", "/v1/faxes", nil, nil); code != 200 {
				t.Fatalf("request %d within the burst: got %d", i+1, code)
			}
		}
		for _, r := range []struct {
			method string
			body   any
		}{{"GET", nil}, {"POST", multipartSend(map[string]string{"to": "+15551234567"}, textDoc)}} {
			path := "/v1/faxes"
			var rd io.Reader
			ct := ""
			if mb, ok := r.body.(*multipartBody); ok {
				rd, ct = bytes.NewReader(mb.buf.Bytes()), mb.ct
			}
			req, _ := http.NewRequest(r.method, g.url+path, rd)
			req.Header.Set("Authorization", "Bearer "+k.Key)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e errorBody
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			ra := resp.Header.Get("Retry-After")
			if resp.StatusCode != 429 || e.Error.Code != "rate_limited" || e.Error.RequestID == "" || (ra != "1" && ra != "2") {
				t.Errorf("%s over the limit: got %d %+v Retry-After %q, want 429 rate_limited with Retry-After 1 or 2", r.method, resp.StatusCode, e, ra)
			}
		}
		// The admin key and carrier webhooks have their own budgets.
		if code := g.do("GET", "/v1/faxes", nil, nil); code != 200 {
			t.Errorf("admin while another key is limited: got %d", code)
		}
		var l struct{ Data []json.RawMessage }
		g.do("GET", "/v1/faxes", nil, &l)
		if len(l.Data) != 0 {
			t.Errorf("a refused send created %d faxes", len(l.Data))
		}
	})
	t.Run("inflight sends", func(t *testing.T) {
		g := startGateway(t, withEnv("FAXGATE_RATE_LIMIT", "0"), withEnv("FAXGATE_MAX_INFLIGHT_SENDS", "1"))
		// A send whose body arrives slowly.
		mb := multipartSend(map[string]string{"to": "+15551234567"}, textDoc)
		pr, pw := io.Pipe()
		slow := make(chan int, 1)
		go func() {
			req, _ := http.NewRequest("POST", g.url+"/v1/faxes", pr)
			req.Header.Set("Content-Type", mb.ct)
			req.Header.Set("Authorization", "Bearer "+adminKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				slow <- 0
				return
			}
			resp.Body.Close()
			slow <- resp.StatusCode
		}()
		raw := mb.buf.Bytes()
		pw.Write(raw[:len(raw)/2])
		// It holds its key's share (the per-key cap, lowered to the
		// gateway's 1), not the gateway's slot, which is taken only once a
		// body is in: the same key is refused at once, another key sends.
		deadline := time.Now().Add(10 * time.Second)
		for {
			req, _ := http.NewRequest("POST", g.url+"/v1/faxes", strings.NewReader(`{"to":"not a number"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+adminKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e errorBody
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode == 429 {
				if resp.Header.Get("Retry-After") != "1" || e.Error.Code != "rate_limited" {
					t.Errorf("over the key's share: got Retry-After %q %+v, want 1 and rate_limited", resp.Header.Get("Retry-After"), e)
				}
				break
			}
			if resp.StatusCode != 400 || time.Now().After(deadline) {
				pw.CloseWithError(io.ErrUnexpectedEOF)
				t.Fatalf("while a send of the same key trickles: got %d, want 429 (or 400 before it started)", resp.StatusCode)
			}
			time.Sleep(5 * time.Millisecond)
		}
		var other apiKey
		if code := g.do("POST", "/v1/api-keys", map[string]any{"name": "other", "scopes": []string{"fax:send"}}, &other); code != 201 {
			t.Fatalf("create key: got %d", code)
		}
		if code := g.doKey(other.Key, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234569"}, textDoc), nil); code != 202 {
			t.Errorf("another key's send while a slow body arrives: got %d, want 202", code)
		}
		if code := g.do("GET", "/v1/faxes", nil, nil); code != 200 {
			t.Errorf("a read while sends are capped: got %d", code)
		}
		pw.Write(raw[len(raw)/2:])
		pw.Close()
		if code := <-slow; code != 202 {
			t.Fatalf("the slow send: got %d, want 202", code)
		}
		g.send("+15551234568", textDoc) // the slot is free again
	})
}
