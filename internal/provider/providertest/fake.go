package providertest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Request is one request as a Fake received it.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// Fake is a loopback carrier API: it records every request, then lets
// answer respond.
type Fake struct {
	srv    *httptest.Server
	answer http.HandlerFunc
	mu     sync.Mutex
	reqs   []Request
}

// NewFake starts a Fake answering with answer, closed when t ends.
func NewFake(t *testing.T, answer http.HandlerFunc) *Fake {
	t.Helper()
	fc := &Fake{answer: answer}
	fc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("fake carrier: read body: %v", err)
		}
		fc.mu.Lock()
		fc.reqs = append(fc.reqs, Request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		fc.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		fc.answer(w, r)
	}))
	t.Cleanup(fc.srv.Close)
	return fc
}

// URL is the Fake's address followed by path, so that a carrier's base
// path (Phaxio's /v2.1) or a trailing slash is exercised too.
func (fc *Fake) URL(path string) string { return fc.srv.URL + path }

// Requests returns what the Fake received so far, in order.
func (fc *Fake) Requests() []Request {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return slices.Clone(fc.reqs)
}

// AnswerJSON answers with status and a JSON body read from
// testdata/answers of the calling package (name ending .json) or given
// literally.
func AnswerJSON(tb testing.TB, status int, body string) http.HandlerFunc {
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

// AnswerText answers with status, contentType and body.
func AnswerText(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// WithHeader sets a header before h answers.
func WithHeader(name, value string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(name, value)
		h(w, r)
	}
}
