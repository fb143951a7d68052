package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/phaxio"
	"github.com/google/go-cmp/cmp"
)

// TestPhaxioFormatDelivery sends a failed fax in the phaxio format to a real
// receiver and checks it as a Phaxio receiver would: the form, the fax JSON,
// and X-Phaxio-Signature recomputed by hand over the URL as registered (its
// query included, its userinfo not).
func TestPhaxioFormatDelivery(t *testing.T) {
	rc := newReceiver(t)
	store, clock := newFakeStore(), newFakeClock()
	registered := rc.srv.URL + "/phaxio-callback?job_id=fax_01JDZ3W0000000000000000000&customer=42"
	job := formatJob("dlv_1", withUserinfo(registered, "alice", "pw"), fax.FormatPhaxio,
		faxEvent(t, fax.EventFaxFailed, outboundFax(fax.StatusFailed), 0, 0))
	store.add(job)
	mustDeliverOnce(t, newTestWorker(store, clock, Options{}), 1)
	if d := store.delivery(t, "dlv_1"); d.Status != fax.DeliverySucceeded {
		t.Fatalf("delivery %s (%+v), want succeeded", d.Status, d.Attempts)
	}
	reqs := rc.got()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPost || r.uri != "/phaxio-callback?job_id=fax_01JDZ3W0000000000000000000&customer=42" {
		t.Errorf("request %s %s", r.method, r.uri)
	}
	if !r.auth || r.user != "alice" || r.pass != "pw" {
		t.Errorf("Basic auth %v %q %q, want alice/pw from the userinfo", r.auth, r.user, r.pass)
	}
	form := parseMultipart(t, r)
	if want := phaxioSignatureByHand(testSecret, registered, form); r.header.Get("X-Phaxio-Signature") != want {
		t.Errorf("X-Phaxio-Signature = %q, want %q (computed by hand)", r.header.Get("X-Phaxio-Signature"), want)
	}
	checkStandardHeaders(t, r, testSecret, job.Event.ID, clock.Now())

	flat := map[string]string{}
	for k, v := range form.Value {
		if len(v) != 1 {
			t.Errorf("field %s sent %d times, want once", k, len(v))
		}
		flat[k] = v[0]
	}
	faxJSON := flat["fax"]
	delete(flat, "fax")
	if diff := cmp.Diff(map[string]string{
		"event_type": "fax_completed", "success": "false", "direction": "sent", "is_test": "false",
	}, flat); diff != "" {
		t.Errorf("form fields (-want +got):\n%s", diff)
	}
	if len(form.File) != 0 {
		t.Errorf("file parts %v, want none", form.File)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(faxJSON), &got); err != nil {
		t.Fatalf("fax field is not JSON: %v\n%s", err, faxJSON)
	}
	want := map[string]any{
		"id": "fax_01JDZ3W0000000000000000000", "direction": "sent", "num_pages": 3.0, "status": "failure",
		"is_test": false, "created_at": "2026-11-02T08:29:01.250+00:00", "caller_id": "+14155550100",
		"from_number": "+14155550100", "completed_at": "2026-11-02T08:30:31.250+00:00", "cost": nil,
		"tags": map[string]any{}, "to_number": "+61755550123", "error_id": 17.0, "error_type": "lineError",
		"error_message": "Busy", "barcodes": []any{},
		"recipients": []any{map[string]any{
			"phone_number": "+61755550123", "status": "failure", "retry_count": 0.0,
			"completed_at": "2026-11-02T08:30:31.250+00:00", "bitrate": nil, "resolution": nil,
			"error_type": "lineError", "error_id": 17.0, "error_message": "Busy",
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fax object (-want +got):\n%s", diff)
	}
}

// TestPhaxioFormatParsesAsPhaxio feeds phaxio-format deliveries to faxgate's
// own Phaxio webhook adapter, which was written against Phaxio's real
// webhooks: it must verify the signature and read the same fax back.
func TestPhaxioFormatParsesAsPhaxio(t *testing.T) {
	const base = "https://fax.example.com"
	p, err := phaxio.New(phaxio.Config{WebhookTokens: []string{testSecret}, PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	now := newFakeClock().Now()
	replay := func(t *testing.T, job fax.DeliveryJob) (*http.Request, []byte) {
		t.Helper()
		req := buildFor(t, job, now)
		body := mustRead(t, req)
		in := httptest.NewRequest(http.MethodPost, req.URL.RequestURI(), strings.NewReader(string(body)))
		in.Header = req.Header.Clone()
		if err := p.VerifyWebhook(in, body); err != nil {
			t.Fatalf("phaxio.VerifyWebhook: %v", err)
		}
		return in, body
	}

	t.Run("callback", func(t *testing.T) {
		for _, tt := range []struct {
			ev   fax.Event
			want fax.Update
		}{
			{faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0),
				fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusSent, Pages: 3}},
			{faxEvent(t, fax.EventFaxFailed, outboundFax(fax.StatusFailed), 0, 0),
				fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusFailed, Pages: 3,
					Failure: &fax.Failure{Code: fax.FailBusy, CarrierType: "lineError", CarrierCode: "17", CarrierMessage: "Busy"}}},
			{faxEvent(t, fax.EventFaxPageSent, outboundFax(fax.StatusSending), 2, 0),
				fax.Update{Kind: fax.UpdatePage, Page: 2, Pages: 3}},
			{faxEvent(t, fax.EventFaxRetryScheduled, outboundFax(fax.StatusSending), 0, 1),
				fax.Update{Kind: fax.UpdateRetry, RetryCount: 1, Pages: 3}},
		} {
			job := formatJob("dlv_1", base+"/phaxio-callback?job_id=fax_01JDZ3W0000000000000000000", fax.FormatPhaxio, tt.ev)
			in, body := replay(t, job)
			ups, err := p.ParseCallback(in, body)
			if err != nil || len(ups) != 1 {
				t.Fatalf("%s: ParseCallback = %v, %v; want one update", tt.ev.Type, ups, err)
			}
			u := ups[0]
			got := fax.Update{Kind: u.Kind, Status: u.Status, Pages: u.Pages, Page: u.Page, RetryCount: u.RetryCount}
			if u.Failure != nil && tt.want.Failure != nil {
				got.Failure = &fax.Failure{Code: u.Failure.Code, CarrierType: u.Failure.CarrierType,
					CarrierCode: u.Failure.CarrierCode, CarrierMessage: u.Failure.CarrierMessage}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: update (-want +got):\n%s", tt.ev.Type, diff)
			}
			if u.ProviderFaxID != "fax_01JDZ3W0000000000000000000" || u.FaxID != "fax_01JDZ3W0000000000000000000" {
				t.Errorf("%s: ids %q %q, want faxgate's fax id", tt.ev.Type, u.ProviderFaxID, u.FaxID)
			}
		}
	})

	t.Run("inbound with the PDF", func(t *testing.T) {
		pdf := []byte("%PDF-1.4\n" + strings.Repeat("\x00\xff binary \r\n--", 200) + "\n%%EOF\n")
		job := formatJob("dlv_1", base+"/phaxio-inbound", fax.FormatPhaxio, faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusReceived), 0, 0))
		req := buildWithDoc(t, job, now, pdf)
		body := mustRead(t, req)
		in := httptest.NewRequest(http.MethodPost, req.URL.RequestURI(), strings.NewReader(string(body)))
		in.Header = req.Header.Clone()
		// The signature covers the file's SHA-1, as in Phaxio's scheme.
		if err := p.VerifyWebhook(in, body); err != nil {
			t.Fatalf("phaxio.VerifyWebhook: %v", err)
		}
		ups, err := p.ParseInbound(in, body)
		if err != nil || len(ups) != 1 {
			t.Fatalf("ParseInbound = %v, %v; want one update", ups, err)
		}
		if d := ups[0].Document; d == nil || !bytes.Equal(d.Bytes, pdf) {
			t.Errorf("document %+v, want the PDF's %d bytes", d, len(pdf))
		}
		if _, params, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); bytes.Contains(pdf, []byte(params["boundary"])) {
			t.Errorf("boundary %q occurs in the file", params["boundary"])
		}
		// A changed file fails the signature.
		tampered := bytes.Replace(body, []byte("binary"), []byte("BINARY"), 1)
		in2 := httptest.NewRequest(http.MethodPost, req.URL.RequestURI(), bytes.NewReader(tampered))
		in2.Header = req.Header.Clone()
		if err := p.VerifyWebhook(in2, tampered); err == nil {
			t.Error("a changed file verified")
		}
		// Only fax.received carries it.
		sent := buildWithDoc(t, formatJob("dlv_2", base+"/phaxio-callback", fax.FormatPhaxio, faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0)), now, pdf)
		if b := mustRead(t, sent); bytes.Contains(b, []byte("binary")) {
			t.Error("a fax.sent webhook carries the document")
		}
	})

	t.Run("inbound", func(t *testing.T) {
		for status, want := range map[fax.Status]fax.Status{fax.StatusReceived: fax.StatusReceived, fax.StatusPartial: fax.StatusPartial} {
			job := formatJob("dlv_1", base+"/phaxio-inbound", fax.FormatPhaxio, faxEvent(t, fax.EventFaxReceived, inboundFax(status), 0, 0))
			in, body := replay(t, job)
			ups, err := p.ParseInbound(in, body)
			if err != nil || len(ups) != 1 {
				t.Fatalf("ParseInbound = %v, %v; want one update", ups, err)
			}
			u := ups[0]
			if u.Status != want || u.From != "+61299990000" || u.To != "+61755550123" || u.Pages != 2 {
				t.Errorf("inbound %s: got status %s from %s to %s pages %d", status, u.Status, u.From, u.To, u.Pages)
			}
			if u.Document == nil || u.Document.FetchID != "fax_01JDZ4R0000000000000000000" {
				t.Errorf("inbound %s: document %+v, want a fetch by id (no file part is sent)", status, u.Document)
			}
		}
	})
}

