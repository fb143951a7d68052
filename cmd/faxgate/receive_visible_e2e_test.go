package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReceivedFaxVisibleAtOnce: a GoFax reception whose document API is
// down is listed at once with document_status pending and its
// fax.receiving goes to an inflight endpoint, while no fax.received is
// recorded; when the API is back the fetch makes it available and
// fax.received is delivered once. A document the API refuses for good
// leaves the fax unavailable with the reason. On SQLite and PostgreSQL.
func TestReceivedFaxVisibleAtOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testReceivedFaxVisibleAtOnce(t)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testReceivedFaxVisibleAtOnce(t, withEnv("FAXGATE_DATABASE_URL", freshDatabase(t)))
	})
}

func testReceivedFaxVisibleAtOnce(t *testing.T, opts ...gatewayOption) {
	pdf := samplePDF(t, 2)
	var down atomic.Bool
	var hits atomic.Int32
	down.Store(true)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case r.URL.Query().Get("token") != "gofax-token" || r.URL.Path == "/v1.0/ReceiveFax/4851999/Document":
			w.WriteHeader(http.StatusUnauthorized)
		case down.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			json.NewEncoder(w).Encode(base64.StdEncoding.EncodeToString(pdf))
		}
	}))
	defer api.Close()
	clock := newTestClock()
	g := startGateway(t, append([]gatewayOption{withClock(clock), withEnv("GOFAX_TOKEN", "gofax-token"), withEnv("GOFAX_BASE_URL", api.URL),
		withEnv("GOFAX_WEBHOOK_USER", "gofax"), withEnv("GOFAX_WEBHOOK_PASS", "pw")}, opts...)...)
	live, plain := newReceiver(t), newReceiver(t)
	g.endpoint(live, map[string]any{"inflight": true})
	g.endpoint(plain, nil)

	receive := func(id string) (outcome, faxID string) {
		t.Helper()
		body := []byte("FaxID=" + id + "&Number=61712344321&Message=COMPLETE&SenderFaxID=0311223344&NumberOfPages=2")
		code, resp := g.post("/gofax-inbound", "application/x-www-form-urlencoded", body, map[string]string{"Authorization": basicAuth("gofax", "pw")})
		var r struct {
			Results []struct {
				Outcome string `json:"outcome"`
				FaxID   string `json:"fax_id"`
			} `json:"results"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(resp), &r) != nil || len(r.Results) != 1 {
			t.Fatalf("gofax webhook: got %d %s", code, resp)
		}
		return r.Results[0].Outcome, r.Results[0].FaxID
	}
	list := func(query string) []faxObj {
		t.Helper()
		var l struct{ Data []faxObj }
		if code := g.do("GET", "/v1/faxes?"+query, nil, &l); code != http.StatusOK {
			t.Fatalf("list %s: got %d", query, code)
		}
		return l.Data
	}
	fetchFax := func(id string) (f struct {
		faxObj
		DocumentError string `json:"document_error"`
	}) {
		t.Helper()
		if code := g.do("GET", "/v1/faxes/"+id, nil, &f); code != http.StatusOK {
			t.Fatalf("get %s: got %d", id, code)
		}
		return f
	}
	receivedDeliveries := func() int {
		t.Helper()
		var l struct{ Data []json.RawMessage }
		g.do("GET", "/v1/deliveries?event_type=fax.received", nil, &l)
		return len(l.Data)
	}

	// Answered, and listed at once: no waiting for the fetch.
	outcome, id := receive("4851543")
	if outcome != "applied" || id == "" {
		t.Fatalf("webhook: got %s %q, want applied with a fax id", outcome, id)
	}
	in := list("direction=inbound")
	if len(in) != 1 || in[0].ID != id || in[0].Status != "received" || in[0].DocumentStatus != "pending" || in[0].Pages != 2 {
		t.Fatalf("listed at once: got %+v, want the fax received with its document pending", in)
	}
	if got := list("document_status=pending"); len(got) != 1 || got[0].ID != id {
		t.Errorf("document_status=pending: got %+v", got)
	}
	if got := list("document_status=available"); len(got) != 0 {
		t.Errorf("document_status=available: got %+v, want none", got)
	}
	var e errorBody
	if code := g.do("GET", "/v1/faxes?document_status=lost", nil, &e); code != http.StatusBadRequest || e.Error.Code != "invalid" || e.Error.RequestID == "" {
		t.Errorf("unknown document_status: got %d %+v, want 400 invalid", code, e)
	}
	e = errorBody{}
	if code := g.do("GET", "/v1/faxes/"+id+"/document", nil, &e); code != http.StatusConflict || e.Error.Code != "document_pending" {
		t.Errorf("document while pending: got %d %+v, want 409 document_pending", code, e)
	}
	if ev := live.waitFor("fax.receiving", id); !ev.Valid || ev.Data["document_status"] != "pending" {
		t.Errorf("fax.receiving: got %+v, want signed, document_status pending", ev)
	}
	// The console's inbox and fax page say so, and offer no download yet.
	b := &browser{t: t, g: g}
	b.signIn(adminKey)
	if _, body := b.req("GET", "/console/faxes?direction=inbound", nil, nil); !strings.Contains(body, `data-document-status="pending"`) {
		t.Error("console inbox: the fax's document is not shown pending")
	}
	if _, body := b.req("GET", "/console/faxes/"+id, nil, nil); !strings.Contains(body, "document pending") || strings.Contains(body, "Download PDF") {
		t.Error("console fax page: want the document shown pending, without a download")
	}
	// A repeat of the webhook is the same fax.
	if outcome, again := receive("4851543"); outcome != "duplicate" || again != id {
		t.Errorf("repeated webhook: got %s %s, want duplicate of %s", outcome, again, id)
	}
	// The API is down: the fetch fails and is retried; no fax.received.
	deadline := time.Now().Add(20 * time.Second)
	for hits.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the document was asked for %d times, want 2 failed tries", hits.Load())
		}
		clock.Advance(2 * time.Minute)
		g.m.Ingest.Notify()
		time.Sleep(20 * time.Millisecond)
	}
	if f := fetchFax(id); f.DocumentStatus != "pending" {
		t.Errorf("while the API is down: got document_status %q, want pending", f.DocumentStatus)
	}
	if n := receivedDeliveries(); n != 0 {
		t.Errorf("got %d fax.received deliveries while the document is pending, want 0", n)
	}
	for _, ev := range append(plain.got(), live.got()...) {
		if ev.Type == "fax.received" {
			t.Errorf("fax.received went out while the document was pending: %+v", ev)
		}
	}

	// The API is back: available, fax.received once, with the document.
	down.Store(false)
	deadline = time.Now().Add(30 * time.Second)
	for fetchFax(id).DocumentStatus != "available" {
		if time.Now().After(deadline) {
			t.Fatalf("document not available after 30s: %+v", fetchFax(id))
		}
		clock.Advance(time.Hour)
		g.m.Ingest.Notify()
		time.Sleep(20 * time.Millisecond)
	}
	if ev := plain.waitFor("fax.received", id); !ev.Valid || ev.Data["document_status"] != "available" {
		t.Errorf("fax.received: got %+v, want signed, document_status available", ev)
	}
	live.waitFor("fax.received", id)
	var got []byte
	if code := g.do("GET", "/v1/faxes/"+id+"/document", nil, &got); code != http.StatusOK || !bytes.Equal(got, pdf) {
		t.Errorf("document: got %d, %d bytes, want 200 and the %d fetched", code, len(got), len(pdf))
	}
	if outcome, _ := receive("4851543"); outcome != "duplicate" {
		t.Errorf("webhook repeated after the fetch: got %s, want duplicate", outcome)
	}
	if n := receivedDeliveries(); n != 2 {
		t.Errorf("got %d fax.received deliveries, want 2 (one per endpoint)", n)
	}
	count := func(r *receiver, typ string) (n int) {
		for _, ev := range r.got() {
			if ev.Type == typ && ev.Data["id"] == id {
				n++
			}
		}
		return n
	}
	if n := count(plain, "fax.received"); n != 1 {
		t.Errorf("postflight endpoint got fax.received %d times, want once", n)
	}
	if n := count(plain, "fax.receiving"); n != 0 {
		t.Errorf("postflight endpoint got fax.receiving %d times, want none (it is inflight)", n)
	}
	if in := list("direction=inbound"); len(in) != 1 {
		t.Errorf("got %d received faxes, want 1", len(in))
	}

	// A document the API refuses for good: unavailable, with the reason.
	_, gone := receive("4851999")
	deadline = time.Now().Add(30 * time.Second)
	for fetchFax(gone).DocumentStatus == "pending" {
		if time.Now().After(deadline) {
			t.Fatal("the refused document stayed pending after 30s")
		}
		g.m.Ingest.Notify()
		time.Sleep(20 * time.Millisecond)
	}
	f := fetchFax(gone)
	if f.DocumentStatus != "unavailable" || !strings.Contains(f.DocumentError, "refused") {
		t.Errorf("got %q %q, want unavailable with the carrier's refusal", f.DocumentStatus, f.DocumentError)
	}
	if code := g.do("GET", "/v1/faxes/"+gone+"/document", nil, &e); code != http.StatusNotFound || !strings.Contains(e.Error.Message, "unavailable") {
		t.Errorf("document of an unavailable fax: got %d %+v, want 404 saying why", code, e)
	}
	b = &browser{t: t, g: g} // the session ran out while the clock moved on
	b.signIn(adminKey)
	if _, body := b.req("GET", "/console/faxes/"+gone, nil, nil); !strings.Contains(body, "document unavailable") || !strings.Contains(body, "refused") {
		t.Error("console fax page: want the document shown unavailable with the reason")
	}
	if got := list("document_status=unavailable"); len(got) != 1 || got[0].ID != gone {
		t.Errorf("document_status=unavailable: got %+v", got)
	}
	plain.waitFor("fax.received", gone)
}

// TestReceivedVisibleEveryCarrier: with the carriers' document APIs down,
// a reception through each carrier's route whose document must be fetched
// (Phaxio and Sinch from their file APIs, GoFax from its API) is listed at
// once with its document pending.
func TestReceivedVisibleEveryCarrier(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	g := fetchGateway(t, down, newTestClock())
	for i, carrier := range []string{"phaxio", "sinch", "gofax"} {
		id := strconv.Itoa(7400001 + i)
		g.receive(carrier, id)
		var l struct{ Data []faxObj }
		g.do("GET", "/v1/faxes?direction=inbound&document_status=pending", nil, &l)
		found := false
		for _, f := range l.Data {
			found = found || (f.Provider == carrier && f.ProviderFaxID != nil && *f.ProviderFaxID == id)
		}
		if !found {
			t.Errorf("%s: the reception is not listed pending at once; got %+v", carrier, l.Data)
		}
	}
}
