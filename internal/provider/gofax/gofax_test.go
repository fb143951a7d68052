package gofax

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // the setting the error must name; "" for none
	}{
		{name: "valid", edit: func(*Config) {}},
		{name: "no basic", edit: func(c *Config) { c.WebhookUser, c.WebhookPass = "", nil }},
		{name: "no token", edit: func(c *Config) { c.Tokens = nil }, wantErr: "GOFAX_TOKEN"},
		{name: "empty token", edit: func(c *Config) { c.Tokens = []string{testAPIToken, ""} }, wantErr: "GOFAX_TOKEN"},
		{name: "spaced token", edit: func(c *Config) { c.Tokens = []string{" " + testAPIToken} }, wantErr: "GOFAX_TOKEN"},
		{name: "user without pass", edit: func(c *Config) { c.WebhookPass = nil }, wantErr: "GOFAX_WEBHOOK_PASS"},
		{name: "pass without user", edit: func(c *Config) { c.WebhookUser = "" }, wantErr: "GOFAX_WEBHOOK_USER"},
		{name: "empty pass", edit: func(c *Config) { c.WebhookPass = []string{testPass, ""} }, wantErr: "GOFAX_WEBHOOK_PASS"},
		{name: "user with colon", edit: func(c *Config) { c.WebhookUser = "a:b" }, wantErr: "GOFAX_WEBHOOK_USER"},
		{name: "base url", edit: func(c *Config) { c.BaseURL = "http://127.0.0.1:9999/" }},
		{name: "bad base url", edit: func(c *Config) { c.BaseURL = "restful-api.gofax.com.au" }, wantErr: "GOFAX_BASE_URL"},
		{name: "base url with query", edit: func(c *Config) { c.BaseURL = "https://x.example/?a=b" }, wantErr: "GOFAX_BASE_URL"},
		{name: "bad public url", edit: func(c *Config) { c.PublicURL = "fax.example.com" }, wantErr: "FAXGATE_PUBLIC_URL"},
		{name: "public url with credentials", edit: func(c *Config) { c.PublicURL = "https://u:p@fax.example.com" }, wantErr: "FAXGATE_PUBLIC_URL"},
		{name: "no public url", edit: func(c *Config) { c.PublicURL = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(&cfg)
			_, err := New(cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("got no error, want one naming %s", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("got error %q, want it to name %s", err, tt.wantErr)
			}
			if err != nil {
				for _, secret := range []string{testPass, testPassOld, testAPIToken} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q echoes a secret", err)
					}
				}
			}
		})
	}
}

func TestCallbackURL(t *testing.T) {
	tests := []struct {
		public, faxID, token, want string
	}{
		{"https://fax.example.com.au", faxA, tokenA,
			"https://fax.example.com.au/gofax-callback?job_id=" + faxA + "&token=" + tokenA},
		{"https://fax.example.com.au/", faxA, tokenA,
			"https://fax.example.com.au/gofax-callback?job_id=" + faxA + "&token=" + tokenA},
		{"https://example.com/faxgate/", "fax_1", "a+b/c=", "https://example.com/faxgate/gofax-callback?job_id=fax_1&token=a%2Bb%2Fc%3D"},
		{"http://127.0.0.1:8080", "fax_1", "t", "http://127.0.0.1:8080/gofax-callback?job_id=fax_1&token=t"},
		{"", faxA, tokenA, ""},
	}
	for _, tt := range tests {
		cfg := testConfig()
		cfg.PublicURL = tt.public
		p := mustNew(t, cfg)
		if got := p.CallbackURL(tt.faxID, tt.token); got != tt.want {
			t.Errorf("CallbackURL(%q) with %q: got %q, want %q", tt.faxID, tt.public, got, tt.want)
		}
	}
}

// TestCallbackURLRoundTrip sends faxgate's own CallbackURL back the way
// GoFax does, its fields appended to the query, and expects it to verify and
// name the fax.
func TestCallbackURLRoundTrip(t *testing.T) {
	cfg := testConfig()
	cfg.WebhookUser, cfg.WebhookPass = "", nil
	p := mustNew(t, cfg)
	cb := p.CallbackURL(faxB, tokenB)
	u, err := url.Parse(cb + "&Recipient=61298765432&ID=52873399&Success=False&Message=Line+busy")
	if err != nil {
		t.Fatal(err)
	}
	r := &http.Request{Method: http.MethodPost, URL: u, Header: http.Header{}}
	if err := p.VerifyCallback(r, nil); err != nil {
		t.Fatalf("VerifyCallback: %v", err)
	}
	ups, err := p.ParseCallback(r, nil)
	if err != nil {
		t.Fatalf("ParseCallback: %v", err)
	}
	if len(ups) != 1 || ups[0].FaxID != faxB || ups[0].Status != fax.StatusFailed || ups[0].Failure.Code != fax.FailBusy {
		t.Errorf("got %+v, want fax %s failed busy", ups, faxB)
	}
}

func TestFailureCode(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"Busy", fax.FailBusy},
		{"Line engaged", fax.FailBusy},
		{"No answer", fax.FailNoAnswer},
		{"Ring timeout", fax.FailNoAnswer},
		{"No user responding", fax.FailNoAnswer},
		{"Network congestion", fax.FailCongestion},
		{"Unallocated number", fax.FailNotOperational},
		{"The number is not in service", fax.FailNotOperational},
		{"Outgoing calls barred", fax.FailNotOperational},
		{"Cancelled by user", fax.FailCanceled},
		{"Failed Conversion - Code 14", fax.FailDocument},
		{"Call answered by voice, no fax tone", fax.FailFax},
		{"COMREC invalid command received/no DIS or DTC", fax.FailFax},
		{"DIS/DTC received 3 times; DCS not recognized", fax.FailFax},
		{"Timed out waiting for the remote", fax.FailTimeout},
		{"Transmission error", fax.FailLine},
		{"Call disconnected after several minutes", fax.FailLine},
		{"Failed - Please Resubmit", fax.FailCarrier},
		{"", fax.FailCarrier},
	}
	for _, tt := range tests {
		if got := failureCode(tt.msg); got != tt.want {
			t.Errorf("failureCode(%q): got %q, want %q", tt.msg, got, tt.want)
		}
	}
}

// TestParseDuplicateFields checks the rule that a field given twice must
// agree, in the query and the body.
func TestParseDuplicateFields(t *testing.T) {
	p := mustNew(t, testConfig())
	tests := []struct {
		query, body string
		wantErr     bool
	}{
		{"ID=1", "ID=1&Success=True", false},
		{"ID=1", "ID=2&Success=True", true},
		{"", "ID=1&ID=2&Success=True", true},
		{"Success=True", "ID=1&Success=False", true},
		{"job_id=" + faxA, "job_id=" + faxB + "&ID=1&Success=True", true},
	}
	for _, tt := range tests {
		r := &http.Request{URL: &url.URL{Path: CallbackPath, RawQuery: tt.query}, Header: http.Header{}}
		_, err := p.ParseCallback(r, []byte(tt.body))
		if (err != nil) != tt.wantErr {
			t.Errorf("query %q body %q: got error %v, want error %v", tt.query, tt.body, err, tt.wantErr)
		}
		if err != nil && fax.ErrorCode(err) != fax.ECodeInvalid {
			t.Errorf("query %q body %q: got code %q, want invalid", tt.query, tt.body, fax.ErrorCode(err))
		}
	}
}
