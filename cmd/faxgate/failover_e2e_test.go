package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/config"
)

// sinchLine is Sinch's fax API on loopback: it takes sends with the right
// key, counts them per number and reports each sent with FAX_COMPLETED.
type sinchLine struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	dials map[string]int
	n     int
	done  sync.WaitGroup
}

func newSinchLine(t *testing.T) *sinchLine {
	s := &sinchLine{t: t, dials: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() { s.done.Wait(); s.srv.Close() })
	return s
}

func (s *sinchLine) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != "POST" || r.URL.Path != "/v3/projects/proj-1/faxes" {
		w.WriteHeader(404)
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != "key-id" || p != "key-secret" {
		w.WriteHeader(401)
		return
	}
	fields := formFields(r)
	s.mu.Lock()
	s.dials[fields["to"]]++
	s.n++
	id := "01JPBCH4K6N8Q0S2V4X6Z8B" + strconv.Itoa(100+s.n)
	s.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"id": id, "direction": "OUTBOUND", "status": "QUEUED", "to": fields["to"]})
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		body, _ := json.Marshal(map[string]any{"event": "FAX_COMPLETED", "eventTime": "2026-11-23T10:00:00Z",
			"fax": map[string]any{"id": id, "direction": "OUTBOUND", "status": "COMPLETED",
				"numberOfPages": 1, "pagesSentSuccessfully": 1, "to": fields["to"]}})
		resp, err := http.Post(fields["callbackUrl"], "application/json", bytes.NewReader(body))
		if err != nil {
			s.t.Errorf("sinch callback: %v", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			s.t.Errorf("sinch callback: got %d", resp.StatusCode)
		}
	}()
}

func (s *sinchLine) dialed(to string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dials[to]
}

// sinchEnv configures Sinch against the fake.
func sinchEnv(s *sinchLine) []gatewayOption {
	return []gatewayOption{
		withEnv("SINCH_PROJECT_ID", "proj-1"), withEnv("SINCH_KEY_ID", "key-id"), withEnv("SINCH_KEY_SECRET", "key-secret"),
		withEnv("SINCH_BASE_URL", s.srv.URL), withEnv("SINCH_INBOUND_BASIC_USER", "sinch-hook"),
		withEnv("SINCH_INBOUND_BASIC_PASS", "hook-pass"), withEnv("SINCH_CALLBACK_CONTENT_TYPE", "application/json"),
	}
}

// TestFailoverOnRejectedCredentials: Phaxio answers 401 (the fax was not
// accepted), so the send moves at once to Sinch, the next carrier of
// FAXGATE_PROVIDER_FALLBACK, and completes there; the fax records both
// carriers, and each number was dialed once.
func TestFailoverOnRejectedCredentials(t *testing.T) {
	t.Parallel()
	const to = "+15551239200"
	phx := newLineFake(t, nil)
	snc := newSinchLine(t)
	opts := append(sinchEnv(snc), withEnv("PHAXIO_API_SECRET", "rotated-away"), withEnv("FAXGATE_PROVIDER_FALLBACK", "phaxio,sinch"))
	g := lineGateway(t, phx, newTestClock(), opts...)
	f := g.send(to, textDoc)
	done := g.waitFax(f.ID)
	if done.Status != "sent" || done.Provider != "sinch" {
		t.Fatalf("got %+v, want sent through sinch", done)
	}
	phx.mu.Lock()
	refused, phxDials := phx.refused, len(phx.dials)
	phx.mu.Unlock()
	if refused != 1 || phxDials != 0 || snc.dialed(to) != 1 {
		t.Errorf("Phaxio refused %d sends and dialed %d numbers, Sinch dialed %d times; want 1, 0, 1", refused, phxDials, snc.dialed(to))
	}
	got := g.attempts(f.ID)
	if len(got.Attempts) != 2 || got.Attempts[0].Provider != "phaxio" || got.Attempts[0].Outcome != "failover" ||
		got.Attempts[0].Error == nil || got.Attempts[1].Provider != "sinch" || got.Attempts[1].Outcome != "sent" {
		t.Errorf("attempts: got %+v, want phaxio's refusal then sinch's send", got.Attempts)
	}
}

