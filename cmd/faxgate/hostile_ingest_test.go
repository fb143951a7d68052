package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hostileIngestEnv configures every carrier of a faxgate serve process, so
// that each webhook route runs its real verification.
func hostileIngestEnv(t *testing.T, public string) []string {
	spool := filepath.Join(t.TempDir(), "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		t.Fatal(err)
	}
	return []string{
		"FAXGATE_PUBLIC_URL=" + public,
		"PHAXIO_API_KEY=" + hPhaxioKey, "PHAXIO_API_SECRET=" + hPhaxioSecret, "PHAXIO_WEBHOOK_TOKEN=" + hPhaxioToken,
		"SINCH_INBOUND_BASIC_USER=" + hSinchUser, "SINCH_INBOUND_BASIC_PASS=" + hSinchPass, "SINCH_INBOUND_HMAC_SECRET=" + hSinchHMAC,
		"GOFAX_TOKEN=" + hGoFaxToken, "GOFAX_WEBHOOK_USER=" + hGoFaxUser, "GOFAX_WEBHOOK_PASS=" + hGoFaxPass,
		// Nothing listens there: a received GoFax fax's fetch fails and is retried.
		"GOFAX_BASE_URL=http://127.0.0.1:9",
		"ASTERISK_SPOOL_DIR=" + spool, "ASTERISK_INBOUND_SECRET=" + hAsteriskKey,
	}
}

// vmRSS is the process's resident set in bytes, from /proc.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to read the resident set from: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// dialFrom connects to addr from the loopback address local, so that a
// test can be two sources on one machine.
func dialFrom(local, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// headersOnly opens a connection from local that announces a body of
// length bytes on path and sends none of it. It carries signature headers
// of the right shape (not the right value), so that a route verifying the
// body has to wait for the body before refusing it.
func headersOnly(local, addr, path string, length int64) (net.Conn, error) {
	c, err := dialFrom(local, addr)
	if err != nil {
		return nil, err
	}
	sig := strings.Repeat("ab", 32)
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"+
		"X-Phaxio-Signature: %s\r\nX-Sinch-Signature: %s\r\nContent-Length: %d\r\n\r\n", path, addr, sig, sig, length)
	return c, nil
}

