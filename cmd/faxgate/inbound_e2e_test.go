package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/phaxio"
)

const publicURL = "https://fax.example.com"

// post sends a carrier webhook without an API key.
func (g *gateway) post(path, ct string, body []byte, hdr map[string]string) (int, string) {
	g.t.Helper()
	req, _ := http.NewRequest("POST", g.url+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// inbound lists the received faxes whose document has settled (fetched or
// given up on); those still pending are left out, as the list left them out
// before received faxes were listed at once.
func (g *gateway) inbound() []faxObj {
	g.t.Helper()
	var l struct{ Data []faxObj }
	g.do("GET", "/v1/faxes?direction=inbound", nil, &l)
	settled := l.Data[:0]
	for _, f := range l.Data {
		if f.DocumentStatus != "pending" {
			settled = append(settled, f)
		}
	}
	return settled
}

func (g *gateway) waitInbound(n int) []faxObj {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if in := g.inbound(); len(in) >= n {
			return in
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.t.Fatalf("fewer than %d received faxes after 20s", n)
	return nil
}

func (g *gateway) audit(action string) []*fax.AuditEntry {
	g.t.Helper()
	es, _, err := g.m.Store.FindAudit(context.Background(), fax.AuditFilter{Action: action})
	if err != nil {
		g.t.Fatal(err)
	}
	return es
}

func samplePDF(t *testing.T, pages int) []byte {
	t.Helper()
	b, err := document.SamplePDF(pages, []string{"test"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// phaxioInbound builds a Phaxio received-fax webhook: multipart with the fax
// JSON, event_type and the PDF as file part, signed by Phaxio's scheme.
func phaxioInbound(t *testing.T, token string, id int, to string, pdf []byte) (ct string, body []byte, sig string) {
	t.Helper()
	faxJSON := fmt.Sprintf(`{"id":%d,"direction":"received","num_pages":2,"status":"success","from_number":"+15551230042","to_number":%q}`, id, to)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("fax", faxJSON)
	w.WriteField("event_type", "fax_completed")
	fw, _ := w.CreateFormFile("file", "fax.pdf")
	fw.Write(pdf)
	w.Close()
	sig = phaxio.Sign(token, publicURL+"/phaxio-inbound",
		map[string][]string{"fax": {faxJSON}, "event_type": {"fax_completed"}},
		map[string][][]byte{"file": {pdf}})
	return w.FormDataContentType(), buf.Bytes(), sig
}

func TestPhaxioInbound(t *testing.T) {
	g := startGateway(t, withEnv("FAXGATE_PUBLIC_URL", publicURL), withEnv("PHAXIO_WEBHOOK_TOKEN", "new-token,old-token"),
		withEnv("PHAXIO_API_SECRET", "api-secret"))
	bound := newReceiver(t)
	g.endpoint(bound, map[string]any{"numbers": []string{"+15559870001"}})
	pdf := samplePDF(t, 2)

	// Forgeries first: each is refused, stores nothing, and is audited.
	ct, body, sig := phaxioInbound(t, "wrong-token", 1, "+15559870001", pdf)
	for name, h := range map[string]map[string]string{
		"wrong token":      {"X-Phaxio-Signature": sig},
		"missing":          {},
		"truncated":        {"X-Phaxio-Signature": sig[:20]},
		"sha256 wrong key": {"X-Phaxio-Signature": hmacHex("other", body)},
	} {
		if code, _ := g.post("/phaxio-inbound", ct, body, h); code != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", name, code)
		}
	}
	if n := len(g.inbound()); n != 0 {
		t.Fatalf("forgeries stored %d faxes", n)
	}
	g.m.Rejections.Flush(context.Background())
	if es := g.audit("webhook.rejected"); len(es) != 1 || !strings.HasPrefix(es[0].Detail, "4 refused") {
		t.Errorf("got %d audit records of refused webhooks, want 1 counting 4", len(es))
	}

	// Signed with the rotated-out token: still accepted.
	ct, body, sig = phaxioInbound(t, "old-token", 507331045, "+15559870001", pdf)
	for i := 0; i < 3; i++ { // the carrier retries: one fax
		if code, resp := g.post("/phaxio-inbound", ct, body, map[string]string{"X-Phaxio-Signature": sig}); code != 200 {
			t.Fatalf("signed webhook: got %d %s", code, resp)
		}
	}
	in := g.inbound()
	if len(in) != 1 || in[0].Status != "received" || in[0].Pages != 2 || in[0].To != "+15559870001" {
		t.Fatalf("got %+v, want one received fax of 2 pages", in)
	}
	var got []byte
	g.do("GET", "/v1/faxes/"+in[0].ID+"/document", nil, &got)
	if !bytes.Equal(got, pdf) {
		t.Errorf("document: got %d bytes, want the %d-byte PDF the carrier sent", len(got), len(pdf))
	}
	if ev := bound.waitFor("fax.received", in[0].ID); !ev.Valid {
		t.Error("fax.received signature did not verify")
	}

	// The raw-body HMAC-SHA256 scheme verifies too.
	ct, body, _ = phaxioInbound(t, "x", 507331046, "+15559870002", pdf)
	if code, resp := g.post("/phaxio-inbound", ct, body, map[string]string{"X-Phaxio-Signature": hmacHex("api-secret", body)}); code != 200 {
		t.Fatalf("sha256-signed webhook: got %d %s", code, resp)
	}
	if n := len(g.inbound()); n != 2 {
		t.Errorf("got %d received faxes, want 2", n)
	}
	// Malformed but signed: 400, nothing stored.
	bad := []byte("--x\r\nContent-Disposition: form-data; name=\"fax\"\r\n\r\n{not json\r\n--x--\r\n")
	if code, _ := g.post("/phaxio-inbound", "multipart/form-data; boundary=x", bad, map[string]string{"X-Phaxio-Signature": hmacHex("api-secret", bad)}); code != 400 {
		t.Errorf("malformed: got %d, want 400", code)
	}
}

func hmacHex(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// TestPhaxioInboundFileURL: a file_url on the carrier's file hosts is fetched
// in the background with the carrier's credentials; any other host is never
// contacted, and the reception is still recorded (partial, no document).
func TestPhaxioInboundFileURL(t *testing.T) {
	pdf := samplePDF(t, 3)
	var hits, other atomic.Int32
	var auth atomic.Value
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusNotFound) // not ready yet: retried
			return
		}
		auth.Store(r.Header.Get("Authorization"))
		w.Write(pdf)
	}))
	defer files.Close()
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { other.Add(1) }))
	defer elsewhere.Close()
	clock := newTestClock()
	g := startGateway(t, withClock(clock), withEnv("FAXGATE_PUBLIC_URL", publicURL), withEnv("PHAXIO_API_KEY", "key"),
		withEnv("PHAXIO_API_SECRET", "api-secret"), withEnv("PHAXIO_FILE_HOSTS", "127.0.0.1"))
	post := func(id int, fileURL string) {
		body := []byte(fmt.Sprintf(`{"fax":{"id":%d,"from":"+15551230007","to":"+15559870002","num_pages":3,"status":"received","file_url":%q}}`, id, fileURL))
		if code, resp := g.post("/phaxio-inbound", "application/json", body, map[string]string{"X-Phaxio-Signature": hmacHex("api-secret", body)}); code != 200 {
			t.Fatalf("got %d %s", code, resp)
		}
	}
	post(98761, files.URL+"/phaxio/98761.pdf")
	// The first fetch gets a 404; after the retry wait it succeeds. The
	// clock moves past the wait until the retry comes: the failure may be
	// recorded after a move, against the later time.
	deadline := time.Now().Add(20 * time.Second)
	for hits.Load() < 2 && time.Now().Before(deadline) {
		if hits.Load() == 1 {
			clock.Advance(2 * time.Minute)
		}
		time.Sleep(20 * time.Millisecond)
	}
	in := g.waitInbound(1)
	if in[0].Status != "received" || in[0].Pages != 3 {
		t.Fatalf("got %+v", in[0])
	}
	if a, _ := auth.Load().(string); a != "Basic "+base64.StdEncoding.EncodeToString([]byte("key:api-secret")) {
		t.Errorf("file fetched with Authorization %q, want the carrier's Basic credentials", a)
	}
	// A file_url elsewhere (localhost is not in PHAXIO_FILE_HOSTS) is refused.
	u, _ := url.Parse(elsewhere.URL)
	post(98762, "http://localhost:"+u.Port()+"/steal")
	in = g.waitInbound(2)
	if other.Load() != 0 {
		t.Error("faxgate fetched a file_url outside the carrier's hosts")
	}
	if in[0].Status != "partial" || in[0].Error == nil || in[0].Error.Code != "document_unavailable" {
		t.Errorf("got %+v, want partial with document_unavailable", in[0])
	}
	var e errorBody
	if code := g.do("GET", "/v1/faxes/"+in[0].ID+"/document", nil, &e); code != 404 {
		t.Errorf("document of a fax without one: got %d", code)
	}
}

