package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/faxgate/faxgate/client"
)

// newAdmin returns a client of the test gateway with the admin key.
func newAdmin(t *testing.T) *client.Client {
	t.Helper()
	c, err := client.New(os.Getenv("FAXGATE_URL"), adminKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// delivery is one webhook the receiver got.
type delivery struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint on loopback that answers 204 and hands
// every delivery to the test.
type receiver struct {
	url string
	got chan delivery
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{got: make(chan delivery, 64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.got <- delivery{req.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hook"
	return r
}

// next returns the next delivery whose body contains want.
func (r *receiver) next(t *testing.T, want string) delivery {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case d := <-r.got:
			if bytes.Contains(d.body, []byte(want)) {
				return d
			}
		case <-timeout:
			t.Fatalf("no delivery containing %q within a minute", want)
		}
	}
}

func wantAPIError(t *testing.T, err error, status int, code string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *client.Error %d %s", err, status, code)
	}
	if e.Status != status || e.Code != code || e.Message == "" || e.RequestID == "" {
		t.Fatalf("got %+v, want status %d code %s with a message and request id", e, status, code)
	}
	return e
}

// TestClientFaxes sends by bytes, file and URL, waits, reads, lists every
// page, fetches documents and timelines, cancels, and has the simulator
// receive a fax, all through the client against a running gateway.
func TestClientFaxes(t *testing.T) {
	ctx := testContext(t)
	c := newAdmin(t)
	if err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	doc := []byte("Hello from the Go client.\n")

	byBytes, err := c.SendFax(ctx, client.SendRequest{To: "+15551230001", Document: bytes.NewReader(doc), Filename: "hello.txt", HeaderText: "client test"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "note.txt")
	os.WriteFile(path, doc, 0o600)
	byFile, err := c.SendFaxFile(ctx, path, client.SendRequest{To: "+15551230100"})
	if err != nil {
		t.Fatal(err)
	}
	docSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(doc)
	}))
	defer docSrv.Close()
	byURL, err := c.SendFax(ctx, client.SendRequest{To: "+15551230101", ContentURL: docSrv.URL + "/doc.txt"})
	if err != nil {
		t.Fatal(err)
	}
	// The same idempotency key returns the same fax.
	again, err := c.SendFaxFile(ctx, path, client.SendRequest{To: "+15551230102", IdempotencyKey: "client-test-idem"})
	if err != nil {
		t.Fatal(err)
	}
	again2, err := c.SendFaxFile(ctx, path, client.SendRequest{To: "+15551230102", IdempotencyKey: "client-test-idem"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != again2.ID {
		t.Fatalf("got faxes %s and %s for one idempotency key, want one", again.ID, again2.ID)
	}

	for _, f := range []*client.Fax{byBytes, byFile, byURL} {
		done, err := c.WaitFax(ctx, f.ID, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		want := "sent"
		if f == byBytes {
			want = "failed" // the simulator's busy number
		}
		if done.Status != want || done.CompletedAt == nil {
			t.Fatalf("fax to %s: got status %s (completed %v), want %s", f.To, done.Status, done.CompletedAt, want)
		}
	}
	failed, _ := c.GetFax(ctx, byBytes.ID)
	if failed.Error == nil || failed.Error.Code == "" {
		t.Fatalf("got error %+v on a failed fax, want a code", failed.Error)
	}
	events, err := c.FaxEvents(ctx, byFile.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 || events[len(events)-1].Type != "fax.sent" {
		t.Fatalf("got timeline %+v, want it to end with fax.sent", events)
	}
	rc, err := c.FaxDocument(ctx, byFile.ID)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("got a document starting %q, want a PDF", pdf[:min(8, len(pdf))])
	}
	_, err = c.CancelFax(ctx, byFile.ID)
	wantAPIError(t, err, http.StatusConflict, "conflict")

	in, err := c.SimulateInbound(ctx, "+15557654321", "+15551112222", 2)
	if err != nil {
		t.Fatal(err)
	}
	if in.Direction != "inbound" {
		t.Fatalf("got direction %s, want inbound", in.Direction)
	}

	// Every fax, one per page: the iterator follows the cursors.
	seen := map[string]bool{}
	for f, err := range c.Faxes(ctx, client.FaxListParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[f.ID] {
			t.Fatalf("fax %s listed twice", f.ID)
		}
		seen[f.ID] = true
	}
	for _, id := range []string{byBytes.ID, byFile.ID, byURL.ID, again.ID, in.ID} {
		if !seen[id] {
			t.Fatalf("fax %s missing from the list of %d", id, len(seen))
		}
	}
	page, err := c.ListFaxes(ctx, client.FaxListParams{Direction: "inbound"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range page.Data {
		if f.Direction != "inbound" {
			t.Fatalf("got a %s fax in the inbound list", f.Direction)
		}
	}

	// To and From match the whole number, whatever the direction.
	for _, tc := range []struct {
		p    client.FaxListParams
		want string
	}{
		{client.FaxListParams{To: "+15551230001"}, byBytes.ID},
		{client.FaxListParams{From: "+15557654321", Direction: "inbound"}, in.ID},
	} {
		page, err := c.ListFaxes(ctx, tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].ID != tc.want {
			t.Errorf("%+v: got %d faxes, want only %s", tc.p, len(page.Data), tc.want)
		}
	}
	_, err = c.ListFaxes(ctx, client.FaxListParams{To: "5551230001"})
	wantAPIError(t, err, http.StatusBadRequest, "invalid")

	_, err = c.GetFax(ctx, "fax_doesnotexist")
	wantAPIError(t, err, http.StatusNotFound, "not_found")
	if !client.IsNotFound(err) {
		t.Fatal("IsNotFound: got false for a 404")
	}
	_, err = c.ListFaxes(ctx, client.FaxListParams{Direction: "sideways"})
	wantAPIError(t, err, http.StatusBadRequest, "invalid")
}

// TestClientAdministration covers endpoints, deliveries, keys, audit, SMS
// and the public routes.
func TestClientAdministration(t *testing.T) {
	ctx := testContext(t)
	c := newAdmin(t)
	rcv := newReceiver(t)
	ep, err := c.CreateEndpoint(ctx, client.EndpointCreate{URL: rcv.url, Description: "client admin test"})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Secret == "" {
		t.Fatal("CreateEndpoint: got no secret")
	}
	got, err := c.GetEndpoint(ctx, ep.ID)
	if err != nil || got.URL != rcv.url || got.Secret != "" {
		t.Fatalf("GetEndpoint: got %+v, %v", got, err)
	}
	desc := "renamed"
	upd, err := c.UpdateEndpoint(ctx, ep.ID, client.EndpointUpdate{Description: &desc})
	if err != nil || upd.Description != desc {
		t.Fatalf("UpdateEndpoint: got %+v, %v", upd, err)
	}
	found := false
	for e, err := range c.Endpoints(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || e.ID == ep.ID
	}
	if !found {
		t.Fatal("Endpoints: the new endpoint is missing")
	}
	if _, err := c.ListEndpoints(ctx, 1, ""); err != nil {
		t.Fatal(err)
	}

	d, err := c.TestEndpoint(ctx, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	rcv.next(t, "webhook.test")
	var done *client.Delivery
	for deadline := time.Now().Add(time.Minute); ; {
		if done, err = c.GetDelivery(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		if done.Status != "pending" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if done.Status != "succeeded" || len(done.Attempts) == 0 {
		t.Fatalf("got delivery %+v, want succeeded with an attempt", done)
	}
	if _, err := c.RetryDelivery(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	rcv.next(t, "webhook.test")
	n := 0
	for dl, err := range c.Deliveries(ctx, client.DeliveryListParams{EndpointID: ep.ID, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if dl.EndpointID != ep.ID {
			t.Fatalf("got a delivery to %s, want only %s", dl.EndpointID, ep.ID)
		}
		n++
	}
	if n == 0 {
		t.Fatal("Deliveries: none listed")
	}
	if _, err := c.ListDeliveries(ctx, client.DeliveryListParams{Status: "failed", Since: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if retried, err := c.RetryFailedDeliveries(ctx, ep.ID, time.Now().Add(-time.Hour)); err != nil || retried != 0 {
		t.Fatalf("RetryFailedDeliveries: got %d, %v; want 0 (none failed)", retried, err)
	}
	if sec, err := c.CallbackSecret(ctx); err != nil || sec == "" {
		t.Fatalf("CallbackSecret: got %q, %v", sec, err)
	}
	rot, err := c.RotateEndpointSecret(ctx, ep.ID, time.Hour)
	if err != nil || rot.Secret == "" || rot.Secret == ep.Secret {
		t.Fatalf("RotateEndpointSecret: got %+v, %v; want a new secret", rot, err)
	}
	if err := c.DeleteEndpoint(ctx, ep.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetEndpoint(ctx, ep.ID)
	wantAPIError(t, err, http.StatusNotFound, "not_found")

	// A key that may only read cannot send, and says so in the error type.
	k, err := c.CreateAPIKey(ctx, "reader", []string{"fax:read"})
	if err != nil || k.Key == "" {
		t.Fatalf("CreateAPIKey: got %+v, %v", k, err)
	}
	keys, err := c.ListAPIKeys(ctx)
	if err != nil || !slices.ContainsFunc(keys, func(x client.APIKey) bool { return x.ID == k.ID && x.Key == "" }) {
		t.Fatalf("ListAPIKeys: got %+v, %v; want %s without its key", keys, err, k.ID)
	}
	reader, _ := client.New(os.Getenv("FAXGATE_URL"), k.Key, nil)
	_, err = reader.SendFax(ctx, client.SendRequest{To: "+15551230100", Document: bytes.NewReader([]byte("x")), Filename: "x.txt"})
	wantAPIError(t, err, http.StatusForbidden, "forbidden")
	if err := c.DeleteAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = reader.ListFaxes(ctx, client.FaxListParams{})
	wantAPIError(t, err, http.StatusUnauthorized, "unauthorized")

	var actions []string
	for e, err := range c.Audit(ctx, client.AuditListParams{Limit: 2, Since: time.Now().Add(-time.Hour)}) {
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "api_key.create") && !slices.Contains(actions, "apikey.create") {
		t.Logf("audit actions: %v", actions)
	}
	if len(actions) == 0 {
		t.Fatal("Audit: no entries")
	}
	if _, err := c.ListAudit(ctx, client.AuditListParams{Actor: "admin"}); err != nil {
		t.Fatal(err)
	}

	// SMS goes through GoFax, which this gateway lacks: a 422 the client
	// carries; an unknown SMS is a 404.
	_, err = c.SendSMS(ctx, "+15551230100", "hello")
	wantAPIError(t, err, http.StatusUnprocessableEntity, "unprocessable")
	_, err = c.GetSMS(ctx, "sms_doesnotexist")
	wantAPIError(t, err, http.StatusNotFound, "not_found")

	doc, err := c.OpenAPI(ctx)
	if err != nil || doc["openapi"] != "3.1.0" {
		t.Fatalf("OpenAPI: got %v, %v", doc["openapi"], err)
	}
	m, err := c.Metrics(ctx)
	if err != nil || !bytes.Contains(m, []byte("# HELP")) {
		t.Fatalf("Metrics: got %d bytes, %v", len(m), err)
	}
}
