package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/provider/phaxio"
)

// formReceiver is a webhook endpoint on loopback that keeps the form each
// delivery posted (the gofax format).
type formReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	forms []url.Values
}

func newFormReceiver(t *testing.T) *formReceiver {
	r := &formReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		v, _ := url.ParseQuery(string(body))
		r.mu.Lock()
		r.forms = append(r.forms, v)
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// waitFor waits for the form whose key field is value.
func (r *formReceiver) waitFor(t *testing.T, key, value string) url.Values {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, f := range r.forms {
			if f.Get(key) == value {
				r.mu.Unlock()
				return f
			}
		}
		r.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no gofax-format delivery with %s=%s within 20s", key, value)
	return nil
}

// TestCarrierDetailsEndToEnd: the station id, caller id, transmission time
// and speed each carrier tells with a received fax are shown on the fax in
// the API, in its fax.received webhook (JSON) and in the gofax format, on
// SQLite and on PostgreSQL.
func TestCarrierDetailsEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testCarrierDetailsEndToEnd(t, "") })
	t.Run("postgres", func(t *testing.T) { testCarrierDetailsEndToEnd(t, freshDatabase(t)) })
}

func testCarrierDetailsEndToEnd(t *testing.T, databaseURL string) {
	pdf := samplePDF(t, 1)
	gofaxAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != "gofax-token" || r.URL.Path != "/v1.0/ReceiveFax/4851543/Document" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(base64.StdEncoding.EncodeToString(pdf))
	}))
	defer gofaxAPI.Close()
	spool := t.TempDir()
	tiff, err := os.ReadFile("../../internal/document/testdata/fax-g4-fine-2p.tif")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(spool, "in-7.tiff"), tiff, 0o600)
	opts := []gatewayOption{withEnv("FAXGATE_PUBLIC_URL", publicURL),
		withEnv("GOFAX_TOKEN", "gofax-token"), withEnv("GOFAX_BASE_URL", gofaxAPI.URL),
		withEnv("GOFAX_WEBHOOK_USER", "gofax"), withEnv("GOFAX_WEBHOOK_PASS", "pw"),
		withEnv("PHAXIO_WEBHOOK_TOKEN", "phaxio-token"), withEnv("PHAXIO_API_SECRET", "api-secret"),
		withEnv("SINCH_INBOUND_BASIC_USER", "sinch"), withEnv("SINCH_INBOUND_BASIC_PASS", "pw"),
		withEnv("ASTERISK_SPOOL_DIR", spool), withEnv("ASTERISK_INBOUND_SECRET", "internal-secret"),
		withEnv("ASTERISK_INBOUND_ALLOW", "127.0.0.1/32")}
	if databaseURL != "" {
		opts = append(opts, withEnv("FAXGATE_DATABASE_URL", databaseURL))
	}
	g := startGateway(t, opts...)
	hooks := newReceiver(t)
	g.endpoint(hooks, nil)
	forms := newFormReceiver(t)
	var ep struct{ ID string }
	if code := g.do("POST", "/v1/webhook-endpoints", map[string]any{"url": forms.srv.URL + "/gofax", "format": "gofax"}, &ep); code != http.StatusCreated {
		t.Fatalf("create gofax-format endpoint: got %d", code)
	}

	tests := []struct {
		name, to string
		post     func(to string) (int, string)
		want     map[string]any // the details the fax object must show; absent ones must be absent
	}{
		{"gofax", "+61712344321", func(to string) (int, string) {
			body := []byte("FaxID=4851543&Number=" + to[1:] + "&Message=COMPLETE&SenderFaxID=ACME+PTY+LTD&SenderISDNID=61311223344" +
				"&TransmissionTime=24&NumberOfPages=1&TransmissionSpeed=33600")
			return g.post("/gofax-inbound", "application/x-www-form-urlencoded", body,
				map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("gofax:pw"))})
		}, map[string]any{"station_id": "ACME PTY LTD", "duration_seconds": 24.0, "bit_rate": 33600.0}},
		{"phaxio", "+15559870011", func(to string) (int, string) {
			faxJSON := fmt.Sprintf(`{"id":507331077,"direction":"received","num_pages":1,"status":"success","caller_id":"Anonymous","to_number":%q}`, to)
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			w.WriteField("fax", faxJSON)
			w.WriteField("event_type", "fax_completed")
			fw, _ := w.CreateFormFile("file", "fax.pdf")
			fw.Write(pdf)
			w.Close()
			sig := phaxio.Sign("phaxio-token", publicURL+"/phaxio-inbound",
				map[string][]string{"fax": {faxJSON}, "event_type": {"fax_completed"}}, map[string][][]byte{"file": {pdf}})
			return g.post("/phaxio-inbound", w.FormDataContentType(), buf.Bytes(), map[string]string{"X-Phaxio-Signature": sig})
		}, map[string]any{"caller_id": "Anonymous"}},
		{"sinch", "+15559870012", func(to string) (int, string) {
			body, _ := json.Marshal(map[string]any{
				"event": "INCOMING_FAX", "eventTime": "2026-11-23T10:00:31Z", "fileType": "PDF", "file": base64.StdEncoding.EncodeToString(pdf),
				"fax": map[string]any{"id": "01JPBCH4K6N8Q0S2V4X6Z8B0D7", "direction": "INBOUND", "from": "Restricted", "to": to, "numberOfPages": 1, "status": "COMPLETED"},
			})
			return g.post("/sinch-inbound", "application/json", body,
				map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("sinch:pw"))})
		}, map[string]any{"caller_id": "Restricted"}},
		{"asterisk", "+15559870013", func(to string) (int, string) {
			body, _ := json.Marshal(map[string]any{"tiff_path": filepath.Join(spool, "in-7.tiff"), "to_number": to, "from_number": "+15551230000",
				"faxstatus": "SUCCESS", "faxpages": "2", "uniqueid": "1603261234.97", "remotestationid": "LAB FAX 2",
				"faxbitrate": "14400", "caller_id": "Front Desk <1000>", "duration": "31"})
			return g.post("/_internal/asterisk/inbound", "application/json", body, map[string]string{"X-Internal-Secret": "internal-secret"})
		}, map[string]any{"station_id": "LAB FAX 2", "caller_id": "Front Desk <1000>", "duration_seconds": 31.0, "bit_rate": 14400.0}},
	}
	fields := []string{"station_id", "caller_id", "duration_seconds", "bit_rate"}
	for i, tt := range tests {
		if code, resp := tt.post(tt.to); code != http.StatusOK {
			t.Fatalf("%s: webhook got %d %s", tt.name, code, resp)
		}
		in := g.waitInbound(i + 1)
		id := ""
		for _, f := range in {
			if f.To == tt.to {
				id = f.ID
			}
		}
		if id == "" {
			t.Fatalf("%s: no received fax to %s in %+v", tt.name, tt.to, in)
		}
		var got map[string]any
		g.do("GET", "/v1/faxes/"+id, nil, &got)
		ev := hooks.waitFor("fax.received", id)
		for _, k := range fields {
			if got[k] != tt.want[k] {
				t.Errorf("%s: API %s: got %v, want %v", tt.name, k, got[k], tt.want[k])
			}
			if ev.Data[k] != tt.want[k] {
				t.Errorf("%s: fax.received webhook %s: got %v, want %v", tt.name, k, ev.Data[k], tt.want[k])
			}
		}
		form := forms.waitFor(t, "FaxID", id)
		if want, _ := tt.want["station_id"].(string); form.Get("SenderFaxID") != want {
			t.Errorf("%s: gofax format SenderFaxID: got %q, want %q", tt.name, form.Get("SenderFaxID"), want)
		}
		if want := numberText(tt.want["duration_seconds"]); form.Get("TransmissionTime") != want {
			t.Errorf("%s: gofax format TransmissionTime: got %q, want %q", tt.name, form.Get("TransmissionTime"), want)
		}
		if want := numberText(tt.want["bit_rate"]); form.Get("TransmissionSpeed") != want {
			t.Errorf("%s: gofax format TransmissionSpeed: got %q, want %q", tt.name, form.Get("TransmissionSpeed"), want)
		}
	}
}

// numberText is a JSON number as GoFax writes it in a form, "" for none.
func numberText(v any) string {
	if f, ok := v.(float64); ok {
		return fmt.Sprint(int(f))
	}
	return ""
}

// TestPhaxioSendDetails: the speed Phaxio reports for a sent fax's
// recipient is on the fax in the API and in its fax.sent webhook.
func TestPhaxioSendDetails(t *testing.T) {
	fake := newFakePhaxio(t, "phaxio-webhook-token")
	g := phaxioGateway(t, fake)
	r := newReceiver(t)
	g.endpoint(r, nil)
	f := g.send("+15551234567", textDoc)
	if done := g.waitFax(f.ID); done.Status != "sent" {
		t.Fatalf("got %+v, want sent", done)
	}
	ev := r.waitFor("fax.sent", f.ID)
	var got map[string]any
	g.do("GET", "/v1/faxes/"+f.ID, nil, &got)
	if got["bit_rate"] != 14400.0 || ev.Data["bit_rate"] != 14400.0 {
		t.Errorf("bit_rate: API %v, fax.sent webhook %v; want 14400", got["bit_rate"], ev.Data["bit_rate"])
	}
}
