// Package storetest is the conformance suite every faxgate store must pass.
// Behaviour is specified here first, then implemented by each store; the
// SQLite and PostgreSQL stores run the same suite.
//
// It imports internal/fax and the standard library only.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store is everything the suite exercises.
type Store interface {
	CreateFax(ctx context.Context, f *fax.Fax, opts fax.CreateOptions) (*fax.Fax, bool, error)
	FindFaxByID(ctx context.Context, id string) (*fax.Fax, error)
	FindFaxes(ctx context.Context, fl fax.FaxFilter) ([]*fax.Fax, string, error)
	FindEventsByFax(ctx context.Context, faxID string) ([]*fax.Event, error)
	FindCallbackToken(ctx context.Context, id string) (string, error)
	ApplyUpdate(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	CancelFax(ctx context.Context, id string) (*fax.Fax, error)

	ClaimFaxes(ctx context.Context, leaseFor time.Duration, limit int) ([]*fax.DispatchJob, error)
	ExtendLease(ctx context.Context, id string, leaseFor time.Duration) error
	MarkHanded(ctx context.Context, id, providerFaxID string, checkAt time.Time) error
	RescheduleDispatch(ctx context.Context, id string, at time.Time) error
	FailDispatch(ctx context.Context, id string, failure *fax.Failure) error

	CreateEndpoint(ctx context.Context, e *fax.Endpoint) (*fax.Endpoint, error)
	FindEndpointByID(ctx context.Context, id string) (*fax.Endpoint, error)
	FindEndpoints(ctx context.Context, limit int, cursor string) ([]*fax.Endpoint, string, error)
	UpdateEndpoint(ctx context.Context, id string, fn func(*fax.Endpoint) error) (*fax.Endpoint, error)
	DeleteEndpoint(ctx context.Context, id string) error

	ClaimDeliveries(ctx context.Context, now time.Time, leaseFor time.Duration, limit int) ([]*fax.DeliveryJob, error)
	RecordAttempt(ctx context.Context, deliveryID string, a fax.Attempt, status fax.DeliveryStatus, next *time.Time) error
	RecordAttempts(ctx context.Context, ds []fax.Delivery) []error
	FindDeliveryByID(ctx context.Context, id string) (*fax.Delivery, error)
	FindDeliveries(ctx context.Context, fl fax.DeliveryFilter) ([]*fax.Delivery, string, error)
	RetryDelivery(ctx context.Context, id string) (*fax.Delivery, error)
	CreateTestEvent(ctx context.Context, endpointID string) (*fax.Delivery, error)
	RetryFailedDeliveries(ctx context.Context, endpointID string, since time.Time) (int, error)

	CreateAPIKey(ctx context.Context, k *fax.APIKey) (*fax.APIKey, error)
	FindAPIKeyByHash(ctx context.Context, hash string) (*fax.APIKey, error)
	FindAPIKeys(ctx context.Context) ([]*fax.APIKey, error)
	DeleteAPIKey(ctx context.Context, id string) error

	EnqueueInbound(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	ClaimInboundJobs(ctx context.Context, leaseFor time.Duration, limit int) ([]*fax.InboundJob, error)
	ClaimInboundJobsExcept(ctx context.Context, leaseFor time.Duration, limit int, except []string) ([]*fax.InboundJob, error)
	CompleteInbound(ctx context.Context, jobID string, u *fax.Update) (fax.ApplyResult, error)
	RetryInbound(ctx context.Context, jobID, errText string, at time.Time) error
	RecordAudit(ctx context.Context, e *fax.AuditEntry) error
	FindAudit(ctx context.Context, fl fax.AuditFilter) ([]*fax.AuditEntry, string, error)

	CreateSMS(ctx context.Context, m *fax.SMS) (*fax.SMS, error)
	FindSMSByID(ctx context.Context, id string) (*fax.SMS, error)
	MarkSMSHanded(ctx context.Context, id, providerSMSID string) error

	FindExpiredDocuments(ctx context.Context, direction fax.Direction, before time.Time, limit int) ([]*fax.Fax, error)
	MarkDocumentPurged(ctx context.Context, id string) error
	PurgeAudit(ctx context.Context, before time.Time) (int, error)
	Stats(ctx context.Context) (fax.Stats, error)

	Setting(ctx context.Context, name string, gen func() string) (string, error)
	Ping(ctx context.Context) error
}

// Clock is a settable clock the suite passes to the store under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at a fixed instant.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Factory opens a fresh, empty store that reads time from clock.
type Factory func(t *testing.T, clock *Clock) Store

// Run runs the whole suite.
func Run(t *testing.T, open Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Store, *Clock)
	}{
		{"CreateAndFindFax", testCreateAndFindFax},
		{"Idempotency", testIdempotency},
		{"ListPagination", testListPagination},
		{"ApplyTransitions", testApplyTransitions},
		{"ApplyDuplicateAndUnknown", testApplyDuplicateAndUnknown},
		{"ApplyOtherProvider", testApplyOtherProvider},
		{"Receive", testReceive},
		{"Cancel", testCancel},
		{"Dispatch", testDispatch},
		{"DeliveriesRouting", testDeliveriesRouting},
		{"DeliveryAttempts", testDeliveryAttempts},
		{"EndpointGoneDisables", testEndpointGone},
		{"RecordAttempts", testRecordAttempts},
		{"RecordAttemptsInOrder", testRecordAttemptsInOrder},
		{"RecordAttemptsGone", testRecordAttemptsGone},
		{"DeliveryRemoval", testDeliveryRemoval},
		{"RetryAfterHoldsEndpoint", testRetryAfterHoldsEndpoint},
		{"Endpoints", testEndpoints},
		{"APIKeys", testAPIKeys},
		{"Setting", testSetting},
		{"ConcurrentApply", testConcurrentApply},
		{"InboundJobs", testInboundJobs},
		{"InboundJobsExcept", testInboundJobsExcept},
		{"EndpointDisabledAfterFailing", testEndpointDisabledAfterFailing},
		{"TestEventAndRetryFailed", testTestEventAndRetryFailed},
		{"Audit", testAudit},
		{"SMS", testSMS},
		{"RetentionAndStats", testRetentionAndStats},
		{"IngestScope", testIngestScope},
		{"IngestFailedReception", testIngestFailedReception},
		{"ClaimPerCarrier", testClaimPerCarrier}, {"ResultChecks", testResultChecks},
		{"RoutesFollowEndpointWrites", testRoutesFollowEndpointWrites},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock()
			tt.fn(t, open(t, c), c)
		})
	}
}

