package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func testDeliveriesRouting(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	post := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/post"})
	infl := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/inflight", Inflight: true})
	only := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/failed", Events: []fax.EventType{fax.EventFaxFailed}})
	f := mustCreate(t, s, "+15551230000")
	s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
	count := func(id string) int {
		ds, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: id})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	if n := count(post.ID); n != 1 {
		t.Errorf("postflight endpoint: got %d deliveries, want 1 (fax.sent)", n)
	}
	if n := count(infl.ID); n != 2 {
		t.Errorf("inflight endpoint: got %d deliveries, want 2 (fax.queued, fax.sent)", n)
	}
	if n := count(only.ID); n != 0 {
		t.Errorf("filtered endpoint: got %d deliveries, want 0", n)
	}
	// A fax with its own callback_url: only that gets its events.
	g := mustCreate(t, s, "+15551230000", func(f *fax.Fax) { f.CallbackURL = "https://cb.example/x" })
	s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: g.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: g.ID})
	if len(ds) != 1 || ds[0].EndpointID == post.ID || ds[0].EventType != fax.EventFaxSent {
		t.Errorf("callback_url fax: got %+v, want one fax.sent to its own endpoint", ds)
	}
	jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Delivery.FaxID == g.ID && (j.Endpoint.URL != "https://cb.example/x" || j.Endpoint.Secret == "") {
			t.Errorf("callback endpoint: got %+v", j.Endpoint)
		}
	}
}

func testDeliveryAttempts(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ep := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/post"})
	f := mustCreate(t, s, "+15551230000")
	s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
	jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("got %d jobs %v, want 1", len(jobs), err)
	}
	j := jobs[0]
	if j.Endpoint.ID != ep.ID || j.Event.Type != fax.EventFaxSent || len(j.Event.Data) == 0 || j.Delivery.AttemptCount != 0 {
		t.Fatalf("got %+v", j)
	}
	if again, _ := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 10); len(again) != 0 {
		t.Fatalf("leased delivery claimed twice")
	}
	next := c.Now().Add(5 * time.Minute)
	if err := s.RecordAttempt(ctx, j.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 500, LatencyMS: 3, ResponseBody: "oops"}, fax.DeliveryPending, &next); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if again, _ := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 10); len(again) != 0 {
		t.Fatalf("delivery claimed before its retry time")
	}
	c.Advance(5 * time.Minute)
	again, _ := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 10)
	if len(again) != 1 || again[0].Delivery.AttemptCount != 1 {
		t.Fatalf("got %+v, want the delivery with 1 attempt", again)
	}
	if err := s.RecordAttempt(ctx, j.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 200, LatencyMS: 2}, fax.DeliverySucceeded, nil); err != nil {
		t.Fatal(err)
	}
	d, err := s.FindDeliveryByID(ctx, j.Delivery.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != fax.DeliverySucceeded || d.AttemptCount != 2 || len(d.Attempts) != 2 || d.Attempts[0].StatusCode != 500 ||
		d.Attempts[0].ResponseBody != "oops" || d.Attempts[1].StatusCode != 200 || d.NextAttemptAt != nil {
		t.Errorf("got %+v", d)
	}
	// Manual retry.
	d, err = s.RetryDelivery(ctx, d.ID)
	if err != nil || d.Status != fax.DeliveryPending {
		t.Fatalf("retry: got %+v %v", d, err)
	}
	if again, _ := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 10); len(again) != 1 {
		t.Errorf("retried delivery not claimable")
	}
	_, err = s.RetryDelivery(ctx, "dlv_nope")
	wantCode(t, err, fax.ECodeNotFound)
	list, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{Status: fax.DeliverySucceeded})
	if len(list) != 0 {
		t.Errorf("status filter: got %d", len(list))
	}
}

func testEndpointGone(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ep := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/post", Inflight: true})
	f := mustCreate(t, s, "+15551230000")
	s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
	jobs, _ := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 1)
	if len(jobs) != 1 {
		t.Fatal("no job")
	}
	if err := s.RecordAttempt(ctx, jobs[0].Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 410}, fax.DeliveryFailed, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindEndpointByID(ctx, ep.ID)
	if got.Enabled || got.DisabledReason == "" {
		t.Errorf("got %+v, want disabled", got)
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: ep.ID, Status: fax.DeliveryPending})
	if len(ds) != 0 {
		t.Errorf("got %d pending deliveries to a gone endpoint, want 0", len(ds))
	}
	_, err := s.RetryDelivery(ctx, jobs[0].Delivery.ID)
	wantCode(t, err, fax.ECodeConflict)
}

