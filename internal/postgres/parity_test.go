//go:build parity

// The parity test imports the SQLite store, so that it is built only on
// demand and another package's work in progress never breaks this one's
// tests:
//
//	go test -tags parity -run Parity ./internal/postgres/

package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/postgres"
	"github.com/faxgate/faxgate/internal/sqlite"
	"github.com/faxgate/faxgate/internal/storetest"
	"github.com/google/go-cmp/cmp"
)

// TestParityWithSQLite drives the SQLite store and this one through the same
// long scenario, with the same clock, and compares everything they return:
// results, errors (code and message), lists, events' payloads, deliveries
// and their attempts. Generated ids differ, so each is replaced by the
// order in which it first appears. The conformance suite checks what
// matters; this catches every other difference.
func TestParityWithSQLite(t *testing.T) {
	serverURL(t)
	run := func(s parityStore, c *storetest.Clock) []string {
		var tr transcript
		parityScenario(&tr, s, c)
		return tr.normalized()
	}
	cl := storetest.NewClock()
	lite, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "faxgate.db"), sqlite.Options{Now: cl.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	want := run(lite, cl)

	cp := storetest.NewClock()
	got := run(mustOpen(t, mustDatabase(t), postgres.Options{Now: cp.Now}), cp)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PostgreSQL differs from SQLite (-sqlite +postgres):\n%s", diff)
	}
	if len(want) < 100 {
		t.Errorf("the scenario recorded only %d steps", len(want))
	}
}

type transcript struct{ lines []string }

func (tr *transcript) add(step string, v any, err error) {
	b, merr := json.Marshal(v)
	if merr != nil {
		b = []byte(merr.Error())
	}
	e := ""
	if err != nil {
		e = " error " + fax.ErrorCode(err) + ": " + fax.ErrorMessage(err)
	}
	tr.lines = append(tr.lines, step+" → "+string(b)+e)
}

var idPattern = regexp.MustCompile(`\b(fax|evt|we|dlv|key|aud|inj|sms)_[0-9A-HJKMNP-TV-Z]{26}\b`)

// normalized replaces generated ids by their order of first appearance.
func (tr *transcript) normalized() []string {
	seen := map[string]string{}
	out := make([]string, len(tr.lines))
	for i, l := range tr.lines {
		out[i] = idPattern.ReplaceAllStringFunc(l, func(id string) string {
			if n, ok := seen[id]; ok {
				return n
			}
			n := fmt.Sprintf("%s#%d", strings.SplitN(id, "_", 2)[0], len(seen))
			seen[id] = n
			return n
		})
	}
	return out
}

// parityStore is the suite's Store and the methods it does not cover yet.
type parityStore interface {
	storetest.Store
	CreateSMS(ctx context.Context, m *fax.SMS) (*fax.SMS, error)
	FindSMSByID(ctx context.Context, id string) (*fax.SMS, error)
	MarkSMSHanded(ctx context.Context, id, providerSMSID string) error
	FindExpiredDocuments(ctx context.Context, direction fax.Direction, before time.Time, limit int) ([]*fax.Fax, error)
	MarkDocumentPurged(ctx context.Context, id string) error
	Stats(ctx context.Context) (fax.Stats, error)
}