// TestHostileIngestMemory replays the review's attack on a running
// gateway: rounds of 25 connections a route that announce 40 MiB bodies and
// send nothing. Then the same class with bodies: connections from three
// sources that announce the document routes' limit (20 MiB by default) and
// send it all under a signature of the right shape. The gateway's resident
// set must grow by less than 64 MB, and signed carrier webhooks from
// another source must still be answered 200 while the attack holds its
// connections.
func TestHostileIngestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway process")
	}
	bin := buildBinary(t)
	addr := freeAddr(t)
	public := "http://" + addr
	p := startProcess(t, bin, t.TempDir(), addr, hostileIngestEnv(t, public)...)
	pid := p.cmd.Process.Pid

	// A carrier of its own: the attack comes from 127.0.0.1-3, the
	// carrier from 127.0.0.100.
	carrier := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) { return dialFrom("127.0.0.100", a) },
	}}
	pdf := samplePDF(t, 1)
	signedID := 910000
	signed := func(t *testing.T) {
		t.Helper()
		signedID++
		ct, body, sig := phaxioInboundSigned(hPhaxioToken, public+"/phaxio-inbound", signedID, "+15557650020", pdf)
		req, _ := http.NewRequest("POST", public+"/phaxio-inbound", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("X-Phaxio-Signature", sig)
		resp, err := carrier.Do(req)
		if err != nil {
			t.Fatalf("signed Phaxio webhook during the attack: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("signed Phaxio webhook during the attack: got %d, want 200", resp.StatusCode)
		}
		form := fmt.Sprintf("FaxID=%d&Number=61755550123&Message=COMPLETE&NumberOfPages=1", signedID)
		req, _ = http.NewRequest("POST", public+"/gofax-inbound", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(hGoFaxUser, hGoFaxPass)
		resp, err = carrier.Do(req)
		if err != nil {
			t.Fatalf("GoFax webhook with Basic auth during the attack: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GoFax webhook with Basic auth during the attack: got %d, want 200", resp.StatusCode)
		}
	}
	signed(t)
	before := vmRSS(t, pid)
	peak := before
	// answered waits until each connection has its answer (refused, too
	// large, too busy) or is held waiting for the rest of its body.
	answered := func(conns []net.Conn, wait time.Duration) {
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.SetReadDeadline(time.Now().Add(wait))
				bufio.NewReader(c).ReadString('\n')
			}()
		}
		wg.Wait()
	}

	routes := []string{"/phaxio-inbound", "/gofax-inbound", "/sinch-inbound", "/_internal/asterisk/inbound"}
	for round := range 5 {
		var conns []net.Conn
		for _, path := range routes {
			for range 25 {
				c, err := headersOnly("127.0.0.1", addr, path, 41943040)
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				conns = append(conns, c)
			}
		}
		signed(t)
		answered(conns, time.Second)
		peak = max(peak, vmRSS(t, pid))
		for _, c := range conns {
			c.Close()
		}
	}
	t.Logf("resident set: %d MB before, %d MB at the peak of the headers-only attack", before>>20, peak>>20)

	const limit = 20 << 20 // FAXGATE_CARRIER_MAX_BODY_BYTES's default
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	for round := range 3 {
		var conns []net.Conn
		var sent sync.WaitGroup
		for src := 1; src <= 3; src++ {
			for _, path := range []string{"/phaxio-inbound", "/sinch-inbound"} {
				for range 4 {
					c, err := headersOnly(fmt.Sprintf("127.0.0.%d", src), addr, path, limit)
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
					conns = append(conns, c)
					sent.Add(1)
					go func() {
						defer sent.Done()
						c.SetWriteDeadline(time.Now().Add(10 * time.Second))
						for range limit / len(chunk) {
							if _, err := c.Write(chunk); err != nil {
								return
							}
						}
					}()
				}
			}
		}
		stop := make(chan struct{})
		sampled := make(chan int64)
		go func() {
			top := int64(0)
			for {
				select {
				case <-stop:
					sampled <- top
					return
				case <-time.After(20 * time.Millisecond):
					top = max(top, vmRSS(t, pid))
				}
			}
		}()
		signed(t)
		sent.Wait()
		answered(conns, 10*time.Second)
		close(stop)
		peak = max(peak, <-sampled, vmRSS(t, pid))
		for _, c := range conns {
			c.Close()
		}
	}
	signed(t)
	peak = max(peak, vmRSS(t, pid))
	t.Logf("resident set: %d MB before, %d MB at the peak", before>>20, peak>>20)
	if grew := peak - before; grew >= 64<<20 {
		t.Errorf("resident set grew by %d MB under the attack, want less than 64 MB", grew>>20)
	}
}

// TestHostileIngestGoFaxTokenScope: fax X's callback token, with another
// fax's GoFax ID in the fields, must neither touch that fax nor spend its
// event: the genuine callback, through the fax's own CallbackURL or the
// account webhook, still applies.
func TestHostileIngestGoFaxTokenScope(t *testing.T) {
	t.Parallel()
	fake := newFakeGoFax(t, "gofax-token", false)
	g := gofaxGateway(t, fake, withEnv("GOFAX_WEBHOOK_USER", "gofax-hook"), withEnv("GOFAX_WEBHOOK_PASS", "hook-pass"))
	x := g.send("+61755550131", textDoc)
	y := g.send("+61755550132", textDoc)
	z := g.send("+61755550133", textDoc)
	for _, f := range []faxObj{x, y, z} {
		g.waitHanded(f.ID)
	}
	sends := map[string]gofaxSend{}
	for _, s := range fake.requests() {
		u, _ := url.Parse(s.CallbackURL)
		sends[u.Query().Get("job_id")] = s
	}
	sx, sy, sz := sends[x.ID], sends[y.ID], sends[z.ID]
	for _, victim := range []gofaxSend{sy, sz} {
		// X's own CallbackURL (its job_id and token), the victim's ID.
		if code := gofaxCallback(t, sx.CallbackURL, gofaxFields(victim, true, "Fax successfully sent"), true, ""); code != http.StatusOK {
			t.Fatalf("forged with X's token: got %d, want 200 (unknown_fax)", code)
		}
	}
	for _, f := range []faxObj{x, y, z} {
		var got faxObj
		g.do("GET", "/v1/faxes/"+f.ID, nil, &got)
		if got.Status != "sending" {
			t.Errorf("fax %s: got %s after the forged callbacks, want still sending", f.ID, got.Status)
		}
	}
	if code := gofaxCallback(t, sy.CallbackURL, gofaxFields(sy, true, "Fax successfully sent"), true, ""); code != http.StatusOK {
		t.Fatalf("Y's genuine callback: got %d, want 200", code)
	}
	if code := gofaxCallback(t, g.url+"/gofax-callback", gofaxFields(sz, true, "Fax successfully sent"), false, basicAuth("gofax-hook", "hook-pass")); code != http.StatusOK {
		t.Fatalf("Z's genuine account webhook: got %d, want 200", code)
	}
	for _, f := range []faxObj{y, z} {
		if got := g.waitFax(f.ID); got.Status != "sent" {
			t.Errorf("fax %s: got %s, want sent: a forged callback spent its event", f.ID, got.Status)
		}
	}
}

