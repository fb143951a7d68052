package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/provider/phaxio"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLoggedGateway is startGatewayIn with the logger the serve command
// builds (FAXGATE_LOG_FORMAT and FAXGATE_LOG_LEVEL) writing to w, so that a
// test sees every line faxgate logs.
func startLoggedGateway(t *testing.T, dir string, w io.Writer, opts ...gatewayOption) *gateway {
	t.Helper()
	env := map[string]string{
		"FAXGATE_ADDR":                   "127.0.0.1:0",
		"FAXGATE_DATA_DIR":               dir,
		"FAXGATE_ADMIN_KEY":              adminKey,
		"FAXGATE_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8",
		// The busy send fails at once rather than waiting for a redial.
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
	if testing.Verbose() {
		w = io.MultiWriter(w, testWriter{t})
	}
	m.Logger = newLogger(cfg, w)
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

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newWhsec() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// secretForms are the ways a secret could show up in a log: as it is, and
// encoded in base64 (standard and URL, padded or not) or hex. A whsec_
// secret also counts by its base64 body and by its decoded key.
func secretForms(s string) []string {
	forms := []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)),
		hex.EncodeToString([]byte(s)), strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(s)), "=")}
	if body, ok := strings.CutPrefix(s, "whsec_"); ok {
		forms = append(forms, body)
		if key, err := base64.StdEncoding.DecodeString(body); err == nil {
			forms = append(forms, hex.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key))
		}
	}
	return forms
}

// base64Inner returns the base64 text that marker's bytes produce wherever
// they sit in a longer encoded run, for each of the three alignments.
func base64Inner(marker string) []string {
	var out []string
	for k := 0; k < 3; k++ {
		enc := base64.StdEncoding.EncodeToString(append(bytes.Repeat([]byte{0}, k), marker...))
		start := 0
		if k > 0 {
			start = 4
		}
		end := 4 * ((k + len(marker)) / 3)
		if end > start {
			out = append(out, enc[start:end])
		}
	}
	return out
}

// secretsScenario holds what one end-to-end run used, to look for in its logs.
type secretsScenario struct {
	secrets map[string]string // what → value
	numbers []string
	marker  string
}

// TestSecretsStayOutOfLogs runs a whole gateway with every secret
// configured through sends, receptions, carrier callbacks, deliveries that
// succeed and fail, and forgeries, captures everything it logs at debug
// level, in text and then JSON, and looks for every secret, API key, phone
// number and document marker: none may appear.
func TestSecretsStayOutOfLogs(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			logs := &syncBuffer{}
			sc := runSecretsScenario(t, format, logs)
			out := logs.String()
			if len(out) < 2000 || !strings.Contains(out, "faxgate serving") || !strings.Contains(out, "stopped") {
				t.Fatalf("the capture looks incomplete (%d bytes):\n%s", len(out), out)
			}
			if format == "json" {
				for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
					if !json.Valid([]byte(line)) {
						t.Errorf("log line %d is not JSON: %s", i+1, line)
					}
				}
			}
			t.Logf("scanned %d bytes, %d lines of %s logs", len(out), strings.Count(out, "\n"), format)
			for _, leak := range scanLogs(out, sc) {
				t.Error(leak)
			}
		})
	}
}

// scanLogs reports every secret, phone number and document marker of sc
// found in out, in any of the forms they could take.
func scanLogs(out string, sc *secretsScenario) []string {
	var leaks []string
	var names []string
	for name := range sc.secrets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, form := range secretForms(sc.secrets[name]) {
			if len(form) >= 8 && strings.Contains(out, form) {
				leaks = append(leaks, fmt.Sprintf("%s leaked (as %q) in:\n%s", name, form, linesWith(out, form)))
				break
			}
		}
	}
	for _, n := range sc.numbers {
		for _, form := range []string{n, strings.TrimPrefix(n, "+")} {
			if strings.Contains(out, form) {
				leaks = append(leaks, fmt.Sprintf("phone number %s leaked (as %q) in:\n%s", n, form, linesWith(out, form)))
				break
			}
		}
	}
	for _, form := range append([]string{sc.marker, hex.EncodeToString([]byte(sc.marker))}, base64Inner(sc.marker)...) {
		if strings.Contains(out, form) {
			leaks = append(leaks, fmt.Sprintf("document bytes leaked (marker as %q) in:\n%s", form, linesWith(out, form)))
			break
		}
	}
	return leaks
}

