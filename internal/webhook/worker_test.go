package webhook

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/google/go-cmp/cmp"
)

func TestWorkerRetriesThenSucceeds(t *testing.T) {
	rc := newReceiver(t, reply{status: 500, body: "oops"}, reply{status: 500}, reply{status: 200, body: "ok"})
	store, clock := newFakeStore(), newFakeClock()
	store.add(newJob("dlv_1", rc.srv.URL+"/hooks/fax"))
	w := newTestWorker(store, clock, Options{})
	t0 := clock.Now()

	mustDeliverOnce(t, w, 1)
	d := store.delivery(t, "dlv_1")
	if d.Status != fax.DeliveryPending || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("after attempt 1: status %s, next %v; want pending, %v", d.Status, d.NextAttemptAt, t0.Add(5*time.Minute))
	}
	mustDeliverOnce(t, w, 0) // not due yet

	clock.Advance(5 * time.Minute)
	mustDeliverOnce(t, w, 1)
	d = store.delivery(t, "dlv_1")
	if want := t0.Add(15 * time.Minute); d.Status != fax.DeliveryPending || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(want) {
		t.Fatalf("after attempt 2: status %s, next %v; want pending, %v", d.Status, d.NextAttemptAt, want)
	}

	clock.Advance(10 * time.Minute)
	mustDeliverOnce(t, w, 1)
	d = store.delivery(t, "dlv_1")
	if d.Status != fax.DeliverySucceeded || d.NextAttemptAt != nil || d.AttemptCount != 3 {
		t.Fatalf("after attempt 3: status %s, next %v, count %d; want succeeded, nil, 3", d.Status, d.NextAttemptAt, d.AttemptCount)
	}
	var codes []int
	var ats []time.Time
	for _, a := range d.Attempts {
		codes = append(codes, a.StatusCode)
		ats = append(ats, a.At)
		if a.Error != "" {
			t.Errorf("attempt with status %d has error %q, want none", a.StatusCode, a.Error)
		}
	}
	if diff := cmp.Diff([]int{500, 500, 200}, codes); diff != "" {
		t.Errorf("attempt status codes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Time{t0, t0.Add(5 * time.Minute), t0.Add(15 * time.Minute)}, ats); diff != "" {
		t.Errorf("attempt times (-want +got):\n%s", diff)
	}
	if got := d.Attempts[0].ResponseBody; got != "oops" {
		t.Errorf("attempt 1 response body = %q, want %q", got, "oops")
	}

	reqs := rc.got()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	want, _ := Payload(sentEvent(), fax.APIVersion)
	for i, r := range reqs {
		at := ats[i]
		if r.method != http.MethodPost || r.uri != "/hooks/fax" {
			t.Errorf("request %d: %s %s, want POST /hooks/fax", i, r.method, r.uri)
		}
		if !bytes.Equal(r.body, want) {
			t.Errorf("request %d body:\ngot  %s\nwant %s", i, r.body, want)
		}
		for k, v := range map[string]string{
			"Content-Type":  "application/json",
			"User-Agent":    UserAgent,
			HeaderID:        sentEvent().ID,
			HeaderTimestamp: strconv.FormatInt(at.Unix(), 10),
		} {
			if got := r.header.Get(k); got != v {
				t.Errorf("request %d header %s = %q, want %q", i, k, got, v)
			}
		}
		if err := Verify(testSecret, r.header, r.body, at, 0); err != nil {
			t.Errorf("request %d: Verify: %v", i, err)
		}
		if r.auth {
			t.Errorf("request %d carries Basic auth, want none", i)
		}
	}
}