// TestHostileIngestFailedReception: a reception the carrier reports as
// failed with no pages is recorded (partial, no document, an error saying
// why), emits fax.received, is listed, answers the carrier 200 once and
// "duplicate" after, and its document answers 404 in the error shape.
func TestHostileIngestFailedReception(t *testing.T) {
	t.Parallel()
	spool := t.TempDir()
	g := startGateway(t,
		withEnv("GOFAX_TOKEN", hGoFaxToken), withEnv("GOFAX_WEBHOOK_USER", hGoFaxUser), withEnv("GOFAX_WEBHOOK_PASS", hGoFaxPass),
		withEnv("GOFAX_BASE_URL", "http://127.0.0.1:9"),
		withEnv("ASTERISK_SPOOL_DIR", spool), withEnv("ASTERISK_INBOUND_SECRET", hAsteriskKey))
	gofaxBody := []byte("FaxID=88001&Number=61298765432&Message=INCOMPLETE&NumberOfPages=0&SenderISDNID=61398761234")
	gofaxAuth := map[string]string{"Authorization": basic(hGoFaxUser, hGoFaxPass)}
	asteriskBody := []byte(`{"to_number":"+15557650030","from_number":"+15557650031","faxstatus":"FAILED","faxpages":0,"uniqueid":"1700000000.77"}`)
	asteriskAuth := map[string]string{"X-Internal-Secret": hAsteriskKey}
	for _, tc := range []struct {
		name, path, ct, carrierID string
		body                      []byte
		hdr                       map[string]string
	}{
		{"gofax", "/gofax-inbound", "application/x-www-form-urlencoded", "88001", gofaxBody, gofaxAuth},
		{"asterisk", "/_internal/asterisk/inbound", "application/json", "1700000000.77", asteriskBody, asteriskAuth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, resp := g.post(tc.path, tc.ct, tc.body, tc.hdr)
			if code != http.StatusOK || !strings.Contains(resp, `"applied"`) {
				t.Fatalf("failed reception: got %d %s, want 200 applied", code, resp)
			}
			if code, resp := g.post(tc.path, tc.ct, tc.body, tc.hdr); code != http.StatusOK || !strings.Contains(resp, `"duplicate"`) {
				t.Errorf("repeated: got %d %s, want 200 duplicate", code, resp)
			}
			var list struct{ Data []faxObj }
			g.do("GET", "/v1/faxes?direction=inbound&limit=100", nil, &list)
			var found []faxObj
			for _, f := range list.Data {
				if f.Provider == tc.name && f.ProviderFaxID != nil && *f.ProviderFaxID == tc.carrierID {
					found = append(found, f)
				}
			}
			if len(found) != 1 {
				t.Fatalf("got %d listed faxes for the failed reception, want 1", len(found))
			}
			f := found[0]
			if f.Status != "partial" || f.Error == nil || f.Error.Code != "reception_failed" || f.Error.Message == "" {
				t.Errorf("got %+v (error %+v), want partial with error reception_failed", f, f.Error)
			}
			if n := g.eventCounts(f.ID)["fax.received"]; n != 1 {
				t.Errorf("got %d fax.received events, want 1", n)
			}
			var e errorBody
			if code := g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, &e); code != http.StatusNotFound || e.Error.Code != "not_found" || !strings.Contains(e.Error.Message, "no document") {
				t.Errorf("document: got %d %+v, want 404 not_found saying there is no document", code, e)
			}
		})
	}
}