func mustCreate(t *testing.T, s Store, to string, opts ...func(*fax.Fax)) *fax.Fax {
	t.Helper()
	f := &fax.Fax{To: to, From: "+15550000000", Provider: "simulator", Pages: 2, DocumentKey: "k", DocumentType: "application/pdf", CallbackToken: "tok"}
	for _, o := range opts {
		o(f)
	}
	got, existed, err := s.CreateFax(context.Background(), f, fax.CreateOptions{CallbackSecret: "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="})
	if err != nil {
		t.Fatalf("CreateFax: %v", err)
	}
	if existed {
		t.Fatalf("CreateFax: got existed, want new")
	}
	return got
}

func mustEndpoint(t *testing.T, s Store, e *fax.Endpoint) *fax.Endpoint {
	t.Helper()
	if e.Format == "" {
		e.Format = fax.FormatJSON
	}
	e.APIVersion = fax.APIVersion
	if e.Secret == "" {
		e.Secret = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"
	}
	got, err := s.CreateEndpoint(context.Background(), e)
	if err != nil {
		t.Fatalf("CreateEndpoint: %v", err)
	}
	return got
}

func eventTypes(t *testing.T, s Store, faxID string) []fax.EventType {
	t.Helper()
	evs, err := s.FindEventsByFax(context.Background(), faxID)
	if err != nil {
		t.Fatalf("FindEventsByFax: %v", err)
	}
	var out []fax.EventType
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := fax.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
}