func TestWorkerRetryAfter(t *testing.T) {
	t0 := newFakeClock().Now()
	tests := []struct {
		name       string
		prior      int // attempts made before
		status     int
		retryAfter string
		want       time.Duration // from the attempt
	}{
		{name: "429 sooner than schedule", status: 429, retryAfter: "120", want: 5 * time.Minute},
		{name: "429 later than schedule, capped", status: 429, retryAfter: "7200", want: time.Hour},
		{name: "429 later than schedule", status: 429, retryAfter: "1800", want: 30 * time.Minute},
		{name: "503 date, capped", status: 503, retryAfter: t0.Add(2 * time.Hour).Format(http.TimeFormat), want: time.Hour},
		{name: "503 date", status: 503, retryAfter: t0.Add(45 * time.Minute).Format(http.TimeFormat), want: 45 * time.Minute},
		{name: "503 date in the past", status: 503, retryAfter: t0.Add(-time.Hour).Format(http.TimeFormat), want: 5 * time.Minute},
		{name: "cap never shortens the schedule", prior: 5, status: 429, retryAfter: "7200", want: 6 * time.Hour},
		{name: "ignored on 500", status: 500, retryAfter: "7200", want: 5 * time.Minute},
		{name: "unreadable", status: 429, retryAfter: "soon", want: 5 * time.Minute},
		{name: "negative", status: 429, retryAfter: "-5", want: 5 * time.Minute},
		{name: "huge", status: 429, retryAfter: "99999999999999999", want: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, reply{status: tt.status, header: map[string]string{"Retry-After": tt.retryAfter}})
			store, clock := newFakeStore(), newFakeClock()
			job := newJob("dlv_1", rc.srv.URL)
			job.Delivery.AttemptCount = tt.prior
			store.add(job)
			mustDeliverOnce(t, newTestWorker(store, clock, Options{}), 1)
			d := store.delivery(t, "dlv_1")
			if d.Status != fax.DeliveryPending || d.NextAttemptAt == nil {
				t.Fatalf("status %s, next %v; want pending with a next attempt", d.Status, d.NextAttemptAt)
			}
			if got := d.NextAttemptAt.Sub(t0); got != tt.want {
				t.Errorf("next attempt after %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWorkerGone(t *testing.T) {
	rc := newReceiver(t, reply{status: http.StatusGone, body: "endpoint removed"})
	store, clock := newFakeStore(), newFakeClock()
	store.add(newJob("dlv_1", rc.srv.URL))
	mustDeliverOnce(t, newTestWorker(store, clock, Options{}), 1)
	d := store.delivery(t, "dlv_1")
	if d.Status != fax.DeliveryFailed || d.NextAttemptAt != nil || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 410 {
		t.Errorf("got status %s, next %v, attempts %+v; want failed, nil, one 410", d.Status, d.NextAttemptAt, d.Attempts)
	}
}

func TestWorkerExhaustsSchedule(t *testing.T) {
	rc := newReceiver(t, reply{status: 500})
	store, clock := newFakeStore(), newFakeClock()
	store.add(newJob("dlv_1", rc.srv.URL))
	w := newTestWorker(store, clock, Options{})
	schedule := fax.DefaultRetrySchedule()
	for i := range len(schedule) + 1 {
		mustDeliverOnce(t, w, 1)
		d := store.delivery(t, "dlv_1")
		if i < len(schedule) {
			if d.Status != fax.DeliveryPending || d.NextAttemptAt == nil || d.NextAttemptAt.Sub(clock.Now()) != schedule[i] {
				t.Fatalf("after attempt %d: status %s, next %v; want pending, +%v", i+1, d.Status, d.NextAttemptAt, schedule[i])
			}
			clock.Set(*d.NextAttemptAt)
		}
	}
	d := store.delivery(t, "dlv_1")
	if d.Status != fax.DeliveryFailed || d.NextAttemptAt != nil || d.AttemptCount != 17 || len(rc.got()) != 17 {
		t.Errorf("got status %s, next %v, %d attempts, %d requests; want failed, nil, 17, 17",
			d.Status, d.NextAttemptAt, d.AttemptCount, len(rc.got()))
	}
	clock.Advance(24 * time.Hour)
	mustDeliverOnce(t, w, 0)
}

func TestWorkerTimeout(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t)
	rc.setHook(func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	t.Cleanup(func() { close(release) })
	store, clock := newFakeStore(), newFakeClock()
	store.add(newJob("dlv_1", rc.srv.URL))
	client := NewClient(ClientOptions{AllowNetworks: loopback(), Timeout: 50 * time.Millisecond})
	mustDeliverOnce(t, newTestWorker(store, clock, Options{Client: client}), 1)
	d := store.delivery(t, "dlv_1")
	if len(d.Attempts) != 1 {
		t.Fatalf("%d attempts, want 1", len(d.Attempts))
	}
	a := d.Attempts[0]
	if a.Error != "timeout awaiting response headers" || a.StatusCode != 0 || d.Status != fax.DeliveryPending {
		t.Errorf("attempt error %q, status code %d, delivery %s; want timeout awaiting response headers, 0, pending", a.Error, a.StatusCode, d.Status)
	}
}

func TestWorkerConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	store, clock := newFakeStore(), newFakeClock()
	store.add(newJob("dlv_1", url))
	mustDeliverOnce(t, newTestWorker(store, clock, Options{}), 1)
	d := store.delivery(t, "dlv_1")
	if got := d.Attempts[0].Error; got != "connection refused" {
		t.Errorf("attempt error = %q, want %q", got, "connection refused")
	}
}

func TestWorkerTruncatesResponse(t *testing.T) {
	long := "a\x00b" + strings.Repeat("é", 100_000) // 200 KB, a NUL, and the cap lands inside a rune
	rc := newReceiver(t, reply{status: 500, body: long})
	store, clock := newFakeStore(), newFakeClock()
	store.add(newJob("dlv_1", rc.srv.URL))
	mustDeliverOnce(t, newTestWorker(store, clock, Options{ResponseCap: 100}), 1)
	got := store.delivery(t, "dlv_1").Attempts[0].ResponseBody
	want := "a\uFFFDb" + strings.Repeat("é", 47)
	if got != want {
		t.Errorf("response body = %q (%d bytes), want %q (%d bytes)", got, len(got), want, len(want))
	}
	if !utf8.ValidString(got) || len(got) > 100 {
		t.Errorf("response body is %d bytes, valid UTF-8 %v; want at most 100, valid", len(got), utf8.ValidString(got))
	}
}

func TestSanitizeBody(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"hello", 1024, "hello"},
		{"hello", 3, "hel"},
		{"h\xffi", 1024, "h\uFFFDi"},
		{"h\xffi", 3, "h"}, // U+FFFD does not fit after h
		{"€uro", 2, ""},    // the euro sign is three bytes
		{"€uro", 4, "€u"},
		{"\xe2\x82", 1024, ""}, // a truncated rune at the end is dropped
		{"nul\x00", 1024, "nul\uFFFD"},
		{"", 10, ""},
	}
	for _, tt := range tests {
		if got := sanitizeBody([]byte(tt.in), tt.limit); got != tt.want {
			t.Errorf("sanitizeBody(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}

func TestWorkerBasicAuthFromUserinfo(t *testing.T) {
	rc := newReceiver(t, reply{status: 500}, reply{status: 204})
	store, clock := newFakeStore(), newFakeClock()
	u := strings.Replace(rc.srv.URL, "http://", "http://alice:s3cr%40t-pw@", 1) + "/hook?token=abc#frag"
	store.add(newJob("dlv_1", u))
	logger, logs := testLogger()
	w := newTestWorker(store, clock, Options{Logger: logger})
	mustDeliverOnce(t, w, 1)
	clock.Advance(5 * time.Minute)
	mustDeliverOnce(t, w, 1)

	for i, r := range rc.got() {
		if !r.auth || r.user != "alice" || r.pass != "s3cr@t-pw" {
			t.Errorf("request %d Basic auth = %v %q %q, want alice / s3cr@t-pw", i, r.auth, r.user, r.pass)
		}
		if r.uri != "/hook?token=abc" {
			t.Errorf("request %d URI = %q, want /hook?token=abc", i, r.uri)
		}
	}
	if d := store.delivery(t, "dlv_1"); d.Status != fax.DeliverySucceeded {
		t.Errorf("status = %s, want succeeded", d.Status)
	}
	out := logs.String()
	for _, secret := range []string{"s3cr", "alice", strings.TrimPrefix(testSecret, SecretPrefix), "+14155550123", "token=abc"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q:\n%s", secret, out)
		}
	}
	for _, key := range []string{`"endpoint_id":"we_1"`, `"delivery_id":"dlv_1"`, `"attempt":1`, `"attempt":2`, `"status_code":500`, `"status_code":204`} {
		if !strings.Contains(out, key) {
			t.Errorf("logs lack %s:\n%s", key, out)
		}
	}
}

func TestWorkerRefusesLoopbackByDefault(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	store, clock := newFakeStore(), newFakeClock()
	store.add(newJob("dlv_1", srv.URL))
	// No Client: the production default, which allows no internal network.
	w := NewWorker(store, Options{Now: clock.Now})
	mustDeliverOnce(t, w, 1)
	d := store.delivery(t, "dlv_1")
	if got := d.Attempts[0].Error; got != "refused: address not allowed" {
		t.Errorf("attempt error = %q, want %q", got, "refused: address not allowed")
	}
	if d.Status != fax.DeliveryPending || d.Attempts[0].StatusCode != 0 {
		t.Errorf("status %s, status code %d; want pending, 0", d.Status, d.Attempts[0].StatusCode)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestWorkerPermanentErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*fax.DeliveryJob)
	}{
		{"phaxio has no fax.queued", func(j *fax.DeliveryJob) { j.Endpoint.Format, j.Event.Type = fax.FormatPhaxio, fax.EventFaxQueued }},
		{"gofax has no inflight events", func(j *fax.DeliveryJob) { j.Endpoint.Format, j.Event.Type = fax.FormatGoFax, fax.EventFaxPageSent }},
		{"gofax has no secret", func(j *fax.DeliveryJob) { j.Endpoint.Format, j.Endpoint.Secret = fax.FormatGoFax, "" }},
		{"phaxio has no secret", func(j *fax.DeliveryJob) { j.Endpoint.Format, j.Endpoint.Secret = fax.FormatPhaxio, "" }},
		{"unknown format", func(j *fax.DeliveryJob) { j.Endpoint.Format = "xml" }},
		{"no secret", func(j *fax.DeliveryJob) { j.Endpoint.Secret = "" }},
		{"bad secret", func(j *fax.DeliveryJob) { j.Endpoint.Secret = "whsec_!!" }},
		{"mailto", func(j *fax.DeliveryJob) { j.Endpoint.URL = "mailto:ops@example.com" }},
		{"unparsable URL", func(j *fax.DeliveryJob) { j.Endpoint.URL = "http://[::1" }},
		{"event data not JSON", func(j *fax.DeliveryJob) { j.Event.Data = []byte("{") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t)
			store, clock := newFakeStore(), newFakeClock()
			job := newJob("dlv_1", rc.srv.URL)
			tt.edit(&job)
			store.add(job)
			mustDeliverOnce(t, newTestWorker(store, clock, Options{}), 1)
			d := store.delivery(t, "dlv_1")
			if d.Status != fax.DeliveryFailed || d.NextAttemptAt != nil || len(d.Attempts) != 1 || d.Attempts[0].Error == "" {
				t.Errorf("status %s, next %v, attempts %+v; want failed, nil, one with an error", d.Status, d.NextAttemptAt, d.Attempts)
			}
			if n := len(rc.got()); n != 0 {
				t.Errorf("receiver got %d requests, want 0", n)
			}
		})
	}
}

func TestWorkerSecretRotation(t *testing.T) {
	rc := newReceiver(t)
	store, clock := newFakeStore(), newFakeClock()
	old := NewSecret()
	expires := clock.Now().Add(time.Hour)
	for _, id := range []string{"dlv_1", "dlv_2"} {
		job := newJob(id, rc.srv.URL)
		job.Endpoint.PreviousSecret = old
		job.Endpoint.PreviousSecretExpiresAt = &expires
		store.add(job)
	}
	w := newTestWorker(store, clock, Options{BatchSize: 1})
	mustDeliverOnce(t, w, 1)
	clock.Advance(2 * time.Hour)
	mustDeliverOnce(t, w, 1)

	reqs := rc.got()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}
	if n := len(strings.Fields(reqs[0].header.Get(HeaderSignature))); n != 2 {
		t.Errorf("during the overlap: %d signatures, want 2", n)
	}
	if n := len(strings.Fields(reqs[1].header.Get(HeaderSignature))); n != 1 {
		t.Errorf("after the overlap: %d signatures, want 1", n)
	}
	at := []time.Time{clock.Now().Add(-2 * time.Hour), clock.Now()}
	for i, r := range reqs {
		if err := Verify(testSecret, r.header, r.body, at[i], 0); err != nil {
			t.Errorf("request %d, current secret: %v", i, err)
		}
	}
	if err := Verify(old, reqs[0].header, reqs[0].body, at[0], 0); err != nil {
		t.Errorf("request 0, previous secret: %v", err)
	}
	if err := Verify(old, reqs[1].header, reqs[1].body, at[1], 0); err == nil {
		t.Error("request 1 verifies with the expired previous secret")
	}
}

