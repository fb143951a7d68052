package sinch

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

const faxesPath = "/v3/projects/" + testProject + "/faxes"

// sender is the method set the dispatcher and the API use, as they
// declare it; the provider must keep matching it.
type sender interface {
	Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (providerFaxID string, err error)
	Find(ctx context.Context, f *fax.Fax) (providerFaxID string, found bool, err error)
	Cancel(ctx context.Context, f *fax.Fax) error
	SendProblem() string
}

var _ sender = (*Provider)(nil)

// TestSendGolden sends through a fake Sinch and compares each request with
// testdata/requests/<name>.golden, then checks the fields that matter one
// by one.
func TestSendGolden(t *testing.T) {
	minimal := testJob()
	minimal.Fax.From, minimal.Fax.HeaderText, minimal.Fax.DocumentType = "", "", ""
	tests := []struct {
		name         string
		job          *fax.DispatchJob
		doc          string
		cfg          func(*Config)
		answer       string
		wantID       string
		wantCallback string
	}{
		{
			name: "send-full", job: testJob(), doc: testPDF, answer: "send-ok.json", wantID: "01JPA3Z9Q3T7B5V1X8M2N6K4RD",
			wantCallback: "https://sinch-hook:pw-4b7e19c0d2@fax.example.com/sinch-callback?job_id=" + testJobID,
		},
		{
			name: "send-minimal-tiff-json-callback", job: minimal, doc: testTIFF, answer: "send-ok-minimal.json", wantID: "01JPA3ZC2E4G6J8K0M2P4R6T8V",
			cfg: func(c *Config) {
				c.CallbackContentType = CallbackJSON
				c.InboundBasicUser, c.InboundBasicPass = "", nil
			},
			wantCallback: "https://fax.example.com/sinch-callback?job_id=" + testJobID,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := providertest.NewFake(t, providertest.AnswerJSON(t, http.StatusOK, tt.answer))
			cfg := sendConfig(fc.URL(testBasePath), nil)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p := mustNew(t, cfg)
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

			if r.Method != http.MethodPost || r.Path != faxesPath {
				t.Errorf("got %s %s, want POST %s", r.Method, r.Path, faxesPath)
			}
			hr := &http.Request{Header: r.Header}
			if user, pass, ok := hr.BasicAuth(); !ok || user != testKeyID || pass != testKeySecret {
				t.Errorf("got Basic auth %q/%q (%v), want the access key", user, pass, ok)
			}
			if got := providertest.Field(t, r, "callbackUrl"); got != tt.wantCallback {
				t.Errorf("got callbackUrl %q, want %q", got, tt.wantCallback)
			}
			if got, want := providertest.Field(t, r, "callbackUrlContentType"), p.callbackType; got != want {
				t.Errorf("got callbackUrlContentType %q, want %q", got, want)
			}
			if got := providertest.Field(t, r, "labels[faxgate_id]"); got != testJobID {
				t.Errorf("got labels[faxgate_id] %q, want %q", got, testJobID)
			}
			f := tt.job.Fax
			if got := providertest.Field(t, r, "to"); got != f.To {
				t.Errorf("got to %q, want %q", got, f.To)
			}
			if f.HeaderText != "" {
				if got := providertest.Field(t, r, "headerText"); got != f.HeaderText {
					t.Errorf("got headerText %q, want %q", got, f.HeaderText)
				}
			}
			if f.From != "" {
				if got := providertest.Field(t, r, "from"); got != f.From {
					t.Errorf("got from %q, want %q", got, f.From)
				}
			} else if strings.Contains(string(r.Body), `name="from"`) {
				t.Error("got a from field for a fax without From")
			}
		})
	}
}

func TestSendDocumentChecks(t *testing.T) {
	for _, tt := range []struct{ docType, doc string }{
		{"text/plain", "hello"},
		{"", "hello"},
		{"application/pdf", ""},
	} {
		fc := providertest.NewFake(t, providertest.AnswerJSON(t, http.StatusOK, "send-ok.json"))
		p := sendProvider(t, fc.URL(testBasePath), nil)
		job := testJob()
		job.Fax.DocumentType = tt.docType
		_, err := p.Send(context.Background(), job, []byte(tt.doc))
		se := providertest.SendError(t, err)
		if se.Outcome != fax.SendPermanent || se.Failure == nil || se.Failure.Code != fax.FailDocument {
			t.Errorf("%q %q: got %+v, want a permanent document failure", tt.docType, tt.doc, se)
		}
		if n := len(fc.Requests()); n != 0 {
			t.Errorf("got %d requests, want none", n)
		}
	}
}

