package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
	"github.com/faxgate/faxgate/internal/storetest"
)

// pendingDeliveries makes n faxes sent through endpoint e and returns the
// deliveries of their fax.sent events, claimed.
func pendingDeliveries(t *testing.T, s *sqlite.Store, c *storetest.Clock, n int) []*fax.DeliveryJob {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		f, _, err := s.CreateFax(ctx, &fax.Fax{To: "+15551230000", Provider: "phaxio", DocumentKey: "k"}, fax.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "phaxio", Kind: fax.UpdateStatus, Status: fax.StatusSent, FaxID: f.ID,
			EventKey: "sent:" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
	if err != nil || len(jobs) != n {
		t.Fatalf("ClaimDeliveries = %d jobs, %v; want %d", len(jobs), err, n)
	}
	return jobs
}

func openAt(t *testing.T, c *storetest.Clock, disableAfter time.Duration) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "faxgate.db"), sqlite.Options{Now: c.Now, DisableAfter: disableAfter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func attemptOf(d *fax.DeliveryJob, at time.Time, code int, status fax.DeliveryStatus, next *time.Time) fax.Delivery {
	return fax.Delivery{ID: d.Delivery.ID, Status: status, NextAttemptAt: next, Attempts: []fax.Attempt{{At: at, StatusCode: code, LatencyMS: 3}}}
}

// TestRecordAttempts records a batch as RecordAttempt would one by one:
// each delivery's state and attempt, an unknown delivery refused alone.
func TestRecordAttempts(t *testing.T) {
	c := storetest.NewClock()
	s := openAt(t, c, 0)
	ctx := context.Background()
	if _, err := s.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://a.example/hook", Format: fax.FormatJSON, APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0"}); err != nil {
		t.Fatal(err)
	}
	jobs := pendingDeliveries(t, s, c, 3)
	now := c.Now()
	next := now.Add(5 * time.Minute)
	errs := s.RecordAttempts(ctx, []fax.Delivery{
		attemptOf(jobs[0], now, 200, fax.DeliverySucceeded, nil),
		attemptOf(jobs[1], now, 500, fax.DeliveryPending, &next),
		{ID: "dlv_nope", Status: fax.DeliverySucceeded, Attempts: []fax.Attempt{{At: now, StatusCode: 200}}},
		attemptOf(jobs[2], now, 204, fax.DeliverySucceeded, &next), // next is ignored unless pending
	})
	for i, err := range errs {
		if want := i == 2; (err != nil) != want || (want && fax.ErrorCode(err) != fax.ECodeNotFound) {
			t.Errorf("errs[%d] = %v, want not_found only for the unknown delivery", i, err)
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
}

// TestRecordAttemptsInOrder: a success between two failures to the same
// endpoint counts where it falls. Recorded one by one, the success ends the
// failing streak, so the failure two hours later starts a new one and does
// not disable the endpoint; a batch must do the same.
func TestRecordAttemptsInOrder(t *testing.T) {
	c := storetest.NewClock()
	s := openAt(t, c, time.Hour)
	ctx := context.Background()
	e, err := s.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://a.example/hook", Format: fax.FormatJSON, APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0"})
	if err != nil {
		t.Fatal(err)
	}
	jobs := pendingDeliveries(t, s, c, 3)
	t0 := c.Now()
	next := t0.Add(5 * time.Minute)
	for i, err := range s.RecordAttempts(ctx, []fax.Delivery{
		attemptOf(jobs[0], t0, 500, fax.DeliveryPending, &next),
		attemptOf(jobs[1], t0.Add(10*time.Minute), 200, fax.DeliverySucceeded, nil),
		attemptOf(jobs[2], t0.Add(2*time.Hour), 500, fax.DeliveryPending, &next),
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
		t.Errorf("endpoint disabled (%s); want enabled: the success in between ended the failing streak", got.DisabledReason)
	}
}

// TestRecordAttemptsGone: a 410 in a batch disables the endpoint and fails
// its other pending deliveries, as RecordAttempt does.
func TestRecordAttemptsGone(t *testing.T) {
	c := storetest.NewClock()
	s := openAt(t, c, 0)
	ctx := context.Background()
	e, err := s.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://a.example/hook", Format: fax.FormatJSON, APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0"})
	if err != nil {
		t.Fatal(err)
	}
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