func equalTypes(a, b []fax.EventType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testCreateAndFindFax(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000", func(f *fax.Fax) { f.HeaderText = "ACME" })
	if f.ID == "" || f.Status != fax.StatusQueued || f.Direction != fax.Outbound {
		t.Fatalf("got %+v, want a queued outbound fax with an id", f)
	}
	got, err := s.FindFaxByID(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.To != "+15551230000" || got.HeaderText != "ACME" || got.Pages != 2 || !got.CreatedAt.Equal(c.Now()) {
		t.Errorf("got %+v", got)
	}
	if tok, err := s.FindCallbackToken(ctx, f.ID); err != nil || tok != "tok" {
		t.Errorf("FindCallbackToken: got %q, %v", tok, err)
	}
	if got := eventTypes(t, s, f.ID); !equalTypes(got, []fax.EventType{fax.EventFaxQueued}) {
		t.Errorf("events: got %v, want [fax.queued]", got)
	}
	_, err = s.FindFaxByID(ctx, "fax_nope")
	wantCode(t, err, fax.ECodeNotFound)
}

func testIdempotency(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := &fax.Fax{To: "+15551230000", Provider: "simulator", OwnerKeyID: "key_a", IdempotencyKey: "idem-1"}
	a, existed, err := s.CreateFax(ctx, f, fax.CreateOptions{RequestHash: "h1"})
	if err != nil || existed {
		t.Fatalf("first: %v %v", existed, err)
	}
	b, existed, err := s.CreateFax(ctx, f, fax.CreateOptions{RequestHash: "h1"})
	if err != nil || !existed || b.ID != a.ID {
		t.Fatalf("repeat: got %v %v %v, want the same fax", b, existed, err)
	}
	_, _, err = s.CreateFax(ctx, f, fax.CreateOptions{RequestHash: "h2"})
	wantCode(t, err, fax.ECodeConflict)
	// Another owner may use the same key.
	g := *f
	g.OwnerKeyID = "key_b"
	d, existed, err := s.CreateFax(ctx, &g, fax.CreateOptions{RequestHash: "h1"})
	if err != nil || existed || d.ID == a.ID {
		t.Fatalf("other owner: got %v %v %v", d, existed, err)
	}
	list, _, _ := s.FindFaxes(ctx, fax.FaxFilter{})
	if len(list) != 2 {
		t.Errorf("got %d faxes, want 2", len(list))
	}
}

func testListPagination(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, mustCreate(t, s, fmt.Sprintf("+1555123%04d", i)).ID)
		c.Advance(time.Millisecond)
	}
	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		got, next, err := s.FindFaxes(ctx, fax.FaxFilter{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			seen = append(seen, f.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 7 {
		t.Fatalf("got %d faxes over pages, want 7", len(seen))
	}
	for i := range seen {
		if seen[i] != ids[len(ids)-1-i] {
			t.Fatalf("page order: got %v, want newest first %v", seen, ids)
		}
	}
	got, _, _ := s.FindFaxes(ctx, fax.FaxFilter{Status: fax.StatusSent})
	if len(got) != 0 {
		t.Errorf("status filter: got %d, want 0", len(got))
	}
	got, _, _ = s.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Inbound})
	if len(got) != 0 {
		t.Errorf("direction filter: got %d, want 0", len(got))
	}
}

func testApplyTransitions(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000")
	apply := func(u fax.Update) fax.ApplyResult {
		t.Helper()
		u.Provider, u.FaxID = "simulator", f.ID
		r, err := s.ApplyUpdate(ctx, &u)
		if err != nil {
			t.Fatalf("ApplyUpdate(%+v): %v", u, err)
		}
		return r
	}
	if r := apply(fax.Update{Kind: fax.UpdatePage, Page: 1, ProviderFaxID: "p1"}); !r.Applied {
		t.Errorf("page 1: got %+v, want applied", r)
	}
	if r := apply(fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusSent, Pages: 2, EventKey: "final"}); !r.Applied {
		t.Errorf("sent: got %+v, want applied", r)
	}
	if r := apply(fax.Update{Kind: fax.UpdateStatus, Status: fax.StatusFailed, EventKey: "late-fail"}); !r.Stale || r.Applied {
		t.Errorf("late failure: got %+v, want stale", r)
	}
	if r := apply(fax.Update{Kind: fax.UpdatePage, Page: 2, EventKey: "late-page"}); !r.Stale {
		t.Errorf("late page: got %+v, want stale", r)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Status != fax.StatusSent || got.ProviderFaxID != "p1" || got.CompletedAt == nil || got.PagesSent != 2 {
		t.Errorf("got %+v, want sent with provider id p1", got)
	}
	want := []fax.EventType{fax.EventFaxQueued, fax.EventFaxSending, fax.EventFaxPageSent, fax.EventFaxSent}
	if got := eventTypes(t, s, f.ID); !equalTypes(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
}

func testApplyDuplicateAndUnknown(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000")
	u := fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusFailed,
		Failure: &fax.Failure{Code: fax.FailBusy, Message: "busy"}}
	for i := 0; i < 5; i++ {
		r, err := s.ApplyUpdate(ctx, &u)
		if err != nil {
			t.Fatal(err)
		}
		if (i == 0) != r.Applied || (i > 0) != r.Duplicate {
			t.Errorf("delivery %d: got %+v", i, r)
		}
		if r.FaxID != f.ID {
			t.Errorf("delivery %d: got fax id %q, want %q", i, r.FaxID, f.ID)
		}
	}
	if n := len(eventTypes(t, s, f.ID)); n != 2 {
		t.Errorf("got %d events, want 2 (queued, failed)", n)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Failure == nil || got.Failure.Code != fax.FailBusy {
		t.Errorf("failure: got %+v", got.Failure)
	}
	r, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: "fax_unknown", Kind: fax.UpdateStatus, Status: fax.StatusSent})
	if err != nil || !r.Unknown || r.Applied {
		t.Errorf("unknown: got %+v %v", r, err)
	}
	r, err = s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", ProviderFaxID: "nobody", Kind: fax.UpdateStatus, Status: fax.StatusSent})
	if err != nil || !r.Unknown {
		t.Errorf("unknown by provider id: got %+v %v", r, err)
	}
}