func TestSendProblem(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{ProjectID: "p", KeyID: "k", KeySecret: "s", PublicURL: testPublicURL}, ""},
		{Config{}, "set SINCH_PROJECT_ID, SINCH_KEY_ID, SINCH_KEY_SECRET and FAXGATE_PUBLIC_URL"},
		{Config{ProjectID: "p", PublicURL: testPublicURL}, "set SINCH_KEY_ID and SINCH_KEY_SECRET"},
		{Config{ProjectID: "p", KeyID: "k", KeySecret: "s"}, "set FAXGATE_PUBLIC_URL"},
	}
	for _, tt := range tests {
		if got := mustNew(t, tt.cfg).SendProblem(); got != tt.want {
			t.Errorf("SendProblem with %+v: got %q, want %q", tt.cfg, got, tt.want)
		}
	}
	fc := providertest.NewFake(t, providertest.AnswerJSON(t, http.StatusOK, "send-ok.json"))
	p := mustNew(t, Config{KeyID: "k", KeySecret: "s", BaseURL: fc.URL(testBasePath), PublicURL: testPublicURL})
	_, err := p.Send(context.Background(), testJob(), []byte(testPDF))
	if se := providertest.SendError(t, err); se.Outcome != fax.SendPermanent || !strings.Contains(se.Failure.Message, "SINCH_PROJECT_ID") {
		t.Errorf("Send unconfigured: got %+v, want a permanent failure naming SINCH_PROJECT_ID", se)
	}
	if n := len(fc.Requests()); n != 0 {
		t.Errorf("got %d requests from an unconfigured provider, want none", n)
	}
}

func TestNewSendSettings(t *testing.T) {
	bad := []Config{
		{CallbackContentType: "text/xml"},
		{PublicURL: "fax.example.com"},
		{PublicURL: "https://user:pw@fax.example.com"},
		{PublicURL: "https://fax.example.com/?a=b"},
		{AuthURL: "ftp://auth.example.com"},
	}
	for _, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v): got nil error", cfg)
		}
	}
	p := mustNew(t, Config{})
	if p.callbackType != CallbackMultipart || p.authURL != DefaultAuthURL || p.client.Timeout != DefaultTimeout {
		t.Errorf("got defaults %q %q %v, want %q %q %v", p.callbackType, p.authURL, p.client.Timeout, CallbackMultipart, DefaultAuthURL, DefaultTimeout)
	}
}