func TestPhaxioFields(t *testing.T) {
	tests := []struct {
		name    string
		ev      fax.Event
		fields  map[string]string // besides fax
		status  string
		dir     string
		recip   string // recipient status, "" for none
		errType any
	}{
		{"sent", faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0),
			map[string]string{"event_type": "fax_completed", "success": "true", "direction": "sent", "is_test": "false"},
			"success", "sent", "success", nil},
		{"canceled", faxEvent(t, fax.EventFaxCanceled, outboundFax(fax.StatusCanceled), 0, 0),
			map[string]string{"event_type": "fax_completed", "success": "false", "direction": "sent", "is_test": "false"},
			"failure", "sent", "failure", "generalError"},
		{"page sent", faxEvent(t, fax.EventFaxPageSent, outboundFax(fax.StatusSending), 2, 0),
			map[string]string{"event_type": "transmitting_page", "page": "2", "recipient_phone_number": "+61755550123",
				"success": "false", "direction": "sent", "is_test": "false"},
			"inprogress", "sent", "callactive", nil},
		{"retry scheduled", faxEvent(t, fax.EventFaxRetryScheduled, outboundFax(fax.StatusSending), 0, 3),
			map[string]string{"event_type": "retry_scheduled", "retry_count": "3", "success": "false", "direction": "sent", "is_test": "false"},
			"inprogress", "sent", "willretry", nil},
		{"received", faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusReceived), 0, 0),
			map[string]string{"event_type": "fax_completed", "success": "true", "direction": "received", "is_test": "false"},
			"success", "received", "", nil},
		{"partial", faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusPartial), 0, 0),
			map[string]string{"event_type": "fax_completed", "success": "false", "direction": "received", "is_test": "false"},
			"partialsuccess", "received", "", "lineError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, err := phaxioFields(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			var obj phaxioFax
			for _, f := range fields {
				if f.name == "fax" {
					if err := json.Unmarshal([]byte(f.value), &obj); err != nil {
						t.Fatal(err)
					}
					continue
				}
				got[f.name] = f.value
			}
			if diff := cmp.Diff(tt.fields, got); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if obj.Status != tt.status || obj.Direction != tt.dir {
				t.Errorf("fax status %q direction %q, want %q %q", obj.Status, obj.Direction, tt.status, tt.dir)
			}
			switch {
			case tt.recip == "" && len(obj.Recipients) != 0:
				t.Errorf("recipients %+v, want none for a received fax", obj.Recipients)
			case tt.recip != "" && (len(obj.Recipients) != 1 || obj.Recipients[0].Status != tt.recip):
				t.Errorf("recipients %+v, want one with status %s", obj.Recipients, tt.recip)
			}
			var gotType any
			if obj.ErrorType != nil {
				gotType = *obj.ErrorType
			}
			if gotType != tt.errType {
				t.Errorf("error_type %v, want %v", gotType, tt.errType)
			}
		})
	}

	for _, typ := range []fax.EventType{fax.EventFaxQueued, fax.EventFaxSending, fax.EventSMSSent, fax.EventSMSFailed} {
		ev := faxEvent(t, typ, outboundFax(fax.StatusQueued), 0, 0)
		if _, err := phaxioFields(ev); fax.ErrorCode(err) != fax.ECodeInvalid || !strings.Contains(err.Error(), string(typ)) {
			t.Errorf("phaxioFields(%s) = %v, want an invalid error naming the event", typ, err)
		}
	}

	test := fax.Event{ID: "evt_1", Type: fax.EventEndpointTest, Data: json.RawMessage(`{"endpoint_id":"we_1","message":"a test event from faxgate"}`)}
	fields, err := phaxioFields(test)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]formField{{"event_type", "webhook.test"}, {"data", string(test.Data)}, {"is_test", "true"}}, fields, cmp.AllowUnexported(formField{})); diff != "" {
		t.Errorf("test event fields (-want +got):\n%s", diff)
	}
}

