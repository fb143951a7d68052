// Package storetest is the conformance suite every faxgate store must pass.
// Behaviour is specified here first, then implemented by each store; the
// SQLite and PostgreSQL stores run the same suite. It is split by area, a
// file each (fax, apply, dispatch, delivery, endpoint, inbound, …), as
// River splits riverdrivertest; Run lists every test.
//
// It imports internal/fax and the standard library only.
package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store is everything the suite exercises.
type Store interface {
	CreateFax(ctx context.Context, f *fax.Fax, opts fax.CreateOptions) (*fax.Fax, bool, error)
	CreateFaxes(ctx context.Context, faxes []*fax.Fax, opts fax.CreateOptions) ([]*fax.Fax, bool, error)
	FindFaxByID(ctx context.Context, id string) (*fax.Fax, error)
	FindFaxes(ctx context.Context, fl fax.FaxFilter) ([]*fax.Fax, string, error)
	FindEventsByFax(ctx context.Context, faxID string) ([]*fax.Event, error)
	FindCallbackToken(ctx context.Context, id string) (string, error)
	ApplyUpdate(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	CancelFax(ctx context.Context, id string) (*fax.Fax, error)
	DeleteFax(ctx context.Context, id string) (*fax.Fax, error)

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
		{"SearchByNumber", testSearchByNumber}, {"DeliveryEventFilter", testDeliveryEventFilter},
		{"ApplyTransitions", testApplyTransitions},
		{"ApplyDuplicateAndUnknown", testApplyDuplicateAndUnknown},
		{"ApplyOtherProvider", testApplyOtherProvider},
		{"Receive", testReceive},
		{"Cancel", testCancel},
		{"DeleteFax", testDeleteFax},
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
		{"ReceivePending", testReceivePending},
		{"EndpointDisabledAfterFailing", testEndpointDisabledAfterFailing},
		{"TestEventAndRetryFailed", testTestEventAndRetryFailed},
		{"Audit", testAudit},
		{"SMS", testSMS},
		{"RetentionAndStats", testRetentionAndStats},
		{"IngestScope", testIngestScope},
		{"IngestFailedReception", testIngestFailedReception},
		{"ClaimPerCarrier", testClaimPerCarrier}, {"ResultChecks", testResultChecks},
		{"Sessions", testSessions},
		{"RoutesFollowEndpointWrites", testRoutesFollowEndpointWrites},
		{"CarrierDetails", testCarrierDetails}, {"CarrierDetailsKept", testCarrierDetailsKept},
		{"Redial", testRedial}, {"NoRedial", testNoRedial}, {"RedialWhileSending", testRedialWhileSending}, {"Failover", testFailover},
		{"BatchCreate", testBatchCreate}, {"BatchAtomic", testBatchAtomic}, {"ListFilters", testListFilters}, {"ListStableUnderInserts", testListStableUnderInserts},
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