// TestHostileIngestPhaxioBodySignature: Phaxio's raw-body HMAC-SHA256 does
// not cover the URL, so a body it signed must name the job's fax. A signed
// body naming no fax, or another fax, is refused with 401 on every job_id,
// and neither fax moves; the body naming the job's own fax applies.
func TestHostileIngestPhaxioBodySignature(t *testing.T) {
	t.Parallel()
	quiet := newQuietCarrier(t)
	addr := freeAddr(t)
	g := startGateway(t, withEnv("FAXGATE_ADDR", addr), withEnv("FAXGATE_PUBLIC_URL", "http://"+addr),
		withEnv("PHAXIO_API_KEY", hPhaxioKey), withEnv("PHAXIO_API_SECRET", hPhaxioSecret),
		withEnv("PHAXIO_WEBHOOK_TOKEN", hPhaxioToken), withEnv("PHAXIO_BASE_URL", quiet.srv.URL+"/v2.1"))
	send := func(to string) faxObj {
		var f faxObj
		if code := g.do("POST", "/v1/faxes", multipartSend(map[string]string{"to": to, "provider": "phaxio"}, textDoc), &f); code != http.StatusAccepted {
			t.Fatalf("send: got %d", code)
		}
		return f
	}
	a, b := send("+15557650041"), send("+15557650042")
	a, b = g.waitHanded(a.ID), g.waitHanded(b.ID)
	post := func(jobID string, body []byte) (int, string) {
		return g.post("/phaxio-callback?job_id="+jobID, "application/x-www-form-urlencoded", body,
			map[string]string{"X-Phaxio-Signature": hmacHex(hPhaxioSecret, body)})
	}
	noID := []byte("fax[status]=failure&fax[num_pages]=1")
	namesA := []byte("fax[id]=" + *a.ProviderFaxID + "&fax[status]=failure&fax[num_pages]=1")
	for _, tc := range []struct {
		name, job string
		body      []byte
	}{
		{"no fax.id, job A", a.ID, noID},
		{"no fax.id, job B", b.ID, noID},
		{"A's fax.id, job B", b.ID, namesA},
		{"A's fax.id, no such job", "fax_01M00000000000000000000000", namesA},
	} {
		var e errorBody
		code, resp := post(tc.job, tc.body)
		json.Unmarshal([]byte(resp), &e)
		if code != http.StatusUnauthorized || e.Error.Code != "unauthorized" {
			t.Errorf("%s: got %d %s, want 401 unauthorized", tc.name, code, resp)
		}
	}
	for _, f := range []faxObj{a, b} {
		var got faxObj
		g.do("GET", "/v1/faxes/"+f.ID, nil, &got)
		if got.Status != "sending" {
			t.Errorf("fax %s: got %s after replayed bodies, want still sending", f.ID, got.Status)
		}
	}
	if code, resp := post(a.ID, namesA); code != http.StatusOK {
		t.Fatalf("A's own body on job A: got %d %s, want 200", code, resp)
	}
	if got := g.waitFax(a.ID); got.Status != "failed" {
		t.Errorf("fax A: got %s, want failed", got.Status)
	}
}

