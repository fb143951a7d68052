package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// fakeStore is an in-memory Store with the semantics the real ones promise:
// claims take due, unleased, pending deliveries in order and lease them;
// recording ends the lease.
type fakeStore struct {
	mu       sync.Mutex
	order    []string
	rows     map[string]*fakeRow
	limits   []int         // the limit of every claim
	recorded chan struct{} // one value per RecordAttempt, when not nil
}

type fakeRow struct {
	job         fax.DeliveryJob
	leasedUntil time.Time
}

func newFakeStore() *fakeStore {
	return &fakeStore{rows: map[string]*fakeRow{}}
}

// add queues job as a pending delivery, due at once unless it says otherwise.
func (s *fakeStore) add(job fax.DeliveryJob) {
	s.mu.Lock()
	defer s.mu.Unlock()
	job.Delivery.Status = fax.DeliveryPending
	s.order = append(s.order, job.Delivery.ID)
	s.rows[job.Delivery.ID] = &fakeRow{job: job}
}

func (s *fakeStore) ClaimDeliveries(ctx context.Context, now time.Time, leaseFor time.Duration, limit int) ([]*fax.DeliveryJob, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, limit)
	var out []*fax.DeliveryJob
	for _, id := range s.order {
		if len(out) == limit {
			break
		}
		r := s.rows[id]
		d := &r.job.Delivery
		if d.Status != fax.DeliveryPending || (d.NextAttemptAt != nil && d.NextAttemptAt.After(now)) || r.leasedUntil.After(now) {
			continue
		}
		r.leasedUntil = now.Add(leaseFor)
		job := r.job
		job.Delivery.Attempts = nil // the worker gets no view of the history
		out = append(out, &job)
	}
	return out, nil
}

func (s *fakeStore) RecordAttempt(ctx context.Context, deliveryID string, a fax.Attempt, status fax.DeliveryStatus, next *time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[deliveryID]
	if !ok {
		return fmt.Errorf("fake store: no delivery %s", deliveryID)
	}
	if !status.Valid() || (status == fax.DeliveryPending) != (next != nil) {
		return fmt.Errorf("fake store: status %q with next %v", status, next)
	}
	d := &r.job.Delivery
	d.Attempts = append(d.Attempts, a)
	d.AttemptCount++
	d.Status = status
	d.NextAttemptAt = next
	r.leasedUntil = time.Time{}
	if s.recorded != nil {
		s.recorded <- struct{}{}
	}
	return nil
}

// delivery returns a copy of the delivery as the store holds it.
func (s *fakeStore) delivery(t *testing.T, id string) fax.Delivery {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rows[id]
	if !ok {
		t.Fatalf("no delivery %s", id)
	}
	d := r.job.Delivery
	d.Attempts = slices.Clone(d.Attempts)
	return d
}

func (s *fakeStore) claimLimits() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.limits)
}

// fakeClock is an injectable clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// receiver is a real HTTP server on loopback answering with a script of
// responses (the last one repeats) and keeping every request it got.
type receiver struct {
	srv       *httptest.Server
	mu        sync.Mutex
	script    []reply
	requests  []received
	onRequest func(r *http.Request) // runs before replying, when set
}

type reply struct {
	status int
	header map[string]string
	body   string
}

type received struct {
	method string
	uri    string
	header http.Header
	body   []byte
	user   string
	pass   string
	auth   bool
}

func newReceiver(t *testing.T, script ...reply) *receiver {
	t.Helper()
	rc := &receiver{script: script}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	user, pass, ok := r.BasicAuth()
	rc.mu.Lock()
	rc.requests = append(rc.requests, received{
		method: r.Method, uri: r.RequestURI, header: r.Header.Clone(), body: body,
		user: user, pass: pass, auth: ok,
	})
	rep := reply{status: http.StatusOK}
	if len(rc.script) > 0 {
		rep = rc.script[0]
		if len(rc.script) > 1 {
			rc.script = rc.script[1:]
		}
	}
	hook := rc.onRequest
	rc.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

// setHook makes f run on every request before the reply.
func (rc *receiver) setHook(f func(r *http.Request)) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.onRequest = f
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.requests)
}

// syncBuffer is a bytes.Buffer safe for a logger used from several
// goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testSecret signs deliveries in tests.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// newJob is a fax.sent delivery of sentEvent to url.
func newJob(id, url string) fax.DeliveryJob {
	ev := sentEvent()
	return fax.DeliveryJob{
		Delivery: fax.Delivery{
			ID: id, EndpointID: "we_1", EventID: ev.ID, EventType: ev.Type, FaxID: ev.FaxID,
			Status: fax.DeliveryPending,
		},
		Endpoint: fax.Endpoint{
			ID: "we_1", URL: url, Format: fax.FormatJSON, APIVersion: fax.APIVersion,
			Secret: testSecret, Enabled: true,
		},
		Event: ev,
	}
}

// newTestWorker is a worker on store and clock whose client may reach
// loopback, with opts' other fields as given.
func newTestWorker(store Store, clock *fakeClock, opts Options) *Worker {
	if opts.Client == nil {
		opts.Client = NewClient(ClientOptions{AllowNetworks: loopback()})
	}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	return NewWorker(store, opts)
}

// mustDeliverOnce runs one DeliverOnce and checks how many it claimed.
func mustDeliverOnce(t *testing.T, w *Worker, want int) {
	t.Helper()
	n, err := w.DeliverOnce(t.Context())
	if err != nil {
		t.Fatalf("DeliverOnce: %v", err)
	}
	if n != want {
		t.Fatalf("DeliverOnce claimed %d, want %d", n, want)
	}
}

// testLogger logs everything, as JSON, into a buffer the test can search.
func testLogger() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}