func testApplyOtherProvider(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000")
	r, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "phaxio", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
	if err != nil || !r.Unknown {
		t.Fatalf("got %+v %v, want unknown: a carrier may only touch its own faxes", r, err)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Status != fax.StatusQueued {
		t.Errorf("got %s, want queued", got.Status)
	}
}

func testReceive(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	bound := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook", Numbers: []string{"+15559870000"}})
	global := mustEndpoint(t, s, &fax.Endpoint{URL: "https://b.example/hook"})
	u := fax.Update{Provider: "phaxio", Kind: fax.UpdateInbound, ProviderFaxID: "98765", Status: fax.StatusReceived,
		From: "+15551230000", To: "+15559870000", Pages: 3,
		Document: &fax.InboundDocument{Key: "in/x.pdf", SHA256: "abc", Size: 10}}
	r, err := s.ApplyUpdate(ctx, &u)
	if err != nil || !r.Applied || r.FaxID == "" {
		t.Fatalf("got %+v %v", r, err)
	}
	r2, err := s.ApplyUpdate(ctx, &u)
	if err != nil || !r2.Duplicate || r2.FaxID != r.FaxID {
		t.Fatalf("repeat: got %+v %v, want duplicate of %s", r2, err, r.FaxID)
	}
	f, _ := s.FindFaxByID(ctx, r.FaxID)
	if f.Direction != fax.Inbound || f.Status != fax.StatusReceived || f.Pages != 3 || f.DocumentKey != "in/x.pdf" || f.DocumentSHA256 != "abc" {
		t.Errorf("got %+v", f)
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: f.ID})
	if len(ds) != 1 || ds[0].EndpointID != bound.ID {
		t.Errorf("got deliveries %+v, want one to the number's endpoint %s (not global %s)", ds, bound.ID, global.ID)
	}
	// Another number goes to the global endpoint.
	u.ProviderFaxID, u.To = "98766", "+15559870001"
	r, _ = s.ApplyUpdate(ctx, &u)
	ds, _, _ = s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: r.FaxID})
	if len(ds) != 1 || ds[0].EndpointID != global.ID {
		t.Errorf("got deliveries %+v, want one to the global endpoint", ds)
	}
	in, _, _ := s.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Inbound})
	if len(in) != 2 {
		t.Errorf("got %d inbound, want 2", len(in))
	}
}