// TestFailoverWhenDown: Phaxio cannot be reached (nothing listens at its
// address): the send moves to Sinch without waiting for retries.
func TestFailoverWhenDown(t *testing.T) {
	t.Parallel()
	const to = "+15551239201"
	phx := newLineFake(t, nil)
	snc := newSinchLine(t)
	opts := append(sinchEnv(snc), withEnv("PHAXIO_BASE_URL", "http://"+freeAddr(t)+"/v2.1"), withEnv("FAXGATE_PROVIDER_FALLBACK", "sinch"))
	g := lineGateway(t, phx, newTestClock(), opts...)
	f := g.send(to, textDoc)
	if done := g.waitFax(f.ID); done.Status != "sent" || done.Provider != "sinch" {
		t.Fatalf("got %+v, want sent through sinch", done)
	}
	if n := snc.dialed(to); n != 1 {
		t.Errorf("Sinch dialed %d times, want 1", n)
	}
	if got := g.attempts(f.ID); len(got.Attempts) != 2 || got.Attempts[0].Provider != "phaxio" || got.Attempts[0].Outcome != "failover" {
		t.Errorf("attempts: got %+v", got.Attempts)
	}
}

// TestNoFailoverAfterAmbiguous5xx: Phaxio answers 502 after it took the
// fax. That is ambiguous: faxgate asks Phaxio, finds the fax there and
// follows it to the end; Sinch never gets it, and the number is dialed
// once.
func TestNoFailoverAfterAmbiguous5xx(t *testing.T) {
	t.Parallel()
	const to = "+15551239202"
	phx := newLineFake(t, nil)
	phx.answer = http.StatusBadGateway
	snc := newSinchLine(t)
	opts := append(sinchEnv(snc), withEnv("FAXGATE_PROVIDER_FALLBACK", "sinch"),
		withEnv("FAXGATE_SEND_FIND_SETTLE", "10ms"), withEnv("FAXGATE_SEND_FIND_SPACING", "10ms"))
	g := lineGateway(t, phx, newTestClock(), opts...)
	f := g.send(to, textDoc)
	done := g.waitFax(f.ID)
	if done.Status != "sent" || done.Provider != "phaxio" {
		t.Fatalf("got %+v, want sent through phaxio", done)
	}
	// The lookup records the carrier's id once it is done; the fax must
	// stay Phaxio's, never moved on.
	time.Sleep(100 * time.Millisecond)
	if phx.dialed(to) != 1 || snc.dialed(to) != 0 {
		t.Errorf("Phaxio dialed %d times, Sinch %d; want 1, 0", phx.dialed(to), snc.dialed(to))
	}
	if got := g.attempts(f.ID); len(got.Attempts) != 0 || got.Provider != "phaxio" {
		t.Errorf("got %+v, want phaxio's fax with one attempt", got)
	}
}

// TestFallbackCheckedAtStart: a fallback carrier that is unknown, or not
// configured, stops the gateway at start-up naming the setting.
func TestFallbackCheckedAtStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ fallback, want string }{
		{"sinch", "FAXGATE_PROVIDER_FALLBACK: sinch"},
		{"fax2000", "FAXGATE_PROVIDER_FALLBACK"},
		{"simulator,simulator", "FAXGATE_PROVIDER_FALLBACK"},
	} {
		env := map[string]string{"FAXGATE_ADDR": "127.0.0.1:0", "FAXGATE_DATA_DIR": t.TempDir(), "FAXGATE_PROVIDER_FALLBACK": tc.fallback}
		cfg, err := config.Load(func(k string) string { return env[k] }, "")
		if err == nil {
			m := &Main{Now: time.Now, Config: cfg, Logger: slog.New(slog.DiscardHandler)}
			err = m.Open(context.Background())
			m.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("fallback %q: got %v, want an error naming %s", tc.fallback, err, tc.want)
		}
	}
}
