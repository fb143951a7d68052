package sinch

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// answerSeeds returns the answers in testdata/answers.
func answerSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	names, err := filepath.Glob("testdata/answers/*.json")
	if err != nil || len(names) == 0 {
		tb.Fatalf("no answers in testdata/answers: %v", err)
	}
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return append(out, []byte("<html>"), []byte(`{"faxes":[{"labels":[]},{"callbackUrl":"%zz"}]}`), []byte(`{"id":{}}`))
}

func FuzzReadSendAnswer(f *testing.F) {
	for _, b := range answerSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id, failed, err := readSendAnswer(body)
		if err != nil {
			if id != "" || failed != nil {
				t.Fatalf("got id %q, failure %+v with error %v", id, failed, err)
			}
			return
		}
		if id == "" || !validID(id) {
			t.Fatalf("got invalid id %q without an error", id)
		}
		if failed != nil {
			for _, s := range []string{failed.Code, failed.Message, failed.CarrierType, failed.CarrierCode, failed.CarrierMessage} {
				if !utf8.ValidString(s) {
					t.Fatalf("got invalid UTF-8 in %+v", failed)
				}
			}
		}
	})
}

func FuzzReadFindAnswer(f *testing.F) {
	for _, b := range answerSeeds(f) {
		f.Add(b, testJobID)
	}
	f.Fuzz(func(t *testing.T, body []byte, faxID string) {
		id, found, err := readFindAnswer(body, faxID)
		if found && (err != nil || id == "" || !validID(id)) {
			t.Fatalf("got found with id %q, error %v", id, err)
		}
		if !found && id != "" {
			t.Fatalf("got id %q without found", id)
		}
	})
}

func FuzzReadToken(f *testing.F) {
	for _, b := range answerSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		token, life, err := readToken(body)
		if err != nil {
			return
		}
		if token == "" || strings.ContainsAny(token, " \r\n\t") || life <= 0 {
			t.Fatalf("got token %q valid for %v", token, life)
		}
	})
}

// FuzzRefusal feeds any status, Retry-After and body to the classifier of
// non-2xx answers: it must always pick a class, and what it says must be
// valid UTF-8 without the access key secret.
func FuzzRefusal(f *testing.F) {
	for _, b := range answerSeeds(f) {
		f.Add(422, "", b)
		f.Add(503, "120", b)
	}
	f.Add(400, "", []byte(`{"message":"`+testKeySecret+`","details":[{"reason":"DOCUMENT_CONVERSION_ERROR"}]}`))
	p := sendProvider(f, "http://127.0.0.1:1", nil)
	f.Fuzz(func(t *testing.T, status int, retry string, body []byte) {
		h := http.Header{}
		h.Set("Retry-After", retry)
		se := p.refusal(&carrier.Answer{Status: status, Header: h, Body: body})
		switch se.Outcome {
		case fax.SendRetryable, fax.SendAmbiguous:
			if se.Failure != nil {
				t.Fatalf("got Failure %+v with outcome %d", se.Failure, se.Outcome)
			}
		case fax.SendPermanent:
			fl := se.Failure
			if fl == nil || fl.Code == "" || fl.Message == "" {
				t.Fatalf("got failure %+v", fl)
			}
			for _, s := range []string{fl.Message, fl.CarrierType, fl.CarrierMessage} {
				if !utf8.ValidString(s) || strings.Contains(s, testKeySecret) {
					t.Fatalf("got %q, want valid UTF-8 without the secret", s)
				}
			}
		default:
			t.Fatalf("got outcome %d", se.Outcome)
		}
		if se.RetryAfter < 0 || se.RetryAfter > carrier.MaxRetryAfter {
			t.Fatalf("got RetryAfter %v", se.RetryAfter)
		}
	})
}