// TestScanLogsFindsLeaks: the scanner itself catches each form a leak can
// take, so that a clean scan means something.
func TestScanLogsFindsLeaks(t *testing.T) {
	sc := &secretsScenario{marker: "DOCMARK-0123456789abcdef", numbers: []string{"+14155550101"},
		secrets: map[string]string{"plain": "plain-secret-value", "whsec": "whsec_c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5"}}
	doc := []byte("%PDF-1.4 " + sc.marker + " rest of the document")
	key, _ := base64.StdEncoding.DecodeString("c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5")
	for _, leak := range []string{
		"err=plain-secret-value", "auth=" + base64.StdEncoding.EncodeToString([]byte("plain-secret-value")),
		"x=" + hex.EncodeToString([]byte("plain-secret-value")), "secret=c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5",
		"key=" + hex.EncodeToString(key), "to=+14155550101", "to=14155550101",
		"body=" + string(doc), "body=" + base64.StdEncoding.EncodeToString(doc), "body=" + base64.StdEncoding.EncodeToString(doc[1:]),
		"body=" + base64.StdEncoding.EncodeToString(doc[2:]), "body=" + hex.EncodeToString(doc),
	} {
		if got := scanLogs("level=INFO msg=x "+leak+"\n", sc); len(got) != 1 {
			t.Errorf("%s: got %d findings, want 1", leak, len(got))
		}
	}
	if got := scanLogs("level=INFO msg=x to=…0101 key_id=key_01M8 secret=(set)\n", sc); len(got) != 0 {
		t.Errorf("clean line: got %v", got)
	}
}

func linesWith(out, s string) string {
	var hits []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			hits = append(hits, "    "+truncateStr(l, 400))
		}
	}
	if len(hits) > 5 {
		hits = append(hits[:5], fmt.Sprintf("    … and %d more lines", len(hits)-5))
	}
	return strings.Join(hits, "\n")
}

