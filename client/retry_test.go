package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/client"
)

// TestClientRetries: a 429 or 503 is sent again, body and idempotency key
// unchanged, until the retries run out; other errors are not retried.
func TestClientRetries(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies, keys []string
	answers := []int{429, 503, 202}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		code := 503
		if len(answers) > 0 {
			code, answers = answers[0], answers[1:]
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if code >= 300 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(code)
			io.WriteString(w, `{"error":{"code":"unavailable","message":"busy","request_id":"req_1"}}`)
			return
		}
		w.WriteHeader(code)
		io.WriteString(w, `{"id":"fax_1","status":"queued"}`)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "k", &client.Options{MaxRetryWait: time.Millisecond})
	ctx := context.Background()
	f, err := c.SendFax(ctx, client.SendRequest{To: "+15551230100", Document: strings.NewReader("doc"), Filename: "a.txt"})
	if err != nil || f.ID != "fax_1" {
		t.Fatalf("got %+v, %v; want fax_1 after two retries", f, err)
	}
	if len(bodies) != 3 || bodies[0] != bodies[2] || bodies[0] == "" || keys[0] == "" || keys[0] != keys[2] {
		t.Fatalf("got %d requests (keys %q), want 3 with one body and one idempotency key", len(bodies), keys)
	}
	// Bounded: after MaxRetries more 503s the error is returned.
	bodies = nil
	c, _ = client.New(srv.URL, "k", &client.Options{MaxRetries: 2, MaxRetryWait: time.Millisecond})
	_, err = c.GetFax(ctx, "fax_1")
	var e *client.Error
	if !errors.As(err, &e) || e.Status != 503 || e.RequestID != "req_1" || len(bodies) != 3 {
		t.Fatalf("got %v after %d requests, want a 503 *client.Error after 3", err, len(bodies))
	}
}

// TestClientNoRetryOfOtherErrors: a 400 is answered at once.
func TestClientNoRetryOfOtherErrors(t *testing.T) {
	t.Parallel()
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.WriteHeader(400)
		io.WriteString(w, `{"error":{"code":"invalid","message":"no","request_id":"req_2"}}`)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "k", nil)
	_, err := c.GetFax(context.Background(), "x")
	var e *client.Error
	if !errors.As(err, &e) || e.Code != "invalid" || n != 1 {
		t.Fatalf("got %v after %d requests, want one invalid error", err, n)
	}
}

// TestClientRetryAfterCanceled: a wait for Retry-After ends with the
// context.
func TestClientRetryAfterCanceled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	c, _ := client.New(srv.URL, "k", &client.Options{MaxRetryWait: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := c.GetFax(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
