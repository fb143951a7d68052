package phaxio

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

// sender is the method set the dispatcher and the API use, as they
// declare it; the provider must keep matching it.
type sender interface {
	Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (providerFaxID string, err error)
	Find(ctx context.Context, f *fax.Fax) (providerFaxID string, found bool, err error)
	Cancel(ctx context.Context, f *fax.Fax) error
	SendProblem() string
}

var _ sender = (*Provider)(nil)

// TestSendGolden sends through a fake Phaxio and compares each request with
// testdata/requests/<name>.golden, then checks the fields that matter one
// by one.
func TestSendGolden(t *testing.T) {
	minimal := testJob()
	minimal.Fax.From, minimal.Fax.HeaderText, minimal.Fax.DocumentType = "", "", ""
	tests := []struct {
		name   string
		job    *fax.DispatchJob
		doc    string
		answer string
		wantID string
	}{
		{"send-full", testJob(), testPDF, "send-ok.json", "323034811"},
		{"send-minimal-tiff", minimal, testTIFF, "send-ok-string-id.json", "323034812"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := providertest.NewFake(t, providertest.AnswerJSON(t, http.StatusOK, tt.answer))
			p := sendProvider(t, fc.URL(testBasePath), nil)
			id, err := p.Send(context.Background(), tt.job, []byte(tt.doc))
			if err != nil {
				t.Fatalf("Send: got %v, want nil", err)
			}
			if id != tt.wantID {
				t.Errorf("got id %q, want %q", id, tt.wantID)
			}
			reqs := fc.Requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			checkGolden(t, tt.name, providertest.RenderRequest(t, r))

			hr := &http.Request{Header: r.Header}
			user, pass, ok := hr.BasicAuth()
			if !ok || user != testAPIKey || pass != testSecret {
				t.Errorf("got Basic auth %q/%q (%v), want the API key and the first API secret", user, pass, ok)
			}
			if got, want := providertest.Field(t, r, "callback_url"), "https://fax.example.com/phaxio-callback?job_id="+testJobID; got != want {
				t.Errorf("got callback_url %q, want %q", got, want)
			}
			if got := providertest.Field(t, r, "tag[faxgate_id]"); got != testJobID {
				t.Errorf("got tag[faxgate_id] %q, want %q", got, testJobID)
			}
			if got := providertest.Field(t, r, "to"); got != testTo {
				t.Errorf("got to %q, want %q", got, testTo)
			}
			f := tt.job.Fax
			if f.HeaderText != "" {
				if got := providertest.Field(t, r, "header_text"); got != f.HeaderText {
					t.Errorf("got header_text %q, want %q", got, f.HeaderText)
				}
			}
			if f.From != "" {
				if got := providertest.Field(t, r, "caller_id"); got != f.From {
					t.Errorf("got caller_id %q, want %q", got, f.From)
				}
			}
			if f.From == "" && strings.Contains(string(r.Body), `name="caller_id"`) {
				t.Error("got a caller_id field for a fax without From")
			}
		})
	}
}