func TestWorkerDoesNotFollowRedirects(t *testing.T) {
	rc := newReceiver(t, reply{status: http.StatusFound, header: map[string]string{"Location": "http://169.254.169.254/"}})
	store, clock := newFakeStore(), newFakeClock()
	store.add(newJob("dlv_1", rc.srv.URL))
	mustDeliverOnce(t, newTestWorker(store, clock, Options{}), 1)
	d := store.delivery(t, "dlv_1")
	if d.Status != fax.DeliveryPending || d.Attempts[0].StatusCode != http.StatusFound {
		t.Errorf("status %s, status code %d; want pending, 302", d.Status, d.Attempts[0].StatusCode)
	}
}

// waitRecorded waits for n RecordAttempt calls on store; the deadline only
// turns a hang into a failure.
func waitRecorded(t *testing.T, store *fakeStore, n int) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for range n {
		select {
		case <-store.recorded:
		case <-deadline.C:
			t.Fatalf("gave up waiting for %d recorded attempts", n)
		}
	}
}

func TestWorkerRun(t *testing.T) {
	rc := newReceiver(t)
	store, clock := newFakeStore(), newFakeClock()
	const total = 50
	store.recorded = make(chan struct{}, total)
	w := newTestWorker(store, clock, Options{Workers: 3, PollInterval: time.Hour})

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()

	for i := range total {
		store.add(newJob("dlv_"+strconv.Itoa(i), rc.srv.URL))
	}
	w.Notify()
	waitRecorded(t, store, total)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	for i := range total {
		if d := store.delivery(t, "dlv_"+strconv.Itoa(i)); d.Status != fax.DeliverySucceeded || d.AttemptCount != 1 {
			t.Errorf("dlv_%d: status %s after %d attempts, want succeeded after 1", i, d.Status, d.AttemptCount)
		}
	}
	if n := len(rc.got()); n != total {
		t.Errorf("receiver got %d requests, want %d", n, total)
	}
	// Three workers: a window of 6 (two per worker), and a deep hold of 24
	// more while the one endpoint, a loopback receiver, is keeping up fast.
	deep := false
	for _, limit := range store.claimLimits() {
		if limit < 1 || limit > 6+24 {
			t.Errorf("a claim asked for %d deliveries, want 1 to 30 (two per worker, and a deep hold)", limit)
		}
		deep = deep || limit > 6
	}
	if !deep {
		t.Errorf("claims asked for %v: none beyond the window of 6, although the endpoint answers at once", store.claimLimits())
	}
}