func TestSinchInbound(t *testing.T) {
	g := startGateway(t, withEnv("SINCH_INBOUND_BASIC_USER", "sinch"), withEnv("SINCH_INBOUND_BASIC_PASS", "pw"),
		withEnv("SINCH_INBOUND_HMAC_SECRET", "hmac-secret"))
	pdf := samplePDF(t, 1)
	body, _ := json.Marshal(map[string]any{
		"event": "INCOMING_FAX", "eventTime": "2026-11-23T10:00:31Z", "fileType": "PDF",
		"file": base64.StdEncoding.EncodeToString(pdf),
		"fax":  map[string]any{"id": "01JPBCH4K6N8Q0S2V4X6Z8B0D3", "direction": "INBOUND", "from": "+15551230000", "to": "+15559870001", "numberOfPages": 1, "status": "COMPLETED"},
	})
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("sinch:pw"))
	for name, h := range map[string]map[string]string{
		"no auth":        {"X-Sinch-Signature": hmacHex("hmac-secret", body)},
		"wrong password": {"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("sinch:nope")), "X-Sinch-Signature": hmacHex("hmac-secret", body)},
		"no signature":   {"Authorization": basic},
		"phaxio secret":  {"Authorization": basic, "X-Sinch-Signature": hmacHex("api-secret", body)},
	} {
		if code, _ := g.post("/sinch-inbound", "application/json", body, h); code != 401 {
			t.Errorf("%s: got %d, want 401", name, code)
		}
	}
	ok := map[string]string{"Authorization": basic, "X-Sinch-Signature": hmacHex("hmac-secret", body)}
	for i := 0; i < 2; i++ {
		if code, resp := g.post("/sinch-inbound", "application/json", body, ok); code != 200 {
			t.Fatalf("got %d %s", code, resp)
		}
	}
	in := g.inbound()
	if len(in) != 1 || in[0].Status != "received" || in[0].Provider != "sinch" {
		t.Fatalf("got %+v", in)
	}
}