func TestSendDocumentChecks(t *testing.T) {
	tests := []struct {
		name, docType, doc string
		ok                 bool
		wantFile, wantType string
	}{
		{"pdf", "application/pdf", testPDF, true, testJobID + ".pdf", "application/pdf"},
		{"pdf with parameter", "application/pdf; name=x.pdf", testPDF, true, testJobID + ".pdf", "application/pdf"},
		{"tiff", "image/tiff", testTIFF, true, testJobID + ".tif", "image/tiff"},
		{"sniffed pdf", "", testPDF, true, testJobID + ".pdf", "application/pdf"},
		{"sniffed big-endian tiff", "", "MM\x00*\x00\x00\x00\x08", true, testJobID + ".tif", "image/tiff"},
		{"text", "text/plain", "hello", false, "", ""},
		{"unknown bytes", "", "hello", false, "", ""},
		{"malformed type", "application/", testPDF, false, "", ""},
		{"empty", "application/pdf", "", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := providertest.NewFake(t, providertest.AnswerJSON(t, http.StatusOK, "send-ok.json"))
			p := sendProvider(t, fc.URL(testBasePath), nil)
			job := testJob()
			job.Fax.DocumentType = tt.docType
			_, err := p.Send(context.Background(), job, []byte(tt.doc))
			if !tt.ok {
				se := providertest.SendError(t, err)
				if se.Outcome != fax.SendPermanent || se.Failure == nil || se.Failure.Code != fax.FailDocument {
					t.Fatalf("got %+v, want a permanent document failure", se)
				}
				if n := len(fc.Requests()); n != 0 {
					t.Errorf("got %d requests, want none", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Send: got %v, want nil", err)
			}
			r := fc.Requests()[0]
			_, params, _ := strings.Cut(r.Header.Get("Content-Type"), "boundary=")
			for _, pt := range providertest.Parts(t, r.Body, params) {
				if pt.Name == "file" && (pt.Filename != tt.wantFile || pt.ContentType != tt.wantType || string(pt.Data) != tt.doc) {
					t.Errorf("got file part %q %q (%d bytes), want %q %q", pt.Filename, pt.ContentType, len(pt.Data), tt.wantFile, tt.wantType)
				}
			}
		})
	}
}

func TestSendProblem(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{APIKey: "k", APISecrets: []string{"s"}, PublicURL: testPublicURL}, ""},
		{Config{}, "set PHAXIO_API_KEY, PHAXIO_API_SECRET and FAXGATE_PUBLIC_URL"},
		{Config{PublicURL: testPublicURL}, "set PHAXIO_API_KEY and PHAXIO_API_SECRET"},
		{Config{APIKey: "k", APISecrets: []string{" ", ""}, PublicURL: testPublicURL}, "set PHAXIO_API_SECRET"},
		{Config{APIKey: "k", APISecrets: []string{"s"}}, "set FAXGATE_PUBLIC_URL"},
	}
	for _, tt := range tests {
		p := mustNew(t, tt.cfg)
		if got := p.SendProblem(); got != tt.want {
			t.Errorf("SendProblem with %+v: got %q, want %q", tt.cfg, got, tt.want)
		}
	}
	fc := providertest.NewFake(t, providertest.AnswerJSON(t, http.StatusOK, "send-ok.json"))
	p := mustNew(t, Config{APIKey: "k", BaseURL: fc.URL(testBasePath), PublicURL: testPublicURL})
	_, err := p.Send(context.Background(), testJob(), []byte(testPDF))
	if se := providertest.SendError(t, err); se.Outcome != fax.SendPermanent || !strings.Contains(se.Failure.Message, "PHAXIO_API_SECRET") {
		t.Errorf("Send unconfigured: got %+v, want a permanent failure naming PHAXIO_API_SECRET", se)
	}
	if _, _, err := p.Find(context.Background(), testJob().Fax); err == nil {
		t.Error("Find unconfigured: got nil error")
	}
	if n := len(fc.Requests()); n != 0 {
		t.Errorf("got %d requests from an unconfigured provider, want none", n)
	}
}