func parityScenario(tr *transcript, s parityStore, c *storetest.Clock) {
	ctx := context.Background()
	tick := func() { c.Advance(1500 * time.Millisecond) }
	secret := "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"
	ep := func(step string, e *fax.Endpoint) *fax.Endpoint {
		e.APIVersion, e.Secret = fax.APIVersion, secret
		if e.Format == "" {
			e.Format = fax.FormatJSON
		}
		got, err := s.CreateEndpoint(ctx, e)
		tr.add(step, got, err)
		tick()
		return got
	}
	global := ep("endpoint global", &fax.Endpoint{URL: "https://g.example/hook", Description: "global"})
	inflight := ep("endpoint inflight", &fax.Endpoint{URL: "https://i.example/hook", Inflight: true})
	failedOnly := ep("endpoint failed-only", &fax.Endpoint{URL: "https://f.example/hook", Events: []fax.EventType{fax.EventFaxFailed}})
	bound := ep("endpoint bound", &fax.Endpoint{URL: "https://b.example/hook", Numbers: []string{"+15559870000"}, Format: fax.FormatPhaxio})
	_ = failedOnly

	create := func(step string, f *fax.Fax, opts fax.CreateOptions) *fax.Fax {
		got, existed, err := s.CreateFax(ctx, f, opts)
		tr.add(step, map[string]any{"fax": got, "existed": existed}, err)
		tick()
		return got
	}
	apply := func(step string, u fax.Update) fax.ApplyResult {
		r, err := s.ApplyUpdate(ctx, &u)
		tr.add(step, r, err)
		tick()
		return r
	}
	show := func(step, id string) {
		f, err := s.FindFaxByID(ctx, id)
		tr.add(step+" fax", f, err)
		evs, err := s.FindEventsByFax(ctx, id)
		tr.add(step+" events", evs, err)
		ds, next, err := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: id})
		tr.add(step+" deliveries", map[string]any{"data": ds, "next": next}, err)
	}

	// Outbound faxes and their carrier updates.
	a := create("create a", &fax.Fax{To: "+15551230000", From: "+15550000000", Provider: "simulator", Pages: 3, DocumentKey: "k/a",
		DocumentType: "application/pdf", DocumentSize: 1234, DocumentSHA256: "abc", HeaderText: "ACME", CallbackToken: "tok-a"}, fax.CreateOptions{})
	tok, err := s.FindCallbackToken(ctx, a.ID)
	tr.add("token a", tok, err)
	_, err = s.FindCallbackToken(ctx, "fax_nope")
	tr.add("token missing", nil, err)
	apply("a page 1", fax.Update{Provider: "simulator", FaxID: a.ID, Kind: fax.UpdatePage, Page: 1, Pages: 3, ProviderFaxID: "sim-a"})
	apply("a page 1 again", fax.Update{Provider: "simulator", FaxID: a.ID, Kind: fax.UpdatePage, Page: 1, EventKey: "other"})
	apply("a retry", fax.Update{Provider: "simulator", FaxID: a.ID, Kind: fax.UpdateRetry, RetryCount: 2})
	apply("a by provider id", fax.Update{Provider: "simulator", ProviderFaxID: "sim-a", Kind: fax.UpdatePage, Page: 2})
	apply("a wrong provider id", fax.Update{Provider: "simulator", FaxID: a.ID, ProviderFaxID: "sim-zzz", Kind: fax.UpdatePage, Page: 3})
	apply("a other carrier", fax.Update{Provider: "phaxio", FaxID: a.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
	apply("a sent", fax.Update{Provider: "simulator", FaxID: a.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent, Pages: 3,
		OccurredAt: c.Now().Add(-time.Second)})
	apply("a sent again", fax.Update{Provider: "simulator", FaxID: a.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent, Pages: 3})
	apply("a late failure", fax.Update{Provider: "simulator", FaxID: a.ID, Kind: fax.UpdateStatus, Status: fax.StatusFailed, EventKey: "late"})
	apply("unknown fax", fax.Update{Provider: "simulator", FaxID: "fax_01JZZZZZZZZZZZZZZZZZZZZZZZ", Kind: fax.UpdateStatus, Status: fax.StatusSent})
	apply("no ids", fax.Update{Provider: "simulator", Kind: fax.UpdateStatus, Status: fax.StatusSent})
	show("a", a.ID)

	b := create("create b with callback", &fax.Fax{To: "+15551230001", Provider: "simulator", CallbackURL: "https://cb.example/b?x=1", OwnerKeyID: "key_x"},
		fax.CreateOptions{CallbackSecret: secret, CallbackFormat: fax.FormatGoFax})
	apply("b failed", fax.Update{Provider: "simulator", FaxID: b.ID, Kind: fax.UpdateStatus, Status: fax.StatusFailed,
		Failure: &fax.Failure{CarrierCode: "17", CarrierMessage: "busy line"}})
	show("b", b.ID)

	// Idempotency.
	idem := &fax.Fax{To: "+15551230002", Provider: "simulator", OwnerKeyID: "key_i", IdempotencyKey: "k1"}
	first := create("idem first", idem, fax.CreateOptions{RequestHash: "h1"})
	create("idem repeat", idem, fax.CreateOptions{RequestHash: "h1"})
	create("idem repeat no hash", idem, fax.CreateOptions{})
	create("idem conflict", idem, fax.CreateOptions{RequestHash: "h2"})
	other := *idem
	other.OwnerKeyID = "key_j"
	create("idem other owner", &other, fax.CreateOptions{RequestHash: "h1"})

	// Cancel.
	got, err := s.CancelFax(ctx, first.ID)
	tr.add("cancel", got, err)
	_, err = s.CancelFax(ctx, first.ID)
	tr.add("cancel again", nil, err)
	_, err = s.CancelFax(ctx, "fax_nope")
	tr.add("cancel missing", nil, err)
	tick()

	// Dispatch.
	d1 := create("create d1", &fax.Fax{To: "+15551230003", Provider: "simulator", DocumentKey: "k/d1"}, fax.CreateOptions{})
	d2 := create("create d2", &fax.Fax{To: "+15551230004", Provider: "simulator", DocumentKey: "k/d2"}, fax.CreateOptions{})
	d3 := create("create d3", &fax.Fax{To: "+15551230005", Provider: "simulator", DocumentKey: "k/d3"}, fax.CreateOptions{})
	claim := func(step string) []*fax.DispatchJob {
		jobs, err := s.ClaimFaxes(ctx, time.Minute, 10)
		tr.add(step, jobs, err)
		return jobs
	}
	claim("claim 1")
	claim("claim 1 again")
	tr.add("extend d3", nil, s.ExtendLease(ctx, d3.ID, 10*time.Minute))
	tr.add("handed d1", nil, s.MarkHanded(ctx, d1.ID, "prov-1", time.Now().Add(time.Hour)))
	tr.add("handed d1 again", nil, s.MarkHanded(ctx, d1.ID, "prov-other", time.Now().Add(time.Hour)))
	tr.add("reschedule d2", nil, s.RescheduleDispatch(ctx, d2.ID, c.Now().Add(30*time.Second)))
	tr.add("reschedule handed d1", nil, s.RescheduleDispatch(ctx, d1.ID, c.Now()))
	claim("claim before due")
	c.Advance(2 * time.Minute)
	claim("claim d2 again and nothing of d3")
	c.Advance(9 * time.Minute)
	claim("claim d3 resumed")
	tr.add("fail d2", nil, s.FailDispatch(ctx, d2.ID, &fax.Failure{Code: fax.FailCarrier, Message: "refused"}))
	tr.add("fail d2 again", nil, s.FailDispatch(ctx, d2.ID, nil))
	tr.add("fail missing", nil, s.FailDispatch(ctx, "fax_nope", nil))
	tick() // (the order of faxes completed in the same millisecond is unspecified)
	apply("d1 sent by carrier id", fax.Update{Provider: "simulator", ProviderFaxID: "prov-1", Kind: fax.UpdateStatus, Status: fax.StatusSent})
	c.Advance(time.Hour)
	claim("claim nothing")
	for _, f := range []*fax.Fax{d1, d2, d3} {
		show("dispatch", f.ID)
	}

	// Received faxes.
	in := fax.Update{Provider: "phaxio", Kind: fax.UpdateInbound, ProviderFaxID: "98765", Status: fax.StatusReceived,
		From: "+15551230000", To: "+15559870000", Pages: 3, Document: &fax.InboundDocument{Key: "in/x.pdf", SHA256: "def", Size: 10}}
	r := apply("receive bound", in)
	apply("receive bound again", in)
	show("received", r.FaxID)
	in2 := in
	in2.ProviderFaxID, in2.To, in2.Status = "98766", "+15559870001", fax.StatusPartial
	r = apply("receive global partial", in2)
	show("received partial", r.FaxID)
	in3 := in
	in3.ProviderFaxID, in3.Document = "98767", nil
	apply("receive without document", in3)

	// Inbound fetch jobs.
	job := fax.Update{Provider: "gofax", Kind: fax.UpdateInbound, ProviderFaxID: "g1", Status: fax.StatusReceived,
		From: "+15551230000", To: "+15559870000", Pages: 2, Document: &fax.InboundDocument{FetchID: "f-1"}}
	res, err := s.EnqueueInbound(ctx, &job)
	tr.add("enqueue", res, err)
	res, err = s.EnqueueInbound(ctx, &job)
	tr.add("enqueue again", res, err)
	apply("apply enqueued", job)
	jobs, err := s.ClaimInboundJobs(ctx, time.Minute, 10)
	tr.add("claim inbound", jobs, err)
	again, err := s.ClaimInboundJobs(ctx, time.Minute, 10)
	tr.add("claim inbound again", again, err)
	if len(jobs) == 1 {
		tr.add("retry inbound", nil, s.RetryInbound(ctx, jobs[0].ID, "503 \xff bad", c.Now().Add(time.Minute)))
		c.Advance(2 * time.Minute)
		jobs, err = s.ClaimInboundJobs(ctx, time.Minute, 10)
		tr.add("claim inbound after retry", jobs, err)
		done := jobs[0].Update
		done.Document = &fax.InboundDocument{Key: "inbound/g1.pdf", SHA256: "123", Size: 3}
		res, err = s.CompleteInbound(ctx, jobs[0].ID, &done)
		tr.add("complete inbound", res, err)
		show("completed", res.FaxID)
		res, err = s.CompleteInbound(ctx, jobs[0].ID, &done)
		tr.add("complete inbound again", res, err)
	}
	res, err = s.CompleteInbound(ctx, "inj_nope", &job)
	tr.add("complete missing", res, err)
	res, err = s.EnqueueInbound(ctx, &job)
	tr.add("enqueue after completion", res, err)

	// Deliveries and attempts.
	djobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
	tr.add("claim deliveries", djobs, err)
	djobs2, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
	tr.add("claim deliveries again", djobs2, err)
	for i, j := range djobs {
		var status fax.DeliveryStatus
		var next *time.Time
		code := 200
		switch {
		case j.Endpoint.ID == inflight.ID:
			code, status = 500, fax.DeliveryPending
			n := c.Now().Add(5 * time.Minute)
			next = &n
		case j.Endpoint.ID == bound.ID:
			code, status = 410, fax.DeliveryFailed
		default:
			status = fax.DeliverySucceeded
		}
		err := s.RecordAttempt(ctx, j.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: code, LatencyMS: int64(i),
			Error: "error text", ResponseBody: strings.Repeat("é", 700)}, status, next)
		tr.add("attempt", j.Delivery.ID, err)
	}
	tr.add("attempt missing", nil, s.RecordAttempt(ctx, "dlv_nope", fax.Attempt{At: c.Now()}, fax.DeliveryFailed, nil))
	all, next, err := s.FindDeliveries(ctx, fax.DeliveryFilter{Limit: fax.MaxLimit})
	tr.add("all deliveries", map[string]any{"data": all, "next": next}, err)
	page1, next, err := s.FindDeliveries(ctx, fax.DeliveryFilter{Limit: 3, Status: fax.DeliveryPending})
	tr.add("deliveries page 1", map[string]any{"data": page1, "next": next}, err)
	page2, next, err := s.FindDeliveries(ctx, fax.DeliveryFilter{Limit: 3, Status: fax.DeliveryPending, Cursor: next})
	tr.add("deliveries page 2", map[string]any{"data": page2, "next": next}, err)
	since := c.Now().Add(-time.Hour)
	ranged, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{Since: &since, EndpointID: global.ID})
	tr.add("deliveries since", ranged, err)
	if len(all) > 0 {
		d, err := s.FindDeliveryByID(ctx, all[len(all)-1].ID)
		tr.add("delivery by id", d, err)
		byEvent, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{EventID: all[0].EventID})
		tr.add("deliveries by event", byEvent, err)
	}
	for _, d := range all {
		got, err := s.RetryDelivery(ctx, d.ID)
		tr.add("retry delivery", got, err)
	}
	_, err = s.RetryDelivery(ctx, "dlv_nope")
	tr.add("retry missing", nil, err)
	tick()

	// Endpoints.
	eps, next, err := s.FindEndpoints(ctx, 2, "")
	tr.add("endpoints page 1", map[string]any{"data": eps, "next": next}, err)
	eps, next, err = s.FindEndpoints(ctx, 2, next)
	tr.add("endpoints page 2", map[string]any{"data": eps, "next": next}, err)
	exp := c.Now().Add(time.Hour)
	up, err := s.UpdateEndpoint(ctx, global.ID, func(e *fax.Endpoint) error {
		e.PreviousSecret, e.PreviousSecretExpiresAt, e.Secret = e.Secret, &exp, "whsec_bmV3c2VjcmV0bmV3c2VjcmV0"
		e.Events = []fax.EventType{fax.EventFaxSent, fax.EventFaxReceived}
		return nil
	})
	tr.add("rotate", up, err)
	_, err = s.UpdateEndpoint(ctx, global.ID, func(*fax.Endpoint) error { return fax.Errorf(fax.ECodeInvalid, "no") })
	tr.add("update refused", nil, err)
	_, err = s.UpdateEndpoint(ctx, "we_nope", func(*fax.Endpoint) error { return nil })
	tr.add("update missing", nil, err)
	e, err := s.FindEndpointByID(ctx, bound.ID)
	tr.add("gone endpoint", e, err)
	tick()
	d, err := s.CreateTestEvent(ctx, global.ID)
	tr.add("test event", d, err)
	_, err = s.CreateTestEvent(ctx, bound.ID)
	tr.add("test event disabled", nil, err)
	_, err = s.CreateTestEvent(ctx, "we_nope")
	tr.add("test event missing", nil, err)
	djobs, err = s.ClaimDeliveries(ctx, c.Now(), time.Minute, 100)
	tr.add("claim after retries", djobs, err)
	for _, j := range djobs {
		tr.add("fail", nil, s.RecordAttempt(ctx, j.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 503}, fax.DeliveryFailed, nil))
	}
	n, err := s.RetryFailedDeliveries(ctx, global.ID, c.Now().Add(-24*time.Hour))
	tr.add("retry failed", n, err)
	n, err = s.RetryFailedDeliveries(ctx, bound.ID, c.Now().Add(-24*time.Hour))
	tr.add("retry failed disabled", n, err)
	n, err = s.RetryFailedDeliveries(ctx, "we_nope", c.Now())
	tr.add("retry failed missing", n, err)
	off, err := s.UpdateEndpoint(ctx, inflight.ID, func(e *fax.Endpoint) error { e.Enabled = false; e.DisabledReason = "by hand"; return nil })
	tr.add("disable by hand", off, err)
	pend, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: inflight.ID, Status: fax.DeliveryPending})
	tr.add("disabled pending", pend, err)
	tr.add("delete", nil, s.DeleteEndpoint(ctx, failedOnly.ID))
	tr.add("delete again", nil, s.DeleteEndpoint(ctx, failedOnly.ID))
	_, err = s.FindEndpointByID(ctx, failedOnly.ID)
	tr.add("find deleted", nil, err)
	tick()

	// An endpoint failing for days is disabled and announced.
	flaky := ep("endpoint flaky", &fax.Endpoint{URL: "https://flaky.example/hook"})
	for i := range 3 {
		f := create("flaky fax", &fax.Fax{To: "+15551230009", Provider: "simulator"}, fax.CreateOptions{})
		apply("flaky sent", fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
		ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: flaky.ID, FaxID: f.ID})
		if len(ds) == 1 {
			next := c.Now().Add(time.Hour)
			tr.add("flaky attempt", i, s.RecordAttempt(ctx, ds[0].ID, fax.Attempt{At: c.Now(), StatusCode: 500}, fax.DeliveryPending, &next))
		}
		c.Advance(3 * 24 * time.Hour)
	}
	e, err = s.FindEndpointByID(ctx, flaky.ID)
	tr.add("flaky endpoint", e, err)
	all, _, err = s.FindDeliveries(ctx, fax.DeliveryFilter{Limit: fax.MaxLimit})
	tr.add("deliveries at the end", all, err)

	// Lists.
	for _, fl := range []fax.FaxFilter{{}, {Limit: 2}, {Direction: fax.Inbound}, {Status: fax.StatusSent}, {OwnerKeyID: "key_i"}, {Limit: 3, Cursor: d2.ID}} {
		list, next, err := s.FindFaxes(ctx, fl)
		tr.add(fmt.Sprintf("faxes %+v", fl), map[string]any{"data": list, "next": next}, err)
	}

	// SMS.
	ep("endpoint for sms", &fax.Endpoint{URL: "https://sms.example/hook", Events: []fax.EventType{fax.EventSMSSent, fax.EventSMSFailed}})
	sms, err := s.CreateSMS(ctx, &fax.SMS{To: "+15551230000", TextLength: 12, Provider: "gofax", OwnerKeyID: "key_s"})
	tr.add("sms", sms, err)
	tick()
	tr.add("sms handed", nil, s.MarkSMSHanded(ctx, sms.ID, "g-sms-1"))
	tr.add("sms handed again", nil, s.MarkSMSHanded(ctx, sms.ID, "g-sms-2"))
	apply("sms other carrier", fax.Update{Provider: "phaxio", Kind: fax.UpdateSMS, FaxID: sms.ID, Status: fax.StatusSent})
	apply("sms not final", fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, ProviderFaxID: "g-sms-1", Status: fax.StatusSending})
	apply("sms failed", fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, ProviderFaxID: "g-sms-1", Status: fax.StatusFailed})
	apply("sms sent late", fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, FaxID: sms.ID, Status: fax.StatusSent})
	apply("sms unknown", fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, ProviderFaxID: "g-sms-9", Status: fax.StatusSent})
	apply("sms no ids", fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, Status: fax.StatusSent})
	sms2, _ := s.CreateSMS(ctx, &fax.SMS{To: "+15551230001", TextLength: 3, Provider: "gofax"})
	apply("sms sent", fax.Update{Provider: "gofax", Kind: fax.UpdateSMS, FaxID: sms2.ID, ProviderFaxID: "g-sms-3", Status: fax.StatusSent})
	for _, id := range []string{sms.ID, sms2.ID, "sms_nope"} {
		m, err := s.FindSMSByID(ctx, id)
		tr.add("find sms", m, err)
		evs, err := s.FindEventsByFax(ctx, id)
		tr.add("sms events", evs, err)
		ds, _, err := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: id})
		tr.add("sms deliveries", ds, err)
	}

	// Retention.
	c.Advance(24 * time.Hour)
	for _, dir := range []fax.Direction{fax.Outbound, fax.Inbound} {
		old, err := s.FindExpiredDocuments(ctx, dir, c.Now().Add(-time.Hour), 100)
		tr.add("expired "+string(dir), old, err)
		for i, f := range old {
			if i%2 == 0 {
				tr.add("purge", f.ID, s.MarkDocumentPurged(ctx, f.ID))
				tr.add("purge again", f.ID, s.MarkDocumentPurged(ctx, f.ID))
			}
		}
		old, err = s.FindExpiredDocuments(ctx, dir, c.Now().Add(-time.Hour), 2)
		tr.add("expired after purge "+string(dir), old, err)
	}
	tr.add("purge missing", nil, s.MarkDocumentPurged(ctx, "fax_nope"))
	if st, err := s.Stats(ctx); err == nil {
		sort.Slice(st.Faxes, func(i, j int) bool { return fmt.Sprint(st.Faxes[i]) < fmt.Sprint(st.Faxes[j]) })
		sort.Slice(st.Deliveries, func(i, j int) bool { return st.Deliveries[i].Status < st.Deliveries[j].Status })
		tr.add("stats", st, nil)
	} else {
		tr.add("stats", nil, err)
	}

	// API keys, audit, settings.
	k, err := s.CreateAPIKey(ctx, &fax.APIKey{Name: "ci", Hash: "h1", Prefix: "fgk_abc", Scopes: []fax.Scope{fax.ScopeFaxRead, fax.ScopeFaxSend}})
	tr.add("key", k, err)
	tick()
	k2, err := s.CreateAPIKey(ctx, &fax.APIKey{Name: "none", Hash: "h2", Prefix: "fgk_def"})
	tr.add("key without scopes", k2, err)
	got2, err := s.FindAPIKeyByHash(ctx, "h1")
	tr.add("key by hash", got2, err)
	_, err = s.FindAPIKeyByHash(ctx, "nope")
	tr.add("key by bad hash", nil, err)
	keys, err := s.FindAPIKeys(ctx)
	tr.add("keys", keys, err)
	tr.add("revoke", nil, s.DeleteAPIKey(ctx, k.ID))
	tr.add("revoke again", nil, s.DeleteAPIKey(ctx, k.ID))
	keys, err = s.FindAPIKeys(ctx)
	tr.add("keys after revoke", keys, err)
	for i, act := range []string{"fax.send", "webhook.rejected", "fax.send"} {
		tr.add("audit", i, s.RecordAudit(ctx, &fax.AuditEntry{Actor: "key_1", Action: act, TargetType: "fax", TargetID: fmt.Sprint("t", i),
			Outcome: "ok", RemoteAddr: "192.0.2.1", Detail: strings.Repeat("x", 1100)}))
		tick()
	}
	tr.add("audit at", nil, s.RecordAudit(ctx, &fax.AuditEntry{At: c.Now().Add(-time.Hour), Actor: "admin", Action: "key.create"}))
	until := c.Now().Add(-30 * time.Minute)
	for _, fl := range []fax.AuditFilter{{}, {Action: "fax.send"}, {Actor: "admin"}, {TargetID: "t1"}, {Limit: 2}, {Until: &until}, {Since: &until}} {
		list, next, err := s.FindAudit(ctx, fl)
		tr.add(fmt.Sprintf("audit %+v", fl), map[string]any{"data": list, "next": next}, err)
	}
	v, err := s.Setting(ctx, "x", func() string { return "first" })
	tr.add("setting", v, err)
	v, err = s.Setting(ctx, "x", func() string { return "second" })
	tr.add("setting again", v, err)
	tr.add("ping", nil, s.Ping(ctx))
}