func TestPhaxioErrorMapping(t *testing.T) {
	tests := []struct {
		name     string
		provider string
		e        *fax.Failure
		typ      string
		id       any
		msg      string
	}{
		{"phaxio's own", "phaxio", &fax.Failure{Code: fax.FailCarrier, Message: "m", CarrierType: "faxError", CarrierCode: "52", CarrierMessage: "No fax tone"},
			"faxError", 52, "No fax tone"},
		{"sinch spelling", "sinch", &fax.Failure{Code: fax.FailLine, Message: "m", CarrierType: "LINE_ERROR", CarrierCode: "15", CarrierMessage: "Congestion"},
			"lineError", 15, "Congestion"},
		{"asterisk codes are not Phaxio's", "asterisk", &fax.Failure{Code: fax.FailNoAnswer, Message: "No answer.", CarrierType: "FAILURE", CarrierCode: "3"},
			"lineError", 16, "No answer."},
		{"no carrier fields", "simulator", &fax.Failure{Code: fax.FailNotOperational, Message: "Not in service."},
			"lineError", 34, "Not in service."},
		{"document", "simulator", &fax.Failure{Code: fax.FailDocument, Message: "Bad PDF."},
			"documentConversionError", nil, "Bad PDF."},
		{"general", "gofax", &fax.Failure{Code: fax.FailTimeout, Message: "Timed out."},
			"generalError", nil, "Timed out."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := outboundFax(fax.StatusFailed)
			f.Provider, f.Failure = tt.provider, tt.e
			obj := phaxioObject(mustData(t, faxEvent(t, fax.EventFaxFailed, f, 0, 0)), fax.EventFaxFailed)
			var id any
			if obj.ErrorID != nil {
				id = *obj.ErrorID
			}
			if *obj.ErrorType != tt.typ || id != tt.id || *obj.ErrorMessage != tt.msg {
				t.Errorf("got %s %v %q, want %s %v %q", *obj.ErrorType, id, *obj.ErrorMessage, tt.typ, tt.id, tt.msg)
			}
		})
	}
}

func TestSigningURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/hook":                      "https://example.com/hook",
		"https://u:p@example.com/hook?a=1&b=%20#frag":   "https://example.com/hook?a=1&b=%20",
		"https://u:p@example.com?x=a@b":                 "https://example.com?x=a@b",
		"http://u%40x:p%3A@127.0.0.1:8080/p/a%2Fb?q=1":  "http://127.0.0.1:8080/p/a%2Fb?q=1",
		"https://example.com:8443":                      "https://example.com:8443",
		"https://user@example.com/path/with@sign?x=1#y": "https://example.com/path/with@sign?x=1",
	} {
		if got := signingURL(in); got != want {
			t.Errorf("signingURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPhaxioGolden(t *testing.T) {
	now := newFakeClock().Now()
	for name, ev := range map[string]fax.Event{
		"phaxio_fax_failed.txt":   faxEvent(t, fax.EventFaxFailed, outboundFax(fax.StatusFailed), 0, 0),
		"phaxio_fax_sent.txt":     faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0),
		"phaxio_page_sent.txt":    faxEvent(t, fax.EventFaxPageSent, outboundFax(fax.StatusSending), 2, 0),
		"phaxio_fax_received.txt": faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusReceived), 0, 0),
	} {
		t.Run(name, func(t *testing.T) {
			job := formatJob("dlv_1", "https://alice:pw@hooks.example.com/phaxio?customer=42", fax.FormatPhaxio, ev)
			checkGolden(t, name, dumpRequest(t, buildFor(t, job, now)))
			// Built again, for a retry: the same bytes.
			again := dumpRequest(t, buildFor(t, job, now))
			if string(again) != string(dumpRequest(t, buildFor(t, job, now))) {
				t.Error("the phaxio format is not stable across attempts")
			}
		})
	}
}