// TestSendFailures runs every way a send can fail and checks its class.
func TestSendFailures(t *testing.T) {
	blocked := make(chan struct{})
	t.Cleanup(func() { close(blocked) })
	leakSecret := `{"success":false,"message":"bad secret ` + testSecret + `"}`
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		base       func(t *testing.T) (string, *http.Client) // instead of a fake Phaxio
		client     *http.Client
		ctx        func() context.Context
		outcome    fax.SendOutcome
		retryAfter time.Duration
		code       string // failure code of a permanent error
		message    string // part of the failure message
		status     string // CarrierCode
	}{
		{name: "500", answer: providertest.AnswerJSON(t, 500, `{"success":false,"message":"Internal error"}`), outcome: fax.SendAmbiguous},
		{name: "502 html", answer: providertest.AnswerText(502, "text/html", "<html>Bad Gateway</html>"), outcome: fax.SendAmbiguous},
		{name: "503 retry-after", answer: providertest.WithHeader("Retry-After", "120", providertest.AnswerJSON(t, 503, `{"success":false,"message":"Service unavailable"}`)), outcome: fax.SendRetryable, retryAfter: 2 * time.Minute},
		{name: "504", answer: providertest.AnswerText(504, "text/plain", "timeout"), outcome: fax.SendAmbiguous},
		{name: "408", answer: providertest.AnswerText(408, "text/plain", ""), outcome: fax.SendRetryable},
		{name: "429 seconds", answer: providertest.WithHeader("Retry-After", "30", providertest.AnswerJSON(t, 429, `{"success":false,"message":"Rate limit exceeded"}`)), outcome: fax.SendRetryable, retryAfter: 30 * time.Second},
		{name: "429 date", answer: providertest.WithHeader("Retry-After", testNow().Add(90*time.Second).Format(http.TimeFormat), providertest.AnswerJSON(t, 429, `{}`)), outcome: fax.SendRetryable, retryAfter: 90 * time.Second},
		{name: "429 past date", answer: providertest.WithHeader("Retry-After", "Sun, 01 Mar 2026 00:00:00 GMT", providertest.AnswerJSON(t, 429, `{}`)), outcome: fax.SendRetryable},
		{name: "429 huge", answer: providertest.WithHeader("Retry-After", "99999999999", providertest.AnswerJSON(t, 429, `{}`)), outcome: fax.SendRetryable, retryAfter: carrier.MaxRetryAfter},
		{name: "400 carrier message", answer: providertest.AnswerJSON(t, 400, "error-invalid.json"), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "Phaxio refused the fax (HTTP 400): Invalid phone number: to must be in E.164 format.", status: "400"},
		{name: "401", answer: providertest.AnswerJSON(t, 401, `{"success":false,"message":"Invalid API key or secret"}`), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "check PHAXIO_API_KEY and PHAXIO_API_SECRET", status: "401"},
		{name: "402", answer: providertest.AnswerJSON(t, 402, "send-refused.json"), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "Insufficient credit", status: "402"},
		{name: "404", answer: providertest.AnswerText(404, "text/html", "<h1>Not Found</h1>"), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "Phaxio refused the fax (HTTP 404).", status: "404"},
		{name: "422", answer: providertest.AnswerJSON(t, 422, `{"success":false,"message":"header_text must be 50 characters or fewer"}`), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "header_text must be 50 characters or fewer", status: "422"},
		{name: "422 conversion", answer: providertest.AnswerJSON(t, 422, "error-conversion.json"), outcome: fax.SendPermanent, code: fax.FailDocument, message: "could not be converted", status: "422"},
		{name: "415", answer: providertest.AnswerText(415, "text/plain", ""), outcome: fax.SendPermanent, code: fax.FailDocument, status: "415"},
		{name: "secret echoed", answer: providertest.AnswerJSON(t, 400, leakSecret), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "bad secret [redacted]", status: "400"},
		{name: "redirect not followed", answer: providertest.Redirect("/v2.1/elsewhere", http.StatusFound), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "PHAXIO_BASE_URL", status: "302"},
		{name: "success false", answer: providertest.AnswerJSON(t, 200, "send-refused.json"), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "Phaxio refused the fax: Insufficient credit to send this fax.", status: "200"},
		{name: "success false without message", answer: providertest.AnswerJSON(t, 200, `{"success":false}`), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "Phaxio refused the fax.", status: "200"},
		{name: "unparseable 2xx", answer: providertest.AnswerText(200, "text/html", "<html>Welcome to the captive portal</html>"), outcome: fax.SendAmbiguous},
		{name: "2xx without id", answer: providertest.AnswerJSON(t, 200, `{"success":true,"message":"Fax queued for sending","data":{}}`), outcome: fax.SendAmbiguous},
		{name: "2xx odd success", answer: providertest.AnswerJSON(t, 201, `{"success":"maybe","data":{"id":1}}`), outcome: fax.SendAmbiguous},
		{name: "2xx truncated", answer: providertest.Truncated(`{"success":true,"data":{"id":3230`), outcome: fax.SendAmbiguous},
		{name: "closed after reading the request", answer: providertest.CloseAfterRead, outcome: fax.SendAmbiguous},
		{name: "timeout after sending", answer: providertest.Block(blocked), client: &http.Client{Timeout: 250 * time.Millisecond}, outcome: fax.SendAmbiguous},
		{name: "timeout after sending over HTTP/2", base: providertest.H2Blocking(blocked, "/v2.1"), outcome: fax.SendAmbiguous},
		{name: "nothing listening", base: providertest.NothingListening("/v2.1"), outcome: fax.SendRetryable},
		{name: "dns failure", base: providertest.DNSFailure("api.phaxio.invalid", "/v2.1"), outcome: fax.SendRetryable},
		{name: "tls handshake failure", base: providertest.UntrustedTLS("/v2.1"), outcome: fax.SendRetryable},
		{name: "canceled before sending", answer: providertest.AnswerJSON(t, 200, "send-ok.json"), ctx: providertest.Canceled, outcome: fax.SendRetryable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fc *providertest.Fake
			base, client := "", tt.client
			if tt.base != nil {
				base, client = tt.base(t)
			} else {
				fc = providertest.NewFake(t, tt.answer)
				base = fc.URL(testBasePath)
			}
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			p := sendProvider(t, base, client)
			id, err := p.Send(ctx, testJob(), []byte(testPDF))
			if id != "" {
				t.Errorf("got id %q with an error, want none", id)
			}
			se := providertest.SendError(t, err)
			if se.Outcome != tt.outcome {
				t.Fatalf("got outcome %d (%v), want %d", se.Outcome, err, tt.outcome)
			}
			if se.RetryAfter != tt.retryAfter {
				t.Errorf("got RetryAfter %v, want %v", se.RetryAfter, tt.retryAfter)
			}
			if tt.outcome == fax.SendPermanent {
				fl := se.Failure
				if fl == nil {
					t.Fatal("got no Failure for a permanent error")
				}
				if fl.Code != tt.code || !strings.Contains(fl.Message, tt.message) || fl.CarrierCode != tt.status {
					t.Errorf("got failure %+v, want code %s, message containing %q, carrier code %s", fl, tt.code, tt.message, tt.status)
				}
			} else if se.Failure != nil {
				t.Errorf("got Failure %+v for a %d outcome, want none", se.Failure, se.Outcome)
			}
			all := err.Error()
			if se.Failure != nil {
				all += se.Failure.Message + se.Failure.CarrierMessage + se.Failure.CarrierType
			}
			if strings.Contains(all, testSecret) || strings.Contains(all, "apisec-old") {
				t.Errorf("error %q reveals an API secret", all)
			}
			if fc != nil && tt.ctx == nil {
				if n := len(fc.Requests()); n != 1 {
					t.Errorf("got %d requests, want exactly 1 (never resent)", n)
				}
			}
			if tt.ctx != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want it to wrap context.Canceled", err)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := testNow()
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 45 ", 45 * time.Second},
		{"-5", 0},
		{"86401", carrier.MaxRetryAfter},
		{"9223372036854775807", carrier.MaxRetryAfter},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(72 * time.Hour).Format(http.TimeFormat), carrier.MaxRetryAfter},
		{"soon", 0},
		{"1.5", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		h.Set("Retry-After", tt.value)
		if got := carrier.RetryAfter(h.Get("Retry-After"), now); got != tt.want {
			t.Errorf("retryAfter(%q): got %v, want %v", tt.value, got, tt.want)
		}
	}
}
