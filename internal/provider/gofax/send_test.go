package gofax

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
	"github.com/faxgate/faxgate/internal/provider/providertest"
	"github.com/google/go-cmp/cmp"
)

// testPDF stands for a document; GoFax's fake never decodes it.
const testPDF = "%PDF-1.4\n% faxgate test document\n%%EOF\n"

// recorded is one request as GoFax's fake saw it, as the golden files hold
// it. The token is checked, then replaced, so that no golden file holds it.
type recorded struct {
	Method      string
	Path        string
	Query       map[string][]string
	ContentType string
	Body        any
}

// gofaxAPI is a loopback GoFax API: it records requests and answers each
// with the next scripted reply (the last one repeats).
type gofaxAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	got     []recorded
	replies []http.HandlerFunc
}

func newGoFaxAPI(t *testing.T, replies ...http.HandlerFunc) *gofaxAPI {
	t.Helper()
	g := &gofaxAPI{t: t, replies: replies}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gofaxAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		g.t.Errorf("fake GoFax: read body: %v", err)
	}
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), ContentType: r.Header.Get("Content-Type")}
	if tok := rec.Query["token"]; len(tok) != 1 || tok[0] != testAPIToken {
		g.t.Errorf("fake GoFax: got token %q, want the first GOFAX_TOKEN", tok)
	} else {
		rec.Query["token"] = []string{"<GOFAX_TOKEN>"}
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &rec.Body); err != nil {
			g.t.Errorf("fake GoFax: body is not JSON: %v", err)
		}
	}
	g.mu.Lock()
	g.got = append(g.got, rec)
	reply := g.replies[min(len(g.got), len(g.replies))-1]
	g.mu.Unlock()
	reply(w, r)
}

func (g *gofaxAPI) requests() []recorded {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]recorded(nil), g.got...)
}

// reply answers with status and body as JSON, after setting headers.
func reply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

const acceptedFax = `{"Documents":[{"Filename":"fax_01JCWZ8Q4T6H2M9R3V5X7YB0DE.pdf","Message":"Initialised","Submitted":true}],"Success":true,"Message":null,"ValidationErrors":null,"Response":100597945}`

func sendConfig(base string) Config {
	cfg := testConfig()
	cfg.BaseURL = base
	return cfg
}

func testJob() *fax.DispatchJob {
	return &fax.DispatchJob{Attempt: 1, Fax: &fax.Fax{
		ID: faxA, Direction: fax.Outbound, Status: fax.StatusQueued, To: "+61755550123", From: "+61298765432",
		Provider: Name, CallbackToken: tokenA, DocumentType: "application/pdf",
	}}
}

// checkGolden compares got with testdata/send/name.golden.json, or writes it
// with -update.
func checkGolden(t *testing.T, name string, got any) {
	t.Helper()
	path := filepath.Join("testdata", "send", name+".golden.json")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s: request mismatch (-want +got):\n%s", name, diff)
	}
}

func TestSendRequest(t *testing.T) {
	g := newGoFaxAPI(t, reply(http.StatusOK, acceptedFax))
	p := mustNew(t, sendConfig(g.srv.URL))
	id, err := p.Send(context.Background(), testJob(), []byte(testPDF))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if id != "100597945" {
		t.Errorf("got send id %q, want %q", id, "100597945")
	}
	reqs := g.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	if reqs[0].Method != http.MethodPut {
		t.Errorf("got method %s, want PUT", reqs[0].Method)
	}
	checkGolden(t, "sendfax", reqs[0])
}