// TestHostileIngestAuditFlood: 1,000 unsigned webhooks from one source add
// a handful of audit rows (one per route and source, with the count), and
// the metric counts every one. The rows are read from the database after
// a graceful stop, which writes what is pending.
func TestHostileIngestAuditFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway process")
	}
	bin := buildBinary(t)
	addr := freeAddr(t)
	dir := t.TempDir()
	p := startProcess(t, bin, dir, addr, hostileIngestEnv(t, "http://"+addr)...)
	for i := range 1000 {
		path := "/phaxio-inbound"
		if i%2 == 1 {
			path = "/sinch-inbound"
		}
		resp, err := http.Post(p.url+path, "application/json", strings.NewReader(`{"fax":{"id":1}}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unsigned webhook %d: got %d, want 401", i, resp.StatusCode)
		}
	}
	_, metrics := p.request("GET", "/metrics", "", nil)
	for _, want := range []string{
		`faxgate_carrier_webhooks_total{carrier="phaxio",outcome="rejected"} 500`,
		`faxgate_carrier_webhooks_total{carrier="sinch",outcome="rejected"} 500`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, p.logs)
	}
	db := openReadOnly(t, filepath.Join(dir, "faxgate.db"))
	rows, err := db.Query(`SELECT target_id, remote_addr, detail FROM audit WHERE action = 'webhook.rejected'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, counted := 0, 0
	for rows.Next() {
		var route, source, detail string
		if err := rows.Scan(&route, &source, &detail); err != nil {
			t.Fatal(err)
		}
		n++
		if c, _, ok := strings.Cut(detail, " refused"); ok {
			k, _ := strconv.Atoi(c)
			counted += k
		}
		if strings.Contains(source, ":") {
			t.Errorf("audit source %q: want the address without its port", source)
		}
	}
	if n > 4 {
		t.Errorf("got %d audit rows for 1,000 refused webhooks from one source, want at most a handful", n)
	}
	if counted != 1000 {
		t.Errorf("audit rows count %d refusals, want 1000", counted)
	}
}

// TestHostileIngestGoFaxTokenOnSMS: a fax's callback token, posted to the
// SMS webhook with an SMS's GoFax ID, must not spend that SMS's event.
func TestHostileIngestGoFaxTokenOnSMS(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var callbackURL string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct{ CallbackURL string }
		json.NewDecoder(r.Body).Decode(&req)
		switch r.URL.Path {
		case "/v1.0/SendFax":
			mu.Lock()
			callbackURL = req.CallbackURL
			mu.Unlock()
			fmt.Fprint(w, `{"Success":true,"Response":100597950}`)
		case "/v1.0/SMS":
			fmt.Fprint(w, `{"Success":true,"Response":52410950}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(api.Close)
	addr := freeAddr(t)
	g := startGateway(t, withEnv("FAXGATE_ADDR", addr), withEnv("FAXGATE_PUBLIC_URL", "http://"+addr),
		withEnv("GOFAX_TOKEN", "gofax-token"), withEnv("GOFAX_BASE_URL", api.URL),
		withEnv("GOFAX_WEBHOOK_USER", "gofax-hook"), withEnv("GOFAX_WEBHOOK_PASS", "hook-pass"))
	var x faxObj
	if code := g.do("POST", "/v1/faxes", multipartSend(map[string]string{"to": "+61755550141", "provider": "gofax"}, textDoc), &x); code != http.StatusAccepted {
		t.Fatalf("send fax: got %d", code)
	}
	g.waitHanded(x.ID)
	var m struct{ ID, Status string }
	if code := g.do("POST", "/v1/sms", map[string]any{"to": "+61412121250", "text": "hello"}, &m); code != http.StatusAccepted {
		t.Fatalf("send sms: got %d", code)
	}
	mu.Lock()
	u, err := url.Parse(callbackURL)
	mu.Unlock()
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("fax CallbackURL %q: want a token", callbackURL)
	}
	forged := url.Values{"job_id": {x.ID}, "token": {u.Query().Get("token")}, "ID": {"52410950"}, "Success": {"True"}}
	if code, resp := g.post("/gofax-sms-callback?"+forged.Encode(), "application/x-www-form-urlencoded", nil, nil); code == http.StatusOK && strings.Contains(resp, `"applied"`) {
		t.Fatalf("fax token on the SMS webhook: got %d %s, want no SMS touched", code, resp)
	}
	genuine := []byte("Recipient=61412121250&ID=52410950&Success=True&Message=Message+successfully+delivered")
	code, resp := g.post("/gofax-sms-callback", "application/x-www-form-urlencoded", genuine, map[string]string{"Authorization": basic("gofax-hook", "hook-pass")})
	if code != http.StatusOK || !strings.Contains(resp, `"applied"`) {
		t.Fatalf("genuine SMS webhook after the forged one: got %d %s, want applied", code, resp)
	}
	g.do("GET", "/v1/sms/"+m.ID, nil, &m)
	if m.Status != "sent" {
		t.Errorf("sms: got %s, want sent", m.Status)
	}
}