// TestPhaxioFormatReceivedFile delivers fax.received to a phaxio-format
// endpoint through the worker: the PDF the Document reader returns arrives
// as the file part, with its SHA-1 in X-Phaxio-Signature; a document that
// cannot be read now retries the attempt; one that is gone or too large is
// left out and the webhook goes without it.
func TestPhaxioFormatReceivedFile(t *testing.T) {
	pdf := []byte("%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n")
	for _, tt := range []struct {
		name     string
		doc      func() ([]byte, error)
		want     fax.DeliveryStatus
		wantFile []byte // nil: no file part
		wantErr  string // the attempt's error
	}{
		{"stored", func() ([]byte, error) { return pdf, nil }, fax.DeliverySucceeded, pdf, ""},
		{"gone", func() ([]byte, error) { return nil, fax.Errorf(fax.ECodeGone, "purged") }, fax.DeliverySucceeded, nil, ""},
		{"too large", func() ([]byte, error) { return make([]byte, maxWebhookFile+1), nil }, fax.DeliverySucceeded, nil, ""},
		{"unreadable", func() ([]byte, error) { return nil, errors.New("disk on fire") }, fax.DeliveryPending, nil, "could not be read"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t)
			store, clock := newFakeStore(), newFakeClock()
			registered := rc.srv.URL + "/phaxio-inbound"
			job := formatJob("dlv_1", registered, fax.FormatPhaxio, faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusReceived), 0, 0))
			store.add(job)
			var asked []string
			w := newTestWorker(store, clock, Options{Document: func(_ context.Context, faxID string) ([]byte, error) {
				asked = append(asked, faxID)
				return tt.doc()
			}})
			mustDeliverOnce(t, w, 1)
			d := store.delivery(t, "dlv_1")
			if d.Status != tt.want || len(d.Attempts) != 1 || !strings.Contains(d.Attempts[0].Error, tt.wantErr) {
				t.Fatalf("delivery %s %+v, want %s with error %q", d.Status, d.Attempts, tt.want, tt.wantErr)
			}
			if len(asked) != 1 || asked[0] != job.Event.FaxID {
				t.Errorf("Document asked for %q, want the event's fax %q", asked, job.Event.FaxID)
			}
			reqs := rc.got()
			if tt.want == fax.DeliveryPending {
				if len(reqs) != 0 {
					t.Errorf("receiver got %d requests, want none while the document cannot be read", len(reqs))
				}
				return
			}
			if len(reqs) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(reqs))
			}
			form := parseMultipart(t, reqs[0])
			var files map[string][][]byte
			if fhs := form.File["file"]; tt.wantFile == nil {
				if len(form.File) != 0 {
					t.Errorf("file parts %v, want none", form.File)
				}
			} else if len(fhs) != 1 || fhs[0].Filename != job.Event.FaxID+".pdf" || fhs[0].Header.Get("Content-Type") != "application/pdf" {
				t.Fatalf("file parts %+v, want one file %s.pdf of type application/pdf", form.File, job.Event.FaxID)
			} else {
				f, err := fhs[0].Open()
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(f)
				f.Close()
				if !bytes.Equal(got, tt.wantFile) {
					t.Errorf("file %q, want %q", got, tt.wantFile)
				}
				files = map[string][][]byte{"file": {got}}
			}
			fields := map[string][]string{}
			for k, v := range form.Value {
				fields[k] = v
			}
			if want := phaxio.Sign(testSecret, registered, fields, files); reqs[0].header.Get("X-Phaxio-Signature") != want {
				t.Errorf("X-Phaxio-Signature = %q, want %q", reqs[0].header.Get("X-Phaxio-Signature"), want)
			}
		})
	}
}