// TestSendRequestVariants covers what changes the body: no callback token
// or no public URL leaves the account-level webhook in charge, and a TIFF
// keeps its extension so that GoFax converts it as one.
func TestSendRequestVariants(t *testing.T) {
	tests := []struct {
		name         string
		edit         func(*Config, *fax.Fax)
		doc          string
		wantCallback string
		wantFilename string
	}{
		{name: "callback", edit: func(*Config, *fax.Fax) {}, doc: testPDF,
			wantCallback: "https://fax.example.com.au/gofax-callback?job_id=" + faxA + "&token=" + tokenA, wantFilename: faxA + ".pdf"},
		{name: "no token", edit: func(_ *Config, f *fax.Fax) { f.CallbackToken = "" }, doc: testPDF, wantFilename: faxA + ".pdf"},
		{name: "no public url", edit: func(c *Config, _ *fax.Fax) { c.PublicURL = "" }, doc: testPDF, wantFilename: faxA + ".pdf"},
		{name: "tiff", edit: func(*Config, *fax.Fax) {}, doc: "II*\x00\x08\x00\x00\x00",
			wantCallback: "https://fax.example.com.au/gofax-callback?job_id=" + faxA + "&token=" + tokenA, wantFilename: faxA + ".tif"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGoFaxAPI(t, reply(http.StatusOK, acceptedFax))
			cfg := sendConfig(g.srv.URL)
			job := testJob()
			tt.edit(&cfg, job.Fax)
			p := mustNew(t, cfg)
			if _, err := p.Send(context.Background(), job, []byte(tt.doc)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			body, _ := g.requests()[0].Body.(map[string]any)
			cb, hasCB := body["CallbackURL"]
			switch {
			case tt.wantCallback == "" && hasCB:
				t.Errorf("got CallbackURL %v, want none", cb)
			case tt.wantCallback != "" && cb != tt.wantCallback:
				t.Errorf("got CallbackURL %v, want %s", cb, tt.wantCallback)
			}
			docs, _ := body["Documents"].([]any)
			if len(docs) != 1 {
				t.Fatalf("got %d documents, want 1", len(docs))
			}
			if name := docs[0].(map[string]any)["Filename"]; name != tt.wantFilename {
				t.Errorf("got Filename %v, want %s", name, tt.wantFilename)
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		name        string
		replies     []http.HandlerFunc
		client      *http.Client
		nobody      bool // nothing listening at GOFAX_BASE_URL
		want        fax.SendOutcome
		wantAfter   time.Duration
		wantMessage string // in Failure.Message, for permanent errors
		wantCarrier string // in Failure.CarrierMessage
		wantID      string // for the accepted cases
	}{
		{name: "accepted string id", replies: []http.HandlerFunc{reply(200, `{"Success":true,"Response":"A-77"}`)}, wantID: "A-77"},
		{name: "401 no body", replies: []http.HandlerFunc{reply(401, "")},
			want: fax.SendPermanent, wantMessage: "GoFax refused the token: check GOFAX_TOKEN"},
		{name: "400 validation errors", replies: []http.HandlerFunc{reply(400,
			`{"Success":false,"Message":"The request is invalid.","ValidationErrors":[{"PropertyName":"SendTo","ErrorMessage":"'Send To' must be a valid fax number."}],"Response":null}`)},
			want: fax.SendPermanent, wantCarrier: "The request is invalid.; 'Send To' must be a valid fax number.; PropertyName: SendTo"},
		{name: "400 validation map", replies: []http.HandlerFunc{reply(400,
			`{"ValidationErrors":{"Documents":["At least one document is required"]}}`)},
			want: fax.SendPermanent, wantCarrier: "Documents: At least one document is required"},
		{name: "200 success false", replies: []http.HandlerFunc{reply(200,
			`{"Documents":null,"Success":false,"Message":"Insufficient credit to send fax","ValidationErrors":null,"Response":null}`)},
			want: fax.SendPermanent, wantCarrier: "Insufficient credit to send fax", wantMessage: "GoFax refused the fax: Insufficient credit to send fax"},
		{name: "200 validation errors only", replies: []http.HandlerFunc{reply(200, `{"ValidationErrors":["SendTo is required"]}`)},
			want: fax.SendPermanent, wantCarrier: "SendTo is required"},
		{name: "404 no body", replies: []http.HandlerFunc{reply(404, "")}, want: fax.SendPermanent, wantCarrier: "Not Found"},
		{name: "302", replies: []http.HandlerFunc{reply(302, "", "Location", "https://evil.example/")},
			want: fax.SendPermanent, wantMessage: "GOFAX_BASE_URL"},
		{name: "500", replies: []http.HandlerFunc{reply(500, `{"Message":"An error has occurred."}`)}, want: fax.SendAmbiguous},
		{name: "503 retry-after date", replies: []http.HandlerFunc{reply(503, "", "Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))},
			want: fax.SendRetryable, wantAfter: 89 * time.Second},
		{name: "429 retry-after", replies: []http.HandlerFunc{reply(429, "", "Retry-After", "120")},
			want: fax.SendRetryable, wantAfter: 120 * time.Second},
		{name: "408", replies: []http.HandlerFunc{reply(408, "")}, want: fax.SendRetryable},
		{name: "504", replies: []http.HandlerFunc{reply(504, "")}, want: fax.SendAmbiguous},
		{name: "close after request", replies: []http.HandlerFunc{providertest.CloseAfterRead}, want: fax.SendAmbiguous},
		{name: "200 not json", replies: []http.HandlerFunc{reply(200, "<html>OK</html>")}, want: fax.SendAmbiguous},
		{name: "200 no id", replies: []http.HandlerFunc{reply(200, `{"Success":true,"Response":null}`)}, want: fax.SendAmbiguous},
		{name: "200 no success", replies: []http.HandlerFunc{reply(200, `{"Response":12}`)}, want: fax.SendAmbiguous},
		{name: "timeout after request", replies: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}}, client: &http.Client{Timeout: 200 * time.Millisecond}, want: fax.SendAmbiguous},
		{name: "nothing listening", nobody: true, want: fax.SendRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base string
			if tt.nobody {
				base = "http://" + closedAddr(t)
			} else {
				base = newGoFaxAPI(t, tt.replies...).srv.URL
			}
			cfg := sendConfig(base)
			cfg.HTTPClient = tt.client
			p := mustNew(t, cfg)
			id, err := p.Send(context.Background(), testJob(), []byte(testPDF))
			if tt.want == 0 {
				if err != nil || id != tt.wantID {
					t.Fatalf("got %q, %v; want %q, no error", id, err, tt.wantID)
				}
				return
			}
			var se *fax.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got error %v (%T), want a *fax.SendError", err, err)
			}
			if se.Outcome != tt.want {
				t.Errorf("got outcome %v (%v), want %v", se.Outcome, err, tt.want)
			}
			if tt.wantAfter > 0 && (se.RetryAfter < tt.wantAfter || se.RetryAfter > tt.wantAfter+2*time.Second) {
				t.Errorf("got RetryAfter %v, want about %v", se.RetryAfter, tt.wantAfter)
			}
			if tt.want == fax.SendPermanent {
				if se.Failure == nil || se.Failure.Message == "" || se.Failure.Code == "" {
					t.Fatalf("got Failure %+v, want a code and a message for the user", se.Failure)
				}
				if !strings.Contains(se.Failure.Message, tt.wantMessage) {
					t.Errorf("got Failure.Message %q, want it to contain %q", se.Failure.Message, tt.wantMessage)
				}
				if se.Failure.CarrierMessage != tt.wantCarrier && tt.wantCarrier != "" {
					t.Errorf("got CarrierMessage %q, want %q", se.Failure.CarrierMessage, tt.wantCarrier)
				}
			}
			checkNoToken(t, err, se)
		})
	}
}

// checkNoToken fails when the API token shows anywhere in an error.
func checkNoToken(t *testing.T, err error, se *fax.SendError) {
	t.Helper()
	texts := []string{err.Error()}
	if se != nil && se.Failure != nil {
		texts = append(texts, se.Failure.Message, se.Failure.CarrierMessage)
	}
	for _, s := range texts {
		if strings.Contains(s, testAPIToken) {
			t.Errorf("error text %q holds the GoFax token", s)
		}
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestSendInvalidJob(t *testing.T) {
	g := newGoFaxAPI(t, reply(http.StatusOK, acceptedFax))
	p := mustNew(t, sendConfig(g.srv.URL))
	bad := testJob()
	bad.Fax.To = "12345"
	tests := []struct {
		name string
		job  *fax.DispatchJob
		doc  string
		code string
	}{
		{"bad number", bad, testPDF, fax.FailGeneral},
		{"empty document", testJob(), "", fax.FailDocument},
	}
	for _, tt := range tests {
		_, err := p.Send(context.Background(), tt.job, []byte(tt.doc))
		se := fax.AsSendError(err)
		if err == nil || se.Outcome != fax.SendPermanent || se.Failure == nil || se.Failure.Code != tt.code {
			t.Errorf("%s: got %v, want a permanent %s error", tt.name, err, tt.code)
		}
	}
	if n := len(g.requests()); n != 0 {
		t.Errorf("got %d requests to GoFax, want none", n)
	}
}

func TestSendContextCanceledBeforeSending(t *testing.T) {
	g := newGoFaxAPI(t, reply(http.StatusOK, acceptedFax))
	p := mustNew(t, sendConfig(g.srv.URL))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Send(ctx, testJob(), []byte(testPDF))
	if se := fax.AsSendError(err); err == nil || se.Outcome != fax.SendRetryable || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want a retryable error wrapping context.Canceled", err)
	}
}

func TestSendProblem(t *testing.T) {
	p := mustNew(t, testConfig())
	if got := p.SendProblem(); got != "" {
		t.Errorf("got SendProblem %q, want none", got)
	}
}

const acceptedSMS = `{"Success":true,"Message":"SMS Submitted","ValidationErrors":null,"Response":52336014}`

func TestSendSMSRequest(t *testing.T) {
	g := newGoFaxAPI(t, reply(http.StatusOK, acceptedSMS))
	p := mustNew(t, sendConfig(g.srv.URL))
	id, err := p.SendSMS(context.Background(), "sms_01JCWZ8Q4T6H2M9R3V5X7YB0DE", "+61412341234", "Your fax to +61 7 5555 0123 was sent (2 pages).")
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if id != "52336014" {
		t.Errorf("got SMS id %q, want %q", id, "52336014")
	}
	reqs := g.requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodPut {
		t.Fatalf("got %+v, want one PUT", reqs)
	}
	checkGolden(t, "sms", reqs[0])
}

func TestSendSMSValidation(t *testing.T) {
	g := newGoFaxAPI(t, reply(http.StatusOK, acceptedSMS))
	p := mustNew(t, sendConfig(g.srv.URL))
	tests := []struct {
		name, id, to, text string
		ok                 bool
	}{
		{"valid", "sms_1", "+61412341234", "hello", true},
		{"1600 characters", "sms_1", "+61412341234", strings.Repeat("é", MaxSMSLength), true},
		{"1601 characters", "sms_1", "+61412341234", strings.Repeat("a", MaxSMSLength+1), false},
		{"empty text", "sms_1", "+61412341234", " \n", false},
		{"invalid utf-8", "sms_1", "+61412341234", "a\xffb", false},
		{"bad number", "sms_1", "0412341234", "hello", false},
		{"no id", "", "+61412341234", "hello", false},
		{"id with space", "sms 1", "+61412341234", "hello", false},
	}
	for _, tt := range tests {
		_, err := p.SendSMS(context.Background(), tt.id, tt.to, tt.text)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: got error %v, want none", tt.name, err)
		case !tt.ok && fax.ErrorCode(err) != fax.ECodeInvalid:
			t.Errorf("%s: got error %v, want code invalid", tt.name, err)
		}
	}
	if n := len(g.requests()); n != 2 {
		t.Errorf("got %d requests to GoFax, want 2 (the valid ones)", n)
	}
}

func TestSendSMSFailure(t *testing.T) {
	g := newGoFaxAPI(t, reply(http.StatusOK, `{"Success":false,"Message":"Invalid mobile number","ValidationErrors":null,"Response":null}`))
	p := mustNew(t, sendConfig(g.srv.URL))
	_, err := p.SendSMS(context.Background(), "sms_1", "+61412341234", "hello")
	se := fax.AsSendError(err)
	if err == nil || se.Outcome != fax.SendPermanent || se.Failure == nil || se.Failure.CarrierMessage != "Invalid mobile number" {
		t.Errorf("got %v, want a permanent error with GoFax's message", err)
	}
}

// FuzzSendAnswer classifies arbitrary answers from GoFax: no panic; an id
// only from a success; a Failure on every refusal; never the token.
func FuzzSendAnswer(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, acceptedFax},
		{200, acceptedSMS},
		{200, `{"Success":false,"Message":"Insufficient credit","ValidationErrors":null,"Response":null}`},
		{400, `{"ValidationErrors":[{"PropertyName":"SendTo","ErrorMessage":"bad"}]}`},
		{400, `{"ValidationErrors":{"a":{"b":["c",1,null,{"d":"e"}]}}}`},
		{401, ""},
		{429, ""},
		{500, "<html>"},
		{200, `{"Success":true,"Response":"` + testAPIToken + `"}`},
		{422, `{"Message":"token ` + testAPIToken + ` is wrong"}`},
	} {
		f.Add(s.status, []byte(s.body), "120")
	}
	p := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, status int, body []byte, retry string) {
		a := &carrier.Answer{Status: status, Header: http.Header{"Retry-After": {retry}}, Body: body}
		id, err := p.classify("send fax", a)
		if err == nil {
			if id == "" || !validID(id) || status < 200 || status > 299 {
				t.Fatalf("got id %q from HTTP %d without an error", id, status)
			}
			return
		}
		var se *fax.SendError
		if !errors.As(err, &se) {
			t.Fatalf("got %T, want *fax.SendError", err)
		}
		if se.Outcome == fax.SendPermanent && (se.Failure == nil || se.Failure.Message == "" || se.Failure.Code == "") {
			t.Fatalf("permanent error without a Failure: %v", err)
		}
		if se.RetryAfter < 0 || se.RetryAfter > carrier.MaxRetryAfter {
			t.Fatalf("got RetryAfter %v", se.RetryAfter)
		}
		if se.Failure != nil && (strings.Contains(se.Failure.CarrierMessage, testAPIToken) || strings.Contains(se.Failure.Message, testAPIToken)) {
			t.Fatalf("Failure holds the token: %+v", se.Failure)
		}
		if strings.Contains(err.Error(), testAPIToken) {
			t.Fatalf("error holds the token: %v", err)
		}
	})
}