// TestWorkerRunLeavesStaleQueuedJob checks that a job that waited for a
// worker until its lease could lapse during the attempt is not attempted:
// the lease lapses and a later claim takes it.
func TestWorkerRunLeavesStaleQueuedJob(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	rc := newReceiver(t)
	var once sync.Once
	rc.setHook(func(*http.Request) {
		once.Do(func() {
			close(entered)
			<-release
		})
	})
	store, clock := newFakeStore(), newFakeClock()
	store.recorded = make(chan struct{}, 2)
	store.add(newJob("dlv_1", rc.srv.URL))
	store.add(newJob("dlv_2", rc.srv.URL))
	// One worker, so dlv_2 waits behind dlv_1; a lease of a minute and a
	// 15 s timeout let a job wait 45 s.
	w := newTestWorker(store, clock, Options{Workers: 1, LeaseFor: time.Minute, PollInterval: time.Hour,
		Client: NewClient(ClientOptions{AllowNetworks: loopback(), Timeout: 15 * time.Second})})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	<-entered
	clock.Advance(46 * time.Second)
	close(release)
	waitRecorded(t, store, 1)
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if n := len(rc.got()); n != 1 {
		t.Errorf("receiver got %d requests, want 1: dlv_2 waited past what its lease allows", n)
	}
	if d := store.delivery(t, "dlv_2"); d.Status != fax.DeliveryPending || len(d.Attempts) != 0 {
		t.Errorf("dlv_2: status %s with %d attempts, want pending with none, left to its lease", d.Status, len(d.Attempts))
	}
}

func TestWorkerRunFinishesInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	rc := newReceiver(t)
	rc.setHook(func(*http.Request) {
		close(entered)
		<-release
	})
	store, clock := newFakeStore(), newFakeClock()
	store.recorded = make(chan struct{}, 1)
	store.add(newJob("dlv_1", rc.srv.URL))
	w := newTestWorker(store, clock, Options{})

	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	<-entered
	cancel()
	close(release)
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	d := store.delivery(t, "dlv_1")
	if d.Status != fax.DeliverySucceeded || len(d.Attempts) != 1 {
		t.Errorf("status %s with %d attempts, want succeeded with 1: the in-flight attempt must finish and be recorded", d.Status, len(d.Attempts))
	}
}

func TestWorkerRunTwice(t *testing.T) {
	w := newTestWorker(newFakeStore(), newFakeClock(), Options{})
	w.running.Store(true) // as if Run were already going
	if err := w.Run(t.Context()); err == nil {
		t.Error("Run on a running worker = nil, want an error")
	}
}

func TestNewWorkerDefaults(t *testing.T) {
	w := NewWorker(newFakeStore(), Options{})
	got := w.opts
	if got.Workers != 16 || got.MaxRetryAfter != time.Hour || got.LeaseFor != time.Minute ||
		got.PollInterval != time.Second || got.BatchSize != 256 || got.ResponseCap != 1024 ||
		got.Now == nil || got.Client == nil || got.Logger == nil || len(got.Schedule) != 16 ||
		got.PerHost != 4 || got.Email != nil || got.EmailAttachPDF != nil || got.Document != nil {
		t.Errorf("defaults = %+v", got)
	}
	if got.Client.Timeout != DefaultClientTimeout {
		t.Errorf("client timeout = %v, want %v", got.Client.Timeout, DefaultClientTimeout)
	}
	tr := got.Client.Transport.(*http.Transport)
	if tr.MaxIdleConnsPerHost < got.Workers || tr.DisableKeepAlives || tr.Proxy != nil {
		t.Errorf("transport: MaxIdleConnsPerHost %d, DisableKeepAlives %v, Proxy set %v", tr.MaxIdleConnsPerHost, tr.DisableKeepAlives, tr.Proxy != nil)
	}
	if !allowed(netip.MustParseAddr("93.184.216.34"), nil) {
		t.Error("a public address is refused")
	}
}
