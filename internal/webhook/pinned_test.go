package webhook

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// pinnedVersion is the API version whose payloads are published: their bytes
// must never change.
const pinnedVersion = "2026-11-01"

// pinnedEvents are events as the store freezes them today, through
// internal/wire, one per shape a receiver may see.
func pinnedEvents(t testing.TB) map[string]fax.Event {
	return map[string]fax.Event{
		"fax_sent":        faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0),
		"fax_failed":      faxEvent(t, fax.EventFaxFailed, outboundFax(fax.StatusFailed), 0, 0),
		"fax_page_sent":   faxEvent(t, fax.EventFaxPageSent, outboundFax(fax.StatusSending), 2, 0),
		"fax_retry":       faxEvent(t, fax.EventFaxRetryScheduled, outboundFax(fax.StatusSending), 0, 1),
		"fax_received":    faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusReceived), 0, 0),
		"fax_partial":     faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusPartial), 0, 0),
		"fax_canceled":    faxEvent(t, fax.EventFaxCanceled, outboundFax(fax.StatusCanceled), 0, 0),
		"fax_queued":      faxEvent(t, fax.EventFaxQueued, outboundFax(fax.StatusQueued), 0, 0),
		"endpoint_tested": {ID: "evt_01JDZ5T0000000000000000000", Type: fax.EventEndpointTest, Data: []byte(`{"endpoint_id":"we_1","message":"a test event from faxgate"}`)},
	}
}

// TestPayloadPinnedGolden pins the default format of api_version 2026-11-01
// byte for byte: envelope and fax object (internal/wire) together. A change
// here breaks every receiver that stored or compares raw bodies, so a new
// shape needs a new API version, not an -update.
func TestPayloadPinnedGolden(t *testing.T) {
	for name, ev := range pinnedEvents(t) {
		t.Run(name, func(t *testing.T) {
			got, err := Payload(ev, pinnedVersion)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("pinned", pinnedVersion+"_"+name+".json"), got)
		})
	}
}

// TestPinnedPayloadDelivered checks that what reaches a receiver is exactly
// the pinned bytes, signed as Standard Webhooks says (computed by hand).
func TestPinnedPayloadDelivered(t *testing.T) {
	rc := newReceiver(t)
	store, clock := newFakeStore(), newFakeClock()
	ev := pinnedEvents(t)["fax_failed"]
	job := formatJob("dlv_1", rc.srv.URL, fax.FormatJSON, ev)
	job.Endpoint.APIVersion = pinnedVersion
	store.add(job)
	mustDeliverOnce(t, newTestWorker(store, clock, Options{}), 1)
	reqs := rc.got()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	want, err := os.ReadFile(filepath.Join("testdata", "pinned", pinnedVersion+"_fax_failed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(reqs[0].body) != string(want) {
		t.Errorf("delivered body:\ngot  %s\nwant %s", reqs[0].body, want)
	}
	checkStandardHeaders(t, reqs[0], testSecret, ev.ID, clock.Now())
}