// testEndpointDisabledAfterFailing: an endpoint failing for five days
// without a success is disabled and announced to the other endpoints; a
// success in between resets the count.
func testEndpointDisabledAfterFailing(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	bad := mustEndpoint(t, s, &fax.Endpoint{URL: "https://bad.example/hook"})
	other := mustEndpoint(t, s, &fax.Endpoint{URL: "https://ok.example/hook"})
	fail := func() {
		t.Helper()
		f := mustCreate(t, s, "+15551230000")
		s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
		ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: bad.ID, FaxID: f.ID})
		next := c.Now().Add(time.Hour)
		if err := s.RecordAttempt(ctx, ds[0].ID, fax.Attempt{At: c.Now(), StatusCode: 500}, fax.DeliveryPending, &next); err != nil {
			t.Fatal(err)
		}
	}
	fail()
	c.Advance(3 * 24 * time.Hour)
	fail()
	if e, _ := s.FindEndpointByID(ctx, bad.ID); !e.Enabled {
		t.Fatal("disabled after 3 days of failures, want 5")
	}
	c.Advance(2*24*time.Hour + time.Minute)
	fail()
	e, _ := s.FindEndpointByID(ctx, bad.ID)
	if e.Enabled || e.DisabledReason == "" {
		t.Fatalf("got %+v, want disabled after 5 days of failures", e)
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: other.ID})
	found := false
	for _, d := range ds {
		found = found || d.EventType == fax.EventEndpointDisabled
	}
	if !found {
		t.Error("the other endpoint was not told of the disabling")
	}
	if ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: bad.ID, Status: fax.DeliveryPending}); len(ds) != 0 {
		t.Errorf("disabled endpoint still has %d pending deliveries", len(ds))
	}
}

func testTestEventAndRetryFailed(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ep := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook"})
	d, err := s.CreateTestEvent(ctx, ep.ID)
	if err != nil || d.EventType != fax.EventEndpointTest || d.Status != fax.DeliveryPending || d.EndpointID != ep.ID {
		t.Fatalf("got %+v %v", d, err)
	}
	jobs, _ := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 10)
	if len(jobs) != 1 || jobs[0].Event.Type != fax.EventEndpointTest {
		t.Fatalf("claim: %+v", jobs)
	}
	s.RecordAttempt(ctx, d.ID, fax.Attempt{At: c.Now(), StatusCode: 500}, fax.DeliveryFailed, nil)
	_, err = s.CreateTestEvent(ctx, "we_nope")
	wantCode(t, err, fax.ECodeNotFound)
	n, err := s.RetryFailedDeliveries(ctx, ep.ID, c.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("retry failed: %d %v", n, err)
	}
	if n, _ := s.RetryFailedDeliveries(ctx, ep.ID, c.Now().Add(-time.Hour)); n != 0 {
		t.Errorf("second retry: got %d, want 0 (already pending)", n)
	}
	if jobs, _ := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 10); len(jobs) != 1 {
		t.Errorf("retried delivery not claimable: %d", len(jobs))
	}
}

