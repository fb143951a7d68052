package phaxio

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/google/go-cmp/cmp"
)

const (
	testAPIKey = "phx-key-5c1d77"
	testTo     = "+15551230007"
	testFrom   = "+15559870002"
)

// testPDF and testTIFF are small documents; only their first bytes matter.
const (
	testPDF  = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
	testTIFF = "II*\x00\x08\x00\x00\x00\x00\x00"
)

// testNow is the injected clock of the send tests.
func testNow() time.Time { return time.Date(2026, 3, 15, 2, 0, 0, 0, time.UTC) }

func testJob() *fax.DispatchJob {
	return &fax.DispatchJob{Attempt: 1, Fax: &fax.Fax{
		ID:           testJobID,
		Direction:    fax.Outbound,
		Status:       fax.StatusSending,
		To:           testTo,
		From:         testFrom,
		HeaderText:   "Acme Clinic – Records",
		DocumentType: "application/pdf",
		CreatedAt:    testNow().Add(-3 * time.Minute),
	}}
}

// recorded is one request as the fake carrier received it.
type recorded struct {
	method, path, rawQuery string
	header                 http.Header
	body                   []byte
}

// fakeCarrier is a loopback Phaxio: it records every request, then lets
// answer respond. Its URL plus "/v2.1" is the provider's base URL, so that
// a base path is exercised too.
type fakeCarrier struct {
	srv    *httptest.Server
	answer http.HandlerFunc
	mu     sync.Mutex
	reqs   []recorded
}

func newFake(t *testing.T, answer http.HandlerFunc) *fakeCarrier {
	t.Helper()
	fc := &fakeCarrier{answer: answer}
	fc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("fake carrier: read body: %v", err)
		}
		fc.mu.Lock()
		fc.reqs = append(fc.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		fc.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		fc.answer(w, r)
	}))
	t.Cleanup(fc.srv.Close)
	return fc
}

func (fc *fakeCarrier) baseURL() string { return fc.srv.URL + "/v2.1" }

func (fc *fakeCarrier) requests() []recorded {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return slices.Clone(fc.reqs)
}

// answerJSON answers with status and a JSON body read from testdata/answers
// (name ending .json) or given literally.
func answerJSON(tb testing.TB, status int, body string) http.HandlerFunc {
	tb.Helper()
	b := []byte(body)
	if strings.HasSuffix(body, ".json") {
		var err error
		if b, err = os.ReadFile("testdata/answers/" + body); err != nil {
			tb.Fatal(err)
		}
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(b)
	}
}

// sendProvider is a provider set up for sending to baseURL and verifying
// both webhook signatures.
func sendProvider(tb testing.TB, baseURL string, client *http.Client) *Provider {
	tb.Helper()
	return mustNew(tb, Config{
		APIKey:        testAPIKey,
		APISecrets:    []string{testSecret, "apisec-old"},
		WebhookTokens: []string{testToken},
		PublicURL:     testPublicURL + "/",
		BaseURL:       baseURL,
		HTTPClient:    client,
		Now:           testNow,
	})
}

// volatile reports headers that differ between runs or Go versions; they
// stay out of the golden files.
func volatile(header string) bool { return header == "Accept-Encoding" || header == "Content-Length" }

// renderRequest writes a request as a golden file holds it: method and path,
// the query decoded and sorted, the headers sorted (the Basic password and
// the multipart boundary masked), then each multipart part in order, a file
// part summarised by its name, filename, type, size and SHA-256.
func renderRequest(tb testing.TB, r recorded) string {
	tb.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.method, r.path)
	q, err := url.ParseQuery(r.rawQuery)
	if err != nil {
		tb.Fatalf("query %q: %v", r.rawQuery, err)
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range q[k] {
			fmt.Fprintf(&b, "query %s=%s\n", k, v)
		}
	}
	var boundary string
	names := make([]string, 0, len(r.header))
	for k := range r.header {
		if !volatile(k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range r.header[k] {
			switch k {
			case "Authorization":
				v = maskAuthorization(tb, v)
			case "Content-Type":
				if mt, params, err := mime.ParseMediaType(v); err == nil && mt == "multipart/form-data" {
					boundary = params["boundary"]
					v = mt + "; boundary=BOUNDARY"
				}
			}
			fmt.Fprintf(&b, "header %s: %s\n", k, v)
		}
	}
	if boundary == "" {
		if len(r.body) > 0 {
			fmt.Fprintf(&b, "body %s\n", r.body)
		}
		return b.String()
	}
	for _, p := range parts(tb, r.body, boundary) {
		if p.filename != "" {
			sum := sha256.Sum256(p.data)
			fmt.Fprintf(&b, "file %s filename=%q content-type=%s size=%d sha256=%s\n", p.name, p.filename, p.contentType, len(p.data), hex.EncodeToString(sum[:]))
		} else {
			fmt.Fprintf(&b, "field %s=%q\n", p.name, p.data)
		}
	}
	return b.String()
}

func maskAuthorization(tb testing.TB, v string) string {
	tb.Helper()
	scheme, cred, _ := strings.Cut(v, " ")
	if scheme != "Basic" {
		return v
	}
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		tb.Fatalf("Authorization %q is not base64", v)
	}
	user, _, _ := strings.Cut(string(raw), ":")
	return "Basic " + user + ":***"
}

type formPart struct {
	name, filename, contentType string
	data                        []byte
}

// parts reads a multipart body with the standard library, keeping the order.
func parts(tb testing.TB, body []byte, boundary string) []formPart {
	tb.Helper()
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var out []formPart
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("multipart body: %v", err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			tb.Fatalf("multipart part: %v", err)
		}
		out = append(out, formPart{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), data})
	}
}

// field returns the value of the first part called name.
func field(tb testing.TB, r recorded, name string) string {
	tb.Helper()
	_, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, p := range parts(tb, r.body, params["boundary"]) {
		if p.name == name {
			return string(p.data)
		}
	}
	tb.Fatalf("request has no part %q", name)
	return ""
}

// checkGolden compares got with testdata/requests/name.golden, rewriting it
// under -update.
func checkGolden(tb testing.TB, name, got string) {
	tb.Helper()
	path := "testdata/requests/" + name + ".golden"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		tb.Errorf("request differs from %s (-want +got):\n%s", path, diff)
	}
}

// sendError returns err's *fax.SendError, failing the test for any other
// error.
func sendError(tb testing.TB, err error) *fax.SendError {
	tb.Helper()
	var se *fax.SendError
	if !errors.As(err, &se) {
		tb.Fatalf("got error %v (%T), want a *fax.SendError", err, err)
	}
	return se
}

// discardLog silences a test server's error log (expected TLS failures).
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