// TestSendFailures runs every way a send can fail and checks its class.
func TestSendFailures(t *testing.T) {
	blocked := make(chan struct{})
	t.Cleanup(func() { close(blocked) })
	leakSecret := `{"code":400,"status":"INVALID_ARGUMENT","message":"bad key ` + testKeySecret + `"}`
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		base       func(t *testing.T) (string, *http.Client) // instead of a fake Sinch
		client     *http.Client
		ctx        func() context.Context
		outcome    fax.SendOutcome
		retryAfter time.Duration
		code       string // failure code of a permanent error
		message    string // part of the failure message
		status     string // CarrierCode
	}{
		{name: "500", answer: providertest.AnswerJSON(t, 500, `{"code":500,"status":"INTERNAL","message":"Internal error"}`), outcome: fax.SendAmbiguous},
		{name: "502 html", answer: providertest.AnswerText(502, "text/html", "<html>Bad Gateway</html>"), outcome: fax.SendAmbiguous},
		{name: "503 retry-after", answer: providertest.WithHeader("Retry-After", "120", providertest.AnswerJSON(t, 503, `{"code":503,"status":"UNAVAILABLE"}`)), outcome: fax.SendRetryable, retryAfter: 2 * time.Minute},
		{name: "504", answer: providertest.AnswerText(504, "text/plain", "timeout"), outcome: fax.SendAmbiguous},
		{name: "429 seconds", answer: providertest.WithHeader("Retry-After", "30", providertest.AnswerJSON(t, 429, `{"code":429,"status":"RESOURCE_EXHAUSTED","message":"Too many requests"}`)), outcome: fax.SendRetryable, retryAfter: 30 * time.Second},
		{name: "429 date", answer: providertest.WithHeader("Retry-After", testNow().Add(90*time.Second).Format(http.TimeFormat), providertest.AnswerJSON(t, 429, `{}`)), outcome: fax.SendRetryable, retryAfter: 90 * time.Second},
		{name: "400 carrier message", answer: providertest.AnswerJSON(t, 400, "error-invalid.json"), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "Sinch refused the fax (HTTP 400): to: must be a valid E.164 phone number.", status: "400"},
		{name: "401", answer: providertest.AnswerJSON(t, 401, "error-unauthenticated.json"), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "check SINCH_KEY_ID and SINCH_KEY_SECRET", status: "401"},
		{name: "402", answer: providertest.AnswerJSON(t, 402, `{"code":402,"status":"PAYMENT_REQUIRED","message":"Insufficient balance"}`), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "Insufficient balance", status: "402"},
		{name: "404", answer: providertest.AnswerText(404, "text/html", "<h1>Not Found</h1>"), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "Sinch refused the fax (HTTP 404).", status: "404"},
		{name: "422 conversion", answer: providertest.AnswerJSON(t, 422, "error-conversion.json"), outcome: fax.SendPermanent, code: fax.FailDocument, message: "Unable to convert the file", status: "422"},
		{name: "secret echoed", answer: providertest.AnswerJSON(t, 400, leakSecret), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "bad key [redacted]", status: "400"},
		{name: "redirect not followed", answer: providertest.Redirect("/elsewhere", http.StatusTemporaryRedirect), outcome: fax.SendPermanent, code: fax.FailCarrier, message: "SINCH_BASE_URL", status: "307"},
		{name: "failed on arrival", answer: providertest.AnswerJSON(t, 200, "send-failure-conversion.json"), outcome: fax.SendPermanent, code: fax.FailDocument, message: "The document could not be prepared for faxing.", status: "47"},
		{name: "unparseable 2xx", answer: providertest.AnswerText(200, "text/html", "<html>Welcome to the captive portal</html>"), outcome: fax.SendAmbiguous},
		{name: "2xx without id", answer: providertest.AnswerJSON(t, 200, `{"status":"QUEUED"}`), outcome: fax.SendAmbiguous},
		{name: "2xx truncated", answer: providertest.Truncated(`{"id":"01JPA3Z9Q3T7`), outcome: fax.SendAmbiguous},
		{name: "closed after reading the request", answer: providertest.CloseAfterRead, outcome: fax.SendAmbiguous},
		{name: "timeout after sending", answer: providertest.Block(blocked), client: &http.Client{Timeout: 250 * time.Millisecond}, outcome: fax.SendAmbiguous},
		{name: "timeout after sending over HTTP/2", base: providertest.H2Blocking(blocked, ""), outcome: fax.SendAmbiguous},
		{name: "nothing listening", base: providertest.NothingListening(""), outcome: fax.SendRetryable},
		{name: "dns failure", base: providertest.DNSFailure("fax.api.sinch.invalid", ""), outcome: fax.SendRetryable},
		{name: "tls handshake failure", base: providertest.UntrustedTLS(""), outcome: fax.SendRetryable},
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
			checkNoSecrets(t, err)
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

// checkNoSecrets fails if err or its Failure reveals a credential.
func checkNoSecrets(tb testing.TB, err error) {
	tb.Helper()
	all := err.Error()
	var se *fax.SendError
	if errors.As(err, &se) && se.Failure != nil {
		all += se.Failure.Message + se.Failure.CarrierMessage + se.Failure.CarrierType
	}
	for _, s := range []string{testKeySecret, testPass, testSecret, "tok-1", "tok-2"} {
		if strings.Contains(all, s) {
			tb.Errorf("error %q reveals a secret", all)
		}
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