// pendingDeliveries makes n faxes sent, with endpoint e the only one, and
// returns the deliveries of their fax.sent events, claimed.
func pendingDeliveries(t *testing.T, s Store, c *Clock, n int) []*fax.DeliveryJob {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		f := mustCreate(t, s, "+15551230000")
		if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", Kind: fax.UpdateStatus, Status: fax.StatusSent, FaxID: f.ID,
			EventKey: fmt.Sprintf("sent:%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
	if err != nil || len(jobs) != n {
		t.Fatalf("ClaimDeliveries = %d jobs, %v; want %d", len(jobs), err, n)
	}
	return jobs
}

func attemptOf(d *fax.DeliveryJob, at time.Time, code int, status fax.DeliveryStatus, next *time.Time) fax.Delivery {
	return fax.Delivery{ID: d.Delivery.ID, Status: status, NextAttemptAt: next, Attempts: []fax.Attempt{{At: at, StatusCode: code, LatencyMS: 3}}}
}

// testRecordAttempts: a batch is recorded as RecordAttempt would one by
// one: each delivery's state and attempt, an unknown delivery and a
// malformed entry refused alone.
func testRecordAttempts(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook", Events: []fax.EventType{fax.EventFaxSent}})
	jobs := pendingDeliveries(t, s, c, 3)
	now := c.Now()
	next := now.Add(5 * time.Minute)
	errs := s.RecordAttempts(ctx, []fax.Delivery{
		attemptOf(jobs[0], now, 200, fax.DeliverySucceeded, nil),
		attemptOf(jobs[1], now, 500, fax.DeliveryPending, &next),
		{ID: "dlv_nope", Status: fax.DeliverySucceeded, Attempts: []fax.Attempt{{At: now, StatusCode: 200}}},
		attemptOf(jobs[2], now, 204, fax.DeliverySucceeded, &next), // next is ignored unless pending
		{ID: jobs[0].Delivery.ID, Status: fax.DeliverySucceeded},   // no attempt
	})
	wantCodes := []string{"", "", fax.ECodeNotFound, "", fax.ECodeInvalid}
	for i, err := range errs {
		if got := fax.ErrorCode(err); (err == nil) != (wantCodes[i] == "") || (err != nil && got != wantCodes[i]) {
			t.Errorf("errs[%d] = %v, want code %q", i, err, wantCodes[i])
		}
	}
	for i, want := range []struct {
		status fax.DeliveryStatus
		next   *time.Time
		code   int
	}{{fax.DeliverySucceeded, nil, 200}, {fax.DeliveryPending, &next, 500}, {fax.DeliverySucceeded, nil, 204}} {
		d, err := s.FindDeliveryByID(ctx, jobs[i].Delivery.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != want.status || d.AttemptCount != 1 || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != want.code ||
			(d.NextAttemptAt == nil) != (want.next == nil) || (want.next != nil && !d.NextAttemptAt.Equal(*want.next)) {
			t.Errorf("delivery %d: got %s, %d attempts %+v, next %v; want %s, one attempt with %d, next %v",
				i, d.Status, d.AttemptCount, d.Attempts, d.NextAttemptAt, want.status, want.code, want.next)
		}
	}
	// The lease ended with the record: nothing is claimable but the retry, later.
	if again, err := s.ClaimDeliveries(ctx, next, time.Minute, 10); err != nil || len(again) != 1 || again[0].Delivery.ID != jobs[1].Delivery.ID {
		t.Errorf("claim after the batch = %d jobs, %v; want the one pending retry", len(again), err)
	}
	// The same delivery twice in one batch counts two attempts.
	later := next.Add(time.Minute)
	for i, err := range s.RecordAttempts(ctx, []fax.Delivery{
		attemptOf(jobs[1], next, 500, fax.DeliveryPending, &later),
		attemptOf(jobs[1], later, 200, fax.DeliverySucceeded, nil),
	}) {
		if err != nil {
			t.Fatalf("errs[%d] = %v", i, err)
		}
	}
	if d, err := s.FindDeliveryByID(ctx, jobs[1].Delivery.ID); err != nil || d.AttemptCount != 3 || len(d.Attempts) != 3 || d.Status != fax.DeliverySucceeded {
		t.Errorf("delivery after two more attempts: %+v, %v; want 3 attempts, succeeded", d, err)
	}
}

// testRecordAttemptsInOrder: a success between two failures to the same
// endpoint counts where it falls. Recorded one by one, the success ends the
// failing streak, so the failure six days later starts a new one and does
// not disable the endpoint (after 5 days of failing); a batch must do the
// same.
func testRecordAttemptsInOrder(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	e := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook", Events: []fax.EventType{fax.EventFaxSent}})
	jobs := pendingDeliveries(t, s, c, 4)
	t0 := c.Now()
	next := t0.Add(5 * time.Minute)
	for i, err := range s.RecordAttempts(ctx, []fax.Delivery{
		attemptOf(jobs[0], t0, 500, fax.DeliveryPending, &next),
		attemptOf(jobs[1], t0.Add(10*time.Minute), 200, fax.DeliverySucceeded, nil),
		attemptOf(jobs[2], t0.Add(6*24*time.Hour), 500, fax.DeliveryPending, &next),
	}) {
		if err != nil {
			t.Fatalf("errs[%d] = %v", i, err)
		}
	}
	got, err := s.FindEndpointByID(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Enabled {
		t.Fatalf("endpoint disabled (%s); want enabled: the success in between ended the failing streak", got.DisabledReason)
	}
	// The streak the batch left open (since the last failure) is kept: a
	// failure more than five days after it disables the endpoint.
	c.Advance(12 * 24 * time.Hour)
	if err := s.RecordAttempts(ctx, []fax.Delivery{attemptOf(jobs[3], t0.Add(12*24*time.Hour), 500, fax.DeliveryPending, &next)})[0]; err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindEndpointByID(ctx, e.ID); got == nil || got.Enabled {
		t.Errorf("endpoint %+v, want disabled: failing since six days before", got)
	}
}

// testRecordAttemptsGone: a 410 in a batch disables the endpoint and fails
// its other pending deliveries, as RecordAttempt does.
func testRecordAttemptsGone(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	e := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook", Events: []fax.EventType{fax.EventFaxSent}})
	jobs := pendingDeliveries(t, s, c, 3)
	now := c.Now()
	for i, err := range s.RecordAttempts(ctx, []fax.Delivery{
		attemptOf(jobs[0], now, 200, fax.DeliverySucceeded, nil),
		attemptOf(jobs[1], now, 410, fax.DeliveryFailed, nil),
	}) {
		if err != nil {
			t.Fatalf("errs[%d] = %v", i, err)
		}
	}
	if got, _ := s.FindEndpointByID(ctx, e.ID); got == nil || got.Enabled {
		t.Errorf("endpoint %+v, want disabled after 410", got)
	}
	for i, want := range []fax.DeliveryStatus{fax.DeliverySucceeded, fax.DeliveryFailed, fax.DeliveryFailed} {
		if d, _ := s.FindDeliveryByID(ctx, jobs[i].Delivery.ID); d == nil || d.Status != want {
			t.Errorf("delivery %d: %+v, want %s", i, d, want)
		}
	}
}
