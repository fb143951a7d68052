package phaxio

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
)

// fuzzRequest builds a request for fuzzed inputs, which may be anything.
func fuzzRequest(target, contentType string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if u, err := r.URL.Parse(target); err == nil {
		r.URL = u
	}
	r.Header.Set("Content-Type", contentType)
	return r
}

func checkError(t *testing.T, err error, code string) {
	t.Helper()
	var fe *fax.Error
	if err != nil && (!errors.As(err, &fe) || fe.Code != code || fe.Message == "") {
		t.Fatalf("got error %v, want *fax.Error with code %s", err, code)
	}
}

func FuzzVerifyWebhook(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.contentType, fx.target(), sha256Sig(testSecret, fx.body), fx.body)
		if s := sha1Sig(f, testToken, testPublicURL+fx.target(), fx.contentType, fx.body); s != "" {
			f.Add(fx.contentType, fx.target(), s, fx.body)
		}
	}
	p := testProvider(f)
	f.Fuzz(func(t *testing.T, contentType, target, sig string, body []byte) {
		r := fuzzRequest(target, contentType)
		r.Header.Set(SignatureHeader, sig)
		checkError(t, p.VerifyWebhook(r, body), fax.ECodeUnauthorized)
	})
}

func FuzzParseCallback(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		if !fx.inbound() {
			f.Add(fx.contentType, fx.target(), fx.body)
		}
	}
	p := testProvider(f)
	f.Fuzz(func(t *testing.T, contentType, target string, body []byte) {
		updates, err := p.ParseCallback(fuzzRequest(target, contentType), body)
		checkError(t, err, fax.ECodeInvalid)
		for _, u := range updates {
			checkStrings(t, u)
			if u.Provider != Name || u.FaxID == "" || u.EventKey == "" {
				t.Fatalf("got %+v, want provider, fax id and event key set", u)
			}
			switch u.Kind {
			case fax.UpdateStatus:
				if !u.Status.OutboundStatus() || (u.Status == fax.StatusFailed) != (u.Failure != nil) {
					t.Fatalf("got status %q with failure %v", u.Status, u.Failure)
				}
			case fax.UpdatePage:
				if u.Page < 1 {
					t.Fatalf("got page %d, want at least 1", u.Page)
				}
			case fax.UpdateRetry:
			default:
				t.Fatalf("got kind %q", u.Kind)
			}
		}
	})
}

func FuzzParseInbound(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		if fx.inbound() {
			f.Add(fx.contentType, fx.body)
		}
	}
	p := testProvider(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		updates, err := p.ParseInbound(fuzzRequest(inboundPath, contentType), body)
		checkError(t, err, fax.ECodeInvalid)
		for _, u := range updates {
			checkStrings(t, u)
			if u.Kind != fax.UpdateInbound || u.ProviderFaxID == "" || u.EventKey == "" {
				t.Fatalf("got %+v, want an inbound update with ids", u)
			}
			if u.Status != fax.StatusReceived && u.Status != fax.StatusPartial {
				t.Fatalf("got status %q, want received or partial", u.Status)
			}
			if _, err := fax.ParseNumber(u.To); err != nil {
				t.Fatalf("got To %q: %v", u.To, err)
			}
			if u.From != "" {
				if _, err := fax.ParseNumber(u.From); err != nil {
					t.Fatalf("got From %q: %v", u.From, err)
				}
			}
			if n := sources(u.Document); n != 1 {
				t.Fatalf("got document %+v with %d sources, want exactly one", u.Document, n)
			}
		}
	})
}

// checkStrings fails unless every string of u is valid UTF-8: they are
// stored and sent on to users.
func checkStrings(t *testing.T, u fax.Update) {
	t.Helper()
	all := []string{u.EventKey, u.FaxID, u.ProviderFaxID, u.From, u.To}
	if u.Failure != nil {
		all = append(all, u.Failure.Code, u.Failure.Message, u.Failure.CarrierType, u.Failure.CarrierCode, u.Failure.CarrierMessage)
	}
	if u.Document != nil {
		all = append(all, u.Document.URL, u.Document.FetchID)
	}
	for _, s := range all {
		if !utf8.ValidString(s) {
			t.Fatalf("got invalid UTF-8 %q in %+v", s, u)
		}
	}
}

func sources(d *fax.InboundDocument) int {
	if d == nil {
		return 0
	}
	n := 0
	for _, set := range []bool{len(d.Bytes) > 0, d.URL != "", d.FetchID != "", d.Key != "", d.TIFFPath != ""} {
		if set {
			n++
		}
	}
	return n
}
