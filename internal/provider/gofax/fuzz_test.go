package gofax

import (
	"bytes"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// seedFixtures adds every testdata request to f as (query, authorization,
// content type, body).
func seedFixtures(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob("testdata/*.http")
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		r, body := readFixture(f, file)
		f.Add(r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body)
	}
	f.Add("job_id=a&token=b&job_id=a", "Basic Og==", "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"ID\"\r\n\r\n1\r\n--x--\r\n"))
	f.Add("%", "Basic", "text/plain", []byte("ID=1;Success=True"))
}

func fuzzRequest(path, query, authz, contentType string) *http.Request {
	h := http.Header{}
	if authz != "" {
		h.Set("Authorization", authz)
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return &http.Request{Method: http.MethodPost, URL: &url.URL{Path: path, RawQuery: query}, Header: h, RemoteAddr: "192.0.2.1:1"}
}

// checkNoSecret fails when err's text holds a configured secret.
func checkNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{testPass, testPassOld, tokenA, tokenB, testAPIToken} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error %q echoes a secret", err)
		}
	}
}

func fuzzVerify(f *testing.F, path string, verify func(*Provider) func(*http.Request, []byte) error) {
	seedFixtures(f)
	configs := []Config{testConfig(), {Tokens: []string{testAPIToken}}, {Tokens: []string{testAPIToken}, Insecure: true, CallbackTokenFunc: storedTokens}}
	var ps []*Provider
	for _, c := range configs {
		ps = append(ps, mustNew(f, c))
	}
	f.Fuzz(func(t *testing.T, query, authz, contentType string, body []byte) {
		for i, p := range ps {
			err := verify(p)(fuzzRequest(path, query, authz, contentType), body)
			if code := fax.ErrorCode(err); code != "" && code != fax.ECodeUnauthorized {
				t.Fatalf("config %d: got code %q (%v), want unauthorized or nil", i, code, err)
			}
			if i == 1 && err == nil {
				t.Fatalf("nothing configured: accepted query %q authz %q", query, authz)
			}
			checkNoSecret(t, err)
		}
	})
}

func FuzzVerifyCallback(f *testing.F) {
	fuzzVerify(f, CallbackPath, func(p *Provider) func(*http.Request, []byte) error { return p.VerifyCallback })
}

func FuzzVerifyInbound(f *testing.F) {
	fuzzVerify(f, InboundPath, func(p *Provider) func(*http.Request, []byte) error { return p.VerifyInbound })
}

// checkUpdates holds what every successful parse promises.
func checkUpdates(t *testing.T, kind fax.UpdateKind, ups []fax.Update) {
	t.Helper()
	if len(ups) != 1 {
		t.Fatalf("got %d updates, want 1", len(ups))
	}
	u := ups[0]
	if u.Provider != Name || u.Kind != kind {
		t.Fatalf("got provider %q kind %q, want %q %q", u.Provider, u.Kind, Name, kind)
	}
	if u.ProviderFaxID == "" || !validID(u.ProviderFaxID) || (u.FaxID != "" && !validID(u.FaxID)) {
		t.Fatalf("got ids %q %q, want printable ids", u.ProviderFaxID, u.FaxID)
	}
	if !strings.HasPrefix(u.EventKey, "gofax:") || !strings.Contains(u.EventKey, u.ProviderFaxID) {
		t.Fatalf("got event key %q for %q", u.EventKey, u.ProviderFaxID)
	}
	switch kind {
	case fax.UpdateStatus, fax.UpdateSMS:
		if (u.Status == fax.StatusSent) != (u.Failure == nil) || (u.Status != fax.StatusSent && u.Status != fax.StatusFailed) {
			t.Fatalf("got status %q failure %+v", u.Status, u.Failure)
		}
		if u.Failure != nil && (u.Failure.Code == "" || u.Failure.Message == "" || len(u.Failure.CarrierMessage) > maxMsgLen) {
			t.Fatalf("got failure %+v", u.Failure)
		}
	case fax.UpdateInbound:
		if u.Status != fax.StatusReceived && u.Status != fax.StatusPartial {
			t.Fatalf("got status %q", u.Status)
		}
		if _, err := fax.ParseNumber(u.To); err != nil {
			t.Fatalf("got To %q: %v", u.To, err)
		}
		if _, err := fax.ParseNumber(u.From); u.From != "" && err != nil {
			t.Fatalf("got From %q: %v", u.From, err)
		}
		if u.Pages < 0 || u.Pages > maxPages {
			t.Fatalf("got %d pages", u.Pages)
		}
		if u.Document != nil && u.Document.FetchID != u.ProviderFaxID {
			t.Fatalf("got document %+v for %q", u.Document, u.ProviderFaxID)
		}
	}
}

func fuzzParse(f *testing.F, path string, kind fax.UpdateKind, parse func(*Provider) func(*http.Request, []byte) ([]fax.Update, error)) {
	seedFixtures(f)
	p := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, query, authz, contentType string, body []byte) {
		ups, err := parse(p)(fuzzRequest(path, query, authz, contentType), body)
		if err != nil {
			if code := fax.ErrorCode(err); code != fax.ECodeInvalid {
				t.Fatalf("got code %q (%v), want invalid", code, err)
			}
			checkNoSecret(t, err)
			return
		}
		checkUpdates(t, kind, ups)
		// The same event parses to the same update: dedup relies on it.
		again, err := parse(p)(fuzzRequest(path, query, authz, contentType), bytes.Clone(body))
		if err != nil || again[0].EventKey != ups[0].EventKey {
			t.Fatalf("second parse: got %v %v, want the same update", again, err)
		}
	})
}

func FuzzParseCallback(f *testing.F) {
	fuzzParse(f, CallbackPath, fax.UpdateStatus, func(p *Provider) func(*http.Request, []byte) ([]fax.Update, error) { return p.ParseCallback })
}

func FuzzParseSMSCallback(f *testing.F) {
	fuzzParse(f, SMSCallbackPath, fax.UpdateSMS, func(p *Provider) func(*http.Request, []byte) ([]fax.Update, error) { return p.ParseSMSCallback })
}

func FuzzParseInbound(f *testing.F) {
	fuzzParse(f, InboundPath, fax.UpdateInbound, func(p *Provider) func(*http.Request, []byte) ([]fax.Update, error) { return p.ParseInbound })
}