func TestGoFaxInbound(t *testing.T) {
	pdf := samplePDF(t, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != "gofax-token" || r.URL.Path != "/v1.0/ReceiveFax/4851543/Document" {
			w.WriteHeader(401)
			return
		}
		json.NewEncoder(w).Encode(base64.StdEncoding.EncodeToString(pdf))
	}))
	defer api.Close()
	g := startGateway(t, withEnv("GOFAX_TOKEN", "gofax-token"), withEnv("GOFAX_BASE_URL", api.URL),
		withEnv("GOFAX_WEBHOOK_USER", "gofax"), withEnv("GOFAX_WEBHOOK_PASS", "pw"))
	body := []byte("FaxID=4851543&Number=61712344321&Message=COMPLETE&SenderFaxID=0311223344&SenderISDNID=61311223344&TransmissionTime=24&NumberOfPages=1&TransmissionSpeed=33600")
	if code, _ := g.post("/gofax-inbound", "application/x-www-form-urlencoded", body, nil); code != 401 {
		t.Errorf("unauthenticated: got %d, want 401", code)
	}
	auth := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("gofax:pw"))}
	if code, resp := g.post("/gofax-inbound", "application/x-www-form-urlencoded", body, auth); code != 200 {
		t.Fatalf("got %d %s", code, resp)
	}
	in := g.waitInbound(1)
	if in[0].Status != "received" || in[0].To != "+61712344321" || in[0].Provider != "gofax" {
		t.Fatalf("got %+v", in[0])
	}
	var got []byte
	g.do("GET", "/v1/faxes/"+in[0].ID+"/document", nil, &got)
	if !bytes.Equal(got, pdf) {
		t.Errorf("document: got %d bytes, want %d", len(got), len(pdf))
	}
}

func TestAsteriskInbound(t *testing.T) {
	spool := t.TempDir()
	tiff, err := os.ReadFile("../../internal/document/testdata/fax-g4-fine-2p.tif")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(spool, "in-1.tiff"), tiff, 0o600)
	outside := filepath.Join(t.TempDir(), "secret.tiff")
	os.WriteFile(outside, tiff, 0o600)
	g := startGateway(t, withEnv("ASTERISK_SPOOL_DIR", spool), withEnv("ASTERISK_INBOUND_SECRET", "internal-secret"),
		withEnv("ASTERISK_INBOUND_ALLOW", "127.0.0.1/32"))
	post := func(path, secret string) (int, string) {
		body, _ := json.Marshal(map[string]any{"tiff_path": path, "to_number": "+15559870000", "from_number": "+15551230000",
			"faxstatus": "SUCCESS", "faxpages": "2", "uniqueid": "1603261234.89"})
		return g.post("/_internal/asterisk/inbound", "application/json", body, map[string]string{"X-Internal-Secret": secret})
	}
	if code, _ := post(filepath.Join(spool, "in-1.tiff"), "wrong"); code != 401 {
		t.Errorf("wrong secret: got %d, want 401", code)
	}
	for _, p := range []string{outside, spool + "/../" + filepath.Base(filepath.Dir(outside)) + "/secret.tiff", "../../etc/passwd"} {
		if code, _ := post(p, "internal-secret"); code != 400 {
			t.Errorf("tiff_path %s: got %d, want 400", p, code)
		}
	}
	if code, resp := post(filepath.Join(spool, "in-1.tiff"), "internal-secret"); code != 200 {
		t.Fatalf("got %d %s", code, resp)
	}
	in := g.waitInbound(1)
	if in[0].Status != "received" || in[0].Pages != 2 || in[0].Provider != "asterisk" {
		t.Fatalf("got %+v", in[0])
	}
	var got []byte
	g.do("GET", "/v1/faxes/"+in[0].ID+"/document", nil, &got)
	if !strings.HasPrefix(string(got), "%PDF-") {
		t.Errorf("the TIFF was not served as PDF")
	}
	if n, err := document.PageCount(got); err != nil || n != 2 {
		t.Errorf("PDF pages: got %d %v, want 2", n, err)
	}
}