func testCancel(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000")
	got, err := s.CancelFax(ctx, f.ID)
	if err != nil || got.Status != fax.StatusCanceled {
		t.Fatalf("got %+v %v", got, err)
	}
	_, err = s.CancelFax(ctx, f.ID)
	wantCode(t, err, fax.ECodeConflict)
	_, err = s.CancelFax(ctx, "fax_nope")
	wantCode(t, err, fax.ECodeNotFound)
	jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10)
	if len(jobs) != 0 {
		t.Errorf("a canceled fax was claimed for sending")
	}
}

func testDispatch(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	a := mustCreate(t, s, "+15551230000")
	b := mustCreate(t, s, "+15551230001")
	jobs, err := s.ClaimFaxes(ctx, time.Minute, 10)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("got %d jobs %v, want 2", len(jobs), err)
	}
	for _, j := range jobs {
		if j.Fax.Status != fax.StatusSending || j.Attempt != 1 || j.Resumed {
			t.Errorf("job: got %+v", j)
		}
	}
	if again, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(again) != 0 {
		t.Fatalf("leased faxes claimed twice")
	}
	if err := s.MarkHanded(ctx, a.ID, "prov-a", c.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RescheduleDispatch(ctx, b.ID, c.Now().Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(again) != 0 {
		t.Fatalf("rescheduled fax claimed before its time")
	}
	c.Advance(31 * time.Second)
	again, _ := s.ClaimFaxes(ctx, time.Minute, 10)
	if len(again) != 1 || again[0].Fax.ID != b.ID || again[0].Attempt != 2 || again[0].Resumed {
		t.Fatalf("got %+v, want b again as attempt 2", again)
	}
	// The process dies mid-send: the lease runs out and the claim is resumed.
	asDispatchStore(t, s).MarkOnWire(ctx, b.ID)
	c.Advance(2 * time.Minute)
	again, _ = s.ClaimFaxes(ctx, time.Minute, 10)
	if len(again) != 1 || !again[0].Resumed {
		t.Fatalf("got %+v, want b resumed", again)
	}
	if err := s.FailDispatch(ctx, b.ID, &fax.Failure{Code: fax.FailCarrier, Message: "refused"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindFaxByID(ctx, b.ID)
	if got.Status != fax.StatusFailed || got.Failure.Code != fax.FailCarrier {
		t.Errorf("got %+v", got)
	}
	got, _ = s.FindFaxByID(ctx, a.ID)
	if got.ProviderFaxID != "prov-a" || got.Status != fax.StatusSending {
		t.Errorf("got %+v", got)
	}
	c.Advance(time.Hour)
	if again, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(again) != 0 {
		t.Errorf("handed or failed faxes claimed again: %+v", again)
	}
	// Events: queued and sending once each, despite three claims of b.
	want := []fax.EventType{fax.EventFaxQueued, fax.EventFaxSending, fax.EventFaxFailed}
	if got := eventTypes(t, s, b.ID); !equalTypes(got, want) {
		t.Errorf("events: got %v, want %v", got, want)
	}
}

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

func testEndpoints(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	e := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/x", Events: []fax.EventType{fax.EventFaxSent}, Numbers: []string{"+15550001111"}, Description: "d"})
	got, err := s.FindEndpointByID(ctx, e.ID)
	if err != nil || got.URL != e.URL || len(got.Events) != 1 || len(got.Numbers) != 1 || !got.Enabled || got.Secret != e.Secret {
		t.Fatalf("got %+v %v", got, err)
	}
	exp := c.Now().Add(time.Hour)
	up, err := s.UpdateEndpoint(ctx, e.ID, func(e *fax.Endpoint) error {
		e.PreviousSecret, e.PreviousSecretExpiresAt, e.Secret = e.Secret, &exp, "whsec_bmV3c2VjcmV0bmV3c2VjcmV0"
		e.Inflight = true
		return nil
	})
	if err != nil || up.Secret == e.Secret || up.PreviousSecret != e.Secret || !up.Inflight {
		t.Fatalf("got %+v %v", up, err)
	}
	got, _ = s.FindEndpointByID(ctx, e.ID)
	if got.PreviousSecretExpiresAt == nil || !got.PreviousSecretExpiresAt.Equal(exp) || len(got.Secrets(c.Now())) != 2 {
		t.Errorf("rotation not stored: %+v", got)
	}
	_, err = s.UpdateEndpoint(ctx, e.ID, func(*fax.Endpoint) error { return fax.Errorf(fax.ECodeInvalid, "no") })
	wantCode(t, err, fax.ECodeInvalid)
	mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/y"})
	list, next, err := s.FindEndpoints(ctx, 1, "")
	if err != nil || len(list) != 1 || next == "" {
		t.Fatalf("page 1: %d %q %v", len(list), next, err)
	}
	list, next, _ = s.FindEndpoints(ctx, 1, next)
	if len(list) != 1 || next != "" || list[0].ID != e.ID {
		t.Fatalf("page 2: %+v %q", list, next)
	}
	if err := s.DeleteEndpoint(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindEndpointByID(ctx, e.ID)
	wantCode(t, err, fax.ECodeNotFound)
	wantCode(t, s.DeleteEndpoint(ctx, e.ID), fax.ECodeNotFound)
}

func testAPIKeys(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	k, err := s.CreateAPIKey(ctx, &fax.APIKey{Name: "ci", Hash: "h1", Prefix: "fgk_abc", Scopes: []fax.Scope{fax.ScopeFaxRead}})
	if err != nil || k.ID == "" {
		t.Fatal(err)
	}
	got, err := s.FindAPIKeyByHash(ctx, "h1")
	if err != nil || got.ID != k.ID || len(got.Scopes) != 1 || got.Scopes[0] != fax.ScopeFaxRead {
		t.Fatalf("got %+v %v", got, err)
	}
	_, err = s.FindAPIKeyByHash(ctx, "nope")
	wantCode(t, err, fax.ECodeUnauthorized)
	list, _ := s.FindAPIKeys(ctx)
	if len(list) != 1 {
		t.Errorf("got %d keys", len(list))
	}
	if err := s.DeleteAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindAPIKeyByHash(ctx, "h1")
	wantCode(t, err, fax.ECodeUnauthorized)
	wantCode(t, s.DeleteAPIKey(ctx, k.ID), fax.ECodeNotFound)
}

func testSetting(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	a, err := s.Setting(ctx, "x", func() string { return "first" })
	if err != nil || a != "first" {
		t.Fatal(a, err)
	}
	b, _ := s.Setting(ctx, "x", func() string { return "second" })
	if b != "first" {
		t.Errorf("got %q, want the first value kept", b)
	}
}

// testConcurrentApply sends many updates at once, as a carrier flood would:
// every one must be applied exactly once, whatever the batching.
func testConcurrentApply(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/post"})
	const n = 40
	faxes := make([]*fax.Fax, n)
	for i := range faxes {
		faxes[i] = mustCreate(t, s, "+15551230000")
	}
	var wg sync.WaitGroup
	errs := make(chan error, n*3)
	for i := 0; i < n; i++ {
		for r := 0; r < 3; r++ { // each callback delivered three times
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: faxes[i].ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{Limit: fax.MaxLimit})
	if len(ds) != n {
		t.Errorf("got %d deliveries, want %d (one fax.sent per fax)", len(ds), n)
	}
	for _, f := range faxes {
		got, _ := s.FindFaxByID(ctx, f.ID)
		if got.Status != fax.StatusSent {
			t.Errorf("%s: got %s, want sent", f.ID, got.Status)
		}
	}
}

func testInboundJobs(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ep := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook"})
	u := fax.Update{Provider: "phaxio", Kind: fax.UpdateInbound, ProviderFaxID: "777", Status: fax.StatusReceived,
		From: "+15551230000", To: "+15559870000", Pages: 2, Document: &fax.InboundDocument{URL: "https://files.phaxio.com/x"}}
	r, err := s.EnqueueInbound(ctx, &u)
	if err != nil || !r.Applied {
		t.Fatalf("enqueue: %+v %v", r, err)
	}
	if r, _ := s.EnqueueInbound(ctx, &u); !r.Duplicate {
		t.Errorf("repeat enqueue: got %+v, want duplicate", r)
	}
	if r, _ := s.ApplyUpdate(ctx, &u); !r.Duplicate {
		t.Errorf("apply after enqueue: got %+v, want duplicate", r)
	}
	jobs, err := s.ClaimInboundJobs(ctx, time.Minute, 10)
	if err != nil || len(jobs) != 1 || jobs[0].Update.Document.URL != u.Document.URL || jobs[0].Update.To != u.To {
		t.Fatalf("claim: %+v %v", jobs, err)
	}
	if again, _ := s.ClaimInboundJobs(ctx, time.Minute, 10); len(again) != 0 {
		t.Fatal("leased job claimed twice")
	}
	if err := s.RetryInbound(ctx, jobs[0].ID, "503", c.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Minute)
	jobs, _ = s.ClaimInboundJobs(ctx, time.Minute, 10)
	if len(jobs) != 1 || jobs[0].Attempts != 1 {
		t.Fatalf("after retry: %+v", jobs)
	}
	done := jobs[0].Update
	done.Document = &fax.InboundDocument{Key: "inbound/x.pdf", SHA256: "abc", Size: 3}
	r, err = s.CompleteInbound(ctx, jobs[0].ID, &done)
	if err != nil || !r.Applied || r.FaxID == "" {
		t.Fatalf("complete: %+v %v", r, err)
	}
	f, _ := s.FindFaxByID(ctx, r.FaxID)
	if f.Status != fax.StatusReceived || f.DocumentKey != "inbound/x.pdf" || f.Pages != 2 {
		t.Errorf("got %+v", f)
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: ep.ID})
	if len(ds) != 1 || ds[0].EventType != fax.EventFaxReceived {
		t.Errorf("got deliveries %+v, want one fax.received", ds)
	}
	if r2, _ := s.CompleteInbound(ctx, jobs[0].ID, &done); !r2.Duplicate || r2.FaxID != r.FaxID {
		t.Errorf("complete twice: got %+v", r2)
	}
	if r3, _ := s.EnqueueInbound(ctx, &u); !r3.Duplicate || r3.FaxID != r.FaxID {
		t.Errorf("carrier repeats after completion: got %+v, want duplicate of %s", r3, r.FaxID)
	}
	if again, _ := s.ClaimInboundJobs(ctx, time.Minute, 10); len(again) != 0 {
		t.Error("completed job claimed again")
	}
	// A job given up on still records the fax, as partial without document.
	u2 := u
	u2.ProviderFaxID = "778"
	s.EnqueueInbound(ctx, &u2)
	jobs, _ = s.ClaimInboundJobs(ctx, time.Minute, 10)
	gone := jobs[0].Update
	gone.Status, gone.Document = fax.StatusPartial, nil
	gone.Failure = &fax.Failure{Code: "document_unavailable", Message: "could not be fetched"}
	r, err = s.CompleteInbound(ctx, jobs[0].ID, &gone)
	if err != nil {
		t.Fatal(err)
	}
	f, _ = s.FindFaxByID(ctx, r.FaxID)
	if f.Status != fax.StatusPartial || f.DocumentKey != "" || f.Failure == nil {
		t.Errorf("got %+v", f)
	}
}

func testAudit(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	for i, a := range []string{"fax.send", "webhook.rejected", "fax.send"} {
		if err := s.RecordAudit(ctx, &fax.AuditEntry{Actor: "key_1", Action: a, TargetType: "fax", TargetID: fmt.Sprint("fax_", i), Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := s.FindAudit(ctx, fax.AuditFilter{Action: "fax.send"})
	if err != nil || len(got) != 2 || got[0].TargetID != "fax_2" || got[0].At.IsZero() {
		t.Fatalf("got %+v %v", got, err)
	}
	page, next, _ := s.FindAudit(ctx, fax.AuditFilter{Limit: 2})
	if len(page) != 2 || next == "" {
		t.Fatalf("page: %d %q", len(page), next)
	}
	rest, _, _ := s.FindAudit(ctx, fax.AuditFilter{Limit: 2, Cursor: next})
	if len(rest) != 1 {
		t.Errorf("second page: got %d, want 1", len(rest))
	}
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

func testSMS(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	ep := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/hook"})
	m, err := s.CreateSMS(ctx, &fax.SMS{To: "+61412121212", TextLength: 12, Provider: "gofax"})
	if err != nil || m.Status != fax.StatusQueued || m.ID == "" {
		t.Fatalf("create: %+v %v", m, err)
	}
	if err := s.MarkSMSHanded(ctx, m.ID, "52410901"); err != nil {
		t.Fatal(err)
	}
	u := fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, ProviderFaxID: "52410901", Status: fax.StatusSent, EventKey: "gofax:sms:52410901:true"}
	r, err := s.ApplyUpdate(ctx, &u)
	if err != nil || !r.Applied || r.FaxID != m.ID {
		t.Fatalf("apply: %+v %v", r, err)
	}
	if r, _ := s.ApplyUpdate(ctx, &u); !r.Duplicate {
		t.Errorf("repeat: got %+v, want duplicate", r)
	}
	late := fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, FaxID: m.ID, Status: fax.StatusFailed, EventKey: "late"}
	if r, _ := s.ApplyUpdate(ctx, &late); !r.Stale {
		t.Errorf("late failure: got %+v, want stale", r)
	}
	got, _ := s.FindSMSByID(ctx, m.ID)
	if got.Status != fax.StatusSent || got.ProviderSMSID != "52410901" || got.CompletedAt == nil {
		t.Errorf("got %+v", got)
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: ep.ID})
	if len(ds) != 1 || ds[0].EventType != fax.EventSMSSent {
		t.Errorf("deliveries: %+v, want one sms.sent", ds)
	}
	if r, _ := s.ApplyUpdate(ctx, &fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, ProviderFaxID: "nobody", Status: fax.StatusSent}); !r.Unknown {
		t.Errorf("unknown sms: got %+v", r)
	}
	_, err = s.FindSMSByID(ctx, "sms_nope")
	wantCode(t, err, fax.ECodeNotFound)
}

func testRetentionAndStats(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	r, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", Kind: fax.UpdateInbound, ProviderFaxID: "in-1",
		Status: fax.StatusReceived, To: "+15550001111", Pages: 1, Document: &fax.InboundDocument{Key: "inbound/in-1.pdf", Size: 3, SHA256: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	out := mustCreate(t, s, "+15551234567")
	c.Advance(48 * time.Hour)
	old, err := s.FindExpiredDocuments(ctx, fax.Inbound, c.Now().Add(-24*time.Hour), 10)
	if err != nil || len(old) != 1 || old[0].ID != r.FaxID {
		t.Fatalf("expired inbound: %+v %v", old, err)
	}
	if none, _ := s.FindExpiredDocuments(ctx, fax.Outbound, c.Now().Add(-24*time.Hour), 10); len(none) != 0 {
		t.Errorf("a queued outbound fax is not final, yet its document expired: %+v", none)
	}
	if err := s.MarkDocumentPurged(ctx, r.FaxID); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDocumentPurged(ctx, r.FaxID); err != nil {
		t.Fatal(err)
	}
	f, _ := s.FindFaxByID(ctx, r.FaxID)
	if !f.DocumentPurged {
		t.Error("not marked purged")
	}
	if again, _ := s.FindExpiredDocuments(ctx, fax.Inbound, c.Now(), 10); len(again) != 0 {
		t.Error("a purged document is listed again")
	}
	es, _, _ := s.FindAudit(ctx, fax.AuditFilter{Action: "document.purge"})
	if len(es) != 1 {
		t.Errorf("got %d purge audit entries, want 1", len(es))
	}
	c.Advance(time.Hour)
	n, err := s.PurgeAudit(ctx, c.Now())
	if err != nil || n < 1 {
		t.Errorf("purge audit: %d %v", n, err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, x := range st.Faxes {
		counts[string(x.Direction)+"/"+x.Status] += x.Count
	}
	if counts["inbound/received"] != 1 || counts["outbound/queued"] != 1 {
		t.Errorf("stats: %v", counts)
	}
	queues := map[string]fax.QueueStats{}
	for _, q := range st.Queues {
		queues[q.Name] = q
	}
	if q := queues["dispatch"]; q.Depth != 1 || q.OldestAge < 48*time.Hour {
		t.Errorf("dispatch queue: %+v (fax %s waits since creation)", q, out.ID)
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