func runSecretsScenario(t *testing.T, format string, logs io.Writer) *secretsScenario {
	t.Helper()
	tag := randomHex(4)
	sc := &secretsScenario{marker: "DOCMARK-" + randomHex(8), secrets: map[string]string{
		"FAXGATE_ADMIN_KEY":         "admin-" + randomHex(16),
		"FAXGATE_CALLBACK_SECRET":   newWhsec(),
		"FAXGATE_SMTP_URL password": "smtppass-" + randomHex(8),
		"PHAXIO_API_KEY":            "phaxio-key",
		"PHAXIO_API_SECRET":         "phaxio-secret",
		"PHAXIO_WEBHOOK_TOKEN":      "phxtok-" + randomHex(12),
		"SINCH_KEY_ID":              "sinchkeyid-" + randomHex(6),
		"SINCH_KEY_SECRET":          "sinchkeysecret-" + randomHex(12),
		"SINCH_INBOUND_BASIC_PASS":  "sinchpass-" + randomHex(12),
		"SINCH_INBOUND_HMAC_SECRET": "sinchhmac-" + randomHex(12),
		"GOFAX_TOKEN":               "gofaxtoken-" + randomHex(12),
		"GOFAX_WEBHOOK_PASS":        "gofaxpass-" + randomHex(12),
		"ASTERISK_AMI_SECRET":       "amisecret-" + randomHex(12),
		"ASTERISK_INBOUND_SECRET":   "astsecret-" + randomHex(12),
		"endpoint URL password":     "hookpass-" + randomHex(12),
		"endpoint URL query token":  "hookquery-" + randomHex(12),
	}}
	s := sc.secrets
	num := func(n string) string { sc.numbers = append(sc.numbers, n); return n }
	// Distinct numbers for every role, so that a leak says which path.
	var (
		outSim, outBusy, outCallback = num("+14155550101"), num("+14155550001"), num("+14155550102")
		outJSON, outPhaxio, outSinch = num("+14155550103"), num("+14155550104"), num("+14155550105")
		fromNum                      = num("+14155550199")
		simFrom, simTo               = num("+14155550201"), num("+14155550202")
		phxFrom, phxTo               = num("+14155550203"), num("+14155550204")
		sinchFrom, sinchTo           = num("+14155550205"), num("+14155550206")
		gofaxTo, gofaxFrom           = num("+61755550207"), num("+61755550208")
		astTo, astFrom               = num("+14155550209"), num("+14155550210")
		badNumber                    = num("4155550299")
	)
	doc := []byte("Referral for J. Doe\n" + sc.marker + "\nPlease call back.\n")
	markedPDF := append(samplePDF(t, 1), []byte("\n%"+sc.marker+"\n")...)
	if _, err := document.Inspect(markedPDF); err != nil {
		t.Fatalf("the marked PDF is not a document: %v", err)
	}
	tiff, err := os.ReadFile("../../internal/document/testdata/fax-g4-fine-2p.tif")
	if err != nil {
		t.Fatal(err)
	}
	markedTIFF := append(tiff, []byte(sc.marker)...)

	// Carriers on loopback.
	phx := newFakePhaxio(t, s["PHAXIO_WEBHOOK_TOKEN"])
	sinchFake := newFakeSinch(t, s["SINCH_KEY_ID"], s["SINCH_KEY_SECRET"], s["SINCH_INBOUND_HMAC_SECRET"])
	// GoFax's API serves received documents; fax 4851001 fails with 500
	// and 4851002 with a dropped connection, so that fetch errors are logged.
	gofaxAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != s["GOFAX_TOKEN"] {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case strings.Contains(r.URL.Path, "/4851001/"):
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte("token " + r.URL.Query().Get("token") + " failed"))
			return
		case strings.Contains(r.URL.Path, "/4851002/"):
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				c.Close()
			}
			return
		}
		json.NewEncoder(w).Encode(base64.StdEncoding.EncodeToString(markedPDF))
	}))
	t.Cleanup(gofaxAPI.Close)
	spool := t.TempDir()
	os.WriteFile(filepath.Join(spool, "in-"+tag+".tiff"), markedTIFF, 0o600)

	addr := freeAddr(t)
	public := "http://" + addr
	env := map[string]string{
		"FAXGATE_ADDR": addr, "FAXGATE_PUBLIC_URL": public, "FAXGATE_LOG_LEVEL": "debug", "FAXGATE_LOG_FORMAT": format,
		"FAXGATE_ADMIN_KEY": s["FAXGATE_ADMIN_KEY"], "FAXGATE_CALLBACK_SECRET": s["FAXGATE_CALLBACK_SECRET"],
		"FAXGATE_SMTP_URL":               "smtp://mailer:" + s["FAXGATE_SMTP_URL password"] + "@127.0.0.1:1",
		"FAXGATE_WEBHOOK_RETRY_SCHEDULE": "20ms×2", "FAXGATE_SIMULATOR_PAGE_DELAY": "1ms",
		"PHAXIO_API_KEY": s["PHAXIO_API_KEY"], "PHAXIO_API_SECRET": s["PHAXIO_API_SECRET"], "PHAXIO_WEBHOOK_TOKEN": s["PHAXIO_WEBHOOK_TOKEN"],
		"PHAXIO_BASE_URL":  phx.srv.URL + "/v2.1",
		"SINCH_PROJECT_ID": "proj-" + tag, "SINCH_KEY_ID": s["SINCH_KEY_ID"], "SINCH_KEY_SECRET": s["SINCH_KEY_SECRET"],
		"SINCH_BASE_URL": sinchFake.srv.URL, "SINCH_CALLBACK_CONTENT_TYPE": "application/json",
		"SINCH_INBOUND_BASIC_USER": "sinch-hook", "SINCH_INBOUND_BASIC_PASS": s["SINCH_INBOUND_BASIC_PASS"],
		"SINCH_INBOUND_HMAC_SECRET": s["SINCH_INBOUND_HMAC_SECRET"],
		"GOFAX_TOKEN":               s["GOFAX_TOKEN"], "GOFAX_WEBHOOK_USER": "gofax-hook", "GOFAX_WEBHOOK_PASS": s["GOFAX_WEBHOOK_PASS"],
		"GOFAX_BASE_URL":    gofaxAPI.URL,
		"ASTERISK_AMI_HOST": "127.0.0.1", "ASTERISK_AMI_PORT": strings.Split(freeAddr(t), ":")[1],
		"ASTERISK_AMI_USER": "faxgate", "ASTERISK_AMI_SECRET": s["ASTERISK_AMI_SECRET"],
		"ASTERISK_INBOUND_SECRET": s["ASTERISK_INBOUND_SECRET"], "ASTERISK_SPOOL_DIR": spool,
	}
	var opts []gatewayOption
	for k, v := range env {
		opts = append(opts, withEnv(k, v))
	}
	g := startLoggedGateway(t, t.TempDir(), logs, opts...)
	admin := s["FAXGATE_ADMIN_KEY"]

	// An API key made through the API does the user's work.
	var key struct{ ID, Key string }
	if code := g.doKey(admin, "POST", "/v1/api-keys", map[string]any{"name": "app", "scopes": []string{"fax:send", "fax:read", "webhooks:manage"}}, &key); code != 201 {
		t.Fatalf("create key: %d", code)
	}
	s["API key made through the API"] = key.Key
	k := key.Key

	// Endpoints: a global inflight one with credentials in its URL, whose
	// secret is then rotated; one bound to a number that always fails.
	good := newReceiver(t)
	hookURL := strings.Replace(good.srv.URL, "http://", "http://hookuser:"+s["endpoint URL password"]+"@", 1) + "/hook"
	var ep struct{ ID, Secret string }
	if code := g.doKey(k, "POST", "/v1/webhook-endpoints", map[string]any{"url": hookURL, "inflight": true}, &ep); code != 201 {
		t.Fatalf("create endpoint: %d", code)
	}
	s["endpoint secret"] = ep.Secret
	var rotated struct{ Secret string }
	if code := g.doKey(k, "POST", "/v1/webhook-endpoints/"+ep.ID+"/rotate-secret", nil, &rotated); code != 200 {
		t.Fatalf("rotate: %d", code)
	}
	s["rotated endpoint secret"] = rotated.Secret
	good.mu.Lock()
	good.secret = rotated.Secret
	good.mu.Unlock()
	failing := newReceiver(t, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
	var fep struct{ ID, Secret string }
	if code := g.doKey(k, "POST", "/v1/webhook-endpoints", map[string]any{"url": failing.srv.URL + "/fail", "numbers": []string{phxTo, simTo}}, &fep); code != 201 {
		t.Fatalf("create failing endpoint: %d", code)
	}
	s["failing endpoint secret"] = fep.Secret
	// An endpoint with credentials in its URL that cannot be reached:
	// the connection error is logged.
	closed := "http://hookuser:" + s["endpoint URL password"] + "@" + freeAddr(t) + "/hook?token=" + s["endpoint URL query token"]
	if code := g.doKey(k, "POST", "/v1/webhook-endpoints", map[string]any{"url": closed, "events": []string{"fax.sent"}}, nil); code != 201 {
		t.Fatalf("create unreachable endpoint: %d", code)
	}
	callbackRecv := newReceiver(t)
	callbackRecv.secret = s["FAXGATE_CALLBACK_SECRET"]

	// Sends through every way in and every carrier.
	var ids []string
	sendKey := func(fields map[string]string, file []byte, hdr map[string]string) string {
		mb := multipartSend(fields, file)
		req, _ := http.NewRequest("POST", g.url+"/v1/faxes", bytes.NewReader(mb.buf.Bytes()))
		req.Header.Set("Content-Type", mb.ct)
		req.Header.Set("Authorization", "Bearer "+k)
		for h, v := range hdr {
			req.Header.Set(h, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var f faxObj
		json.NewDecoder(resp.Body).Decode(&f)
		if resp.StatusCode != 202 {
			t.Fatalf("send %v: got %d", fields, resp.StatusCode)
		}
		ids = append(ids, f.ID)
		return f.ID
	}
	sendKey(map[string]string{"to": outSim, "from": fromNum, "header_text": "Clinic " + tag}, doc, map[string]string{"Idempotency-Key": "idem-" + tag})
	sendKey(map[string]string{"to": outSim, "from": fromNum, "header_text": "Clinic " + tag}, doc, map[string]string{"Idempotency-Key": "idem-" + tag})
	sendKey(map[string]string{"to": outBusy}, doc, nil)
	cbID := sendKey(map[string]string{"to": outCallback, "callback_url": callbackRecv.srv.URL + "/cb"}, doc, nil)
	sendKey(map[string]string{"to": outPhaxio, "provider": "phaxio"}, doc, nil)
	sendKey(map[string]string{"to": outSinch, "provider": "sinch"}, doc, nil)
	var jf faxObj
	if code := g.doKey(k, "POST", "/v1/faxes", map[string]any{"to": outJSON, "content_base64": base64.StdEncoding.EncodeToString(doc), "filename": "r.txt"}, &jf); code != 202 {
		t.Fatalf("JSON send: %d", code)
	}
	ids = append(ids, jf.ID)
	// Refused sends echo nothing into the logs either.
	g.doKey(k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": badNumber}, doc), nil)
	g.doKey(k, "POST", "/v1/faxes", map[string]any{"to": outJSON, "content_base64": base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n" + sc.marker))}, nil)

	// Receptions through every carrier.
	var sim faxObj
	if code := g.doKey(k, "POST", "/v1/simulator/inbound", map[string]any{"from": simFrom, "to": simTo, "pages": 2}, &sim); code != 201 {
		t.Fatalf("simulator inbound: %d", code)
	}
	faxJSON := fmt.Sprintf(`{"id":%d,"direction":"received","num_pages":1,"status":"success","from_number":%q,"to_number":%q}`, 555000001, phxFrom, phxTo)
	ct, body, sig := phaxioInboundMarked(s["PHAXIO_WEBHOOK_TOKEN"], public+"/phaxio-inbound", faxJSON, markedPDF)
	mustPost(t, g, "/phaxio-inbound", ct, body, map[string]string{"X-Phaxio-Signature": sig}, 200)
	sinchBody := mustJSON(map[string]any{"event": "INCOMING_FAX", "fileType": "PDF", "file": base64.StdEncoding.EncodeToString(markedPDF),
		"fax": map[string]any{"id": "01JSECRETS" + strings.ToUpper(tag) + "00000001", "direction": "INBOUND", "from": sinchFrom, "to": sinchTo, "numberOfPages": 1, "status": "COMPLETED"}})
	sinchAuth := map[string]string{"Authorization": basic("sinch-hook", s["SINCH_INBOUND_BASIC_PASS"]), "X-Sinch-Signature": hmacHex(s["SINCH_INBOUND_HMAC_SECRET"], sinchBody)}
	mustPost(t, g, "/sinch-inbound", "application/json", sinchBody, sinchAuth, 200)
	gofaxBody := []byte("FaxID=48515" + fmt.Sprint(len(tag)) + "&Number=" + strings.TrimPrefix(gofaxTo, "+") + "&SenderISDNID=" + strings.TrimPrefix(gofaxFrom, "+") + "&Message=COMPLETE&NumberOfPages=1")
	mustPost(t, g, "/gofax-inbound", "application/x-www-form-urlencoded", gofaxBody, map[string]string{"Authorization": basic("gofax-hook", s["GOFAX_WEBHOOK_PASS"])}, 200)
	for _, id := range []string{"4851001", "4851002"} {
		b := []byte("FaxID=" + id + "&Number=" + strings.TrimPrefix(gofaxTo, "+") + "&SenderISDNID=" + strings.TrimPrefix(gofaxFrom, "+") + "&Message=COMPLETE&NumberOfPages=1")
		mustPost(t, g, "/gofax-inbound", "application/x-www-form-urlencoded", b, map[string]string{"Authorization": basic("gofax-hook", s["GOFAX_WEBHOOK_PASS"])}, 200)
	}
	astBody := mustJSON(map[string]any{"tiff_path": "in-" + tag + ".tiff", "to_number": astTo, "from_number": astFrom, "faxstatus": "SUCCESS", "faxpages": "2", "uniqueid": "1700000000." + tag})
	mustPost(t, g, "/_internal/asterisk/inbound", "application/json", astBody, map[string]string{"X-Internal-Secret": s["ASTERISK_INBOUND_SECRET"]}, 200)

	// Forgeries, some presenting real secrets in the wrong place.
	mustPost(t, g, "/phaxio-inbound", ct, body, map[string]string{"X-Phaxio-Signature": hmacHex(s["SINCH_INBOUND_HMAC_SECRET"], body)}, 401)
	mustPost(t, g, "/phaxio-callback?job_id="+ids[0], "application/json", []byte(`{"fax":{"id":1,"status":"failure"}}`), map[string]string{"X-Phaxio-Signature": s["PHAXIO_API_SECRET"]}, 401)
	mustPost(t, g, "/sinch-inbound", "application/json", sinchBody, map[string]string{"Authorization": basic("sinch-hook", s["GOFAX_WEBHOOK_PASS"]), "X-Sinch-Signature": hmacHex(s["SINCH_INBOUND_HMAC_SECRET"], sinchBody)}, 401)
	mustPost(t, g, "/gofax-inbound", "application/x-www-form-urlencoded", gofaxBody, map[string]string{"Authorization": basic("gofax-hook", s["ASTERISK_INBOUND_SECRET"])}, 401)
	mustPost(t, g, "/gofax-callback?job_id="+ids[0]+"&token="+s["GOFAX_TOKEN"], "application/x-www-form-urlencoded", []byte("ID=1&Status=failed"), nil, 401)
	mustPost(t, g, "/_internal/asterisk/inbound", "application/json", astBody, map[string]string{"X-Internal-Secret": s["PHAXIO_WEBHOOK_TOKEN"]}, 401)
	for _, bad := range []string{s["SINCH_KEY_SECRET"], s["endpoint secret"], admin + "x"} {
		if code := g.doKey(bad, "GET", "/v1/faxes", nil, nil); code != 401 {
			t.Errorf("a secret used as API key: got %d, want 401", code)
		}
	}

	// Everything ends: faxes final, receptions stored, deliveries done or
	// failed for good, then one delivery retried by hand.
	for _, id := range ids {
		g.waitFax(id)
	}
	phx.done.Wait()
	sinchFake.wait()
	waitCount := func(what string, n int, count func() int) {
		deadline := time.Now().Add(20 * time.Second)
		for count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: fewer than %d after 20s", what, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCount("received faxes", 5, func() int {
		var l struct{ Data []faxObj }
		g.doKey(k, "GET", "/v1/faxes?direction=inbound", nil, &l)
		n := 0
		for _, f := range l.Data {
			if f.Status == "received" {
				n++
			}
		}
		return n
	})
	callbackRecv.waitFor("fax.sent", cbID)
	waitCount("failed deliveries", 1, func() int {
		var l struct{ Data []json.RawMessage }
		g.doKey(k, "GET", "/v1/deliveries?status=failed&endpoint_id="+fep.ID, nil, &l)
		return len(l.Data)
	})
	waitCount("settled deliveries", 1, func() int {
		var l struct{ Data []json.RawMessage }
		g.doKey(k, "GET", "/v1/deliveries?status=pending", nil, &l)
		if len(l.Data) == 0 {
			return 1
		}
		return 0
	})
	// A failed delivery retried by hand fails once more.
	var dl struct {
		Data []struct {
			ID           string
			AttemptCount int `json:"attempt_count"`
		}
	}
	g.doKey(k, "GET", "/v1/deliveries?endpoint_id="+fep.ID, nil, &dl)
	if len(dl.Data) == 0 {
		t.Fatal("the failing endpoint has no deliveries")
	}
	retried := dl.Data[0]
	if code := g.doKey(k, "POST", "/v1/deliveries/"+retried.ID+"/retry", nil, nil); code != 202 {
		t.Fatalf("retry by hand: got %d", code)
	}
	waitCount("attempts of the retried delivery", retried.AttemptCount+1, func() int {
		var d struct {
			AttemptCount int `json:"attempt_count"`
			Status       string
		}
		g.doKey(k, "GET", "/v1/deliveries/"+retried.ID, nil, &d)
		if d.Status == "pending" {
			return 0
		}
		return d.AttemptCount
	})
	var pdf []byte
	g.doKey(k, "GET", "/v1/faxes/"+ids[0]+"/document", nil, &pdf)
	for _, e := range good.got() {
		if !e.Valid {
			t.Errorf("delivery %s %s did not verify", e.Type, e.ID)
		}
	}

	// Tokens faxgate generated for carriers count as secrets too.
	db := openReadOnly(t, filepath.Join(g.m.Config.DataDir, "faxgate.db"))
	rows, err := db.Query(`SELECT id, callback_token FROM faxes WHERE callback_token <> ''`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, tok string
		rows.Scan(&id, &tok)
		s["callback token of "+id] = tok
	}
	rows.Close()
	g.stop()
	return sc
}

func mustPost(t *testing.T, g *gateway, path, ct string, body []byte, hdr map[string]string, want int) {
	t.Helper()
	if code, resp := g.post(path, ct, body, hdr); code != want {
		t.Fatalf("POST %s: got %d %s, want %d", path, code, truncateStr(resp, 200), want)
	}
}

// phaxioInboundMarked is a Phaxio received-fax webhook for faxJSON with
// doc as its file part, signed with token for url.
func phaxioInboundMarked(token, url, faxJSON string, doc []byte) (ct string, body []byte, sig string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("fax", faxJSON)
	w.WriteField("event_type", "fax_completed")
	fw, _ := w.CreateFormFile("file", "fax.pdf")
	fw.Write(doc)
	w.Close()
	sig = phaxio.Sign(token, url, map[string][]string{"fax": {faxJSON}, "event_type": {"fax_completed"}}, map[string][][]byte{"file": {doc}})
	return w.FormDataContentType(), buf.Bytes(), sig
}

// fakeSinch is Sinch's Fax API on loopback: it takes a send with the access
// key's Basic credentials, then posts FAX_COMPLETED to the callbackUrl
// faxgate gave (whose userinfo carries the webhook's Basic credentials),
// signed with the HMAC secret.
type fakeSinch struct {
	t                   *testing.T
	srv                 *httptest.Server
	keyID, secret, hmac string
	wg                  sync.WaitGroup
	n                   int
	mu                  sync.Mutex
}

func newFakeSinch(t *testing.T, keyID, secret, hmacSecret string) *fakeSinch {
	f := &fakeSinch{t: t, keyID: keyID, secret: secret, hmac: hmacSecret}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != f.keyID || p != f.secret {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/faxes") {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		fields := map[string]string{}
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			fields[p.FormName()] = string(b)
		}
		f.mu.Lock()
		f.n++
		id := fmt.Sprintf("01JSINCHFAKE%014d", f.n)
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"id": id, "direction": "OUTBOUND", "status": "QUEUED", "to": fields["to"]})
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			body, _ := json.Marshal(map[string]any{"event": "FAX_COMPLETED", "eventTime": "2026-11-23T10:00:00Z",
				"fax": map[string]any{"id": id, "direction": "OUTBOUND", "status": "COMPLETED", "numberOfPages": 1, "pagesSentSuccessfully": 1, "to": fields["to"]}})
			// Sinch retries an answer it did not like, as when the
			// callback beats faxgate's recording of the fax's Sinch id.
			code := 0
			for try := 0; try < 50 && code != 200; try++ {
				if try > 0 {
					time.Sleep(20 * time.Millisecond)
				}
				req, err := http.NewRequest("POST", fields["callbackUrl"], bytes.NewReader(body))
				if err != nil {
					t.Errorf("sinch callback URL: %v", err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Sinch-Signature", hmacHex(f.hmac, body))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Errorf("sinch callback: %v", err)
					return
				}
				resp.Body.Close()
				if code = resp.StatusCode; code != 200 && code != http.StatusServiceUnavailable {
					break
				}
			}
			if code != 200 {
				t.Errorf("sinch callback: got %d", code)
			}
		}()
	}))
	t.Cleanup(func() { f.wg.Wait(); f.srv.Close() })
	return f
}

func (f *fakeSinch) wait() { f.wg.Wait() }
