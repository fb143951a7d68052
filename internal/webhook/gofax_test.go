package webhook

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/google/go-cmp/cmp"
)

// TestGoFaxFormatDelivery checks the GoFax shape at a real receiver: the
// fields in the body and, after the URL's own parameters, in the query; the
// Standard Webhooks signature recomputed by hand.
func TestGoFaxFormatDelivery(t *testing.T) {
	rc := newReceiver(t)
	store, clock := newFakeStore(), newFakeClock()
	withQuery := formatJob("dlv_1", rc.srv.URL+"/gofax?customer=42", fax.FormatGoFax,
		faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0))
	plain := formatJob("dlv_2", rc.srv.URL+"/gofax", fax.FormatGoFax,
		faxEvent(t, fax.EventFaxFailed, outboundFax(fax.StatusFailed), 0, 0))
	store.add(withQuery)
	store.add(plain)
	mustDeliverOnce(t, newTestWorker(store, clock, Options{Workers: 1}), 2)
	reqs := rc.got()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}

	sent := "Recipient=61755550123&ID=fax_01JDZ3W0000000000000000000&Success=True&Message=Fax+successfully+sent&Subject="
	r := reqs[0]
	if want := "/gofax?customer=42&" + sent; r.uri != want {
		t.Errorf("URI = %q, want %q", r.uri, want)
	}
	if string(r.body) != sent {
		t.Errorf("body = %q, want %q", r.body, sent)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", ct)
	}
	q, _ := url.ParseQuery(strings.SplitN(r.uri, "?", 2)[1])
	if q.Get("customer") != "42" || q.Get("ID") != "fax_01JDZ3W0000000000000000000" || q.Get("Success") != "True" {
		t.Errorf("query %v lacks the URL's own or the event's fields", q)
	}
	checkStandardHeaders(t, r, testSecret, withQuery.Event.ID, clock.Now())

	r = reqs[1]
	failed := "Recipient=61755550123&ID=fax_01JDZ3W0000000000000000000&Success=False&Message=The+receiving+line+was+busy.&Subject="
	if r.uri != "/gofax" || string(r.body) != failed {
		t.Errorf("without a query: %s %q, want /gofax %q", r.uri, r.body, failed)
	}
	checkStandardHeaders(t, r, testSecret, plain.Event.ID, clock.Now())
	for _, id := range []string{"dlv_1", "dlv_2"} {
		if d := store.delivery(t, id); d.Status != fax.DeliverySucceeded {
			t.Errorf("%s: %s, want succeeded", id, d.Status)
		}
	}
}

func TestGoFaxFields(t *testing.T) {
	smsData := func(status string, errMsg string) json.RawMessage {
		m := map[string]any{"id": "sms_01", "to": "+61412121212", "status": status}
		if errMsg != "" {
			m["error"] = map[string]string{"code": "carrier_error", "message": errMsg}
		}
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name string
		ev   fax.Event
		want string
	}{
		{"canceled", faxEvent(t, fax.EventFaxCanceled, outboundFax(fax.StatusCanceled), 0, 0),
			"Recipient=61755550123&ID=fax_01JDZ3W0000000000000000000&Success=False&Message=Fax+canceled&Subject="},
		{"received", faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusReceived), 0, 0),
			"FaxID=fax_01JDZ4R0000000000000000000&Number=61755550123&Message=COMPLETE&SenderFaxID=&SenderISDNID=61299990000&NumberOfPages=2"},
		{"partial", faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusPartial), 0, 0),
			"FaxID=fax_01JDZ4R0000000000000000000&Number=61755550123&Message=INCOMPLETE&SenderFaxID=&SenderISDNID=61299990000&NumberOfPages=2"},
		{"sms sent", fax.Event{ID: "evt_2", Type: fax.EventSMSSent, Data: smsData("sent", "")},
			"Recipient=61412121212&ID=sms_01&Success=True&Message=Message+successfully+delivered"},
		{"sms failed", fax.Event{ID: "evt_3", Type: fax.EventSMSFailed, Data: smsData("failed", "GoFax reported the SMS as not delivered.")},
			"Recipient=61412121212&ID=sms_01&Success=False&Message=GoFax+reported+the+SMS+as+not+delivered."},
		{"test", fax.Event{ID: "evt_4", Type: fax.EventEndpointTest, Data: json.RawMessage(`{"message":"a test event from faxgate","endpoint_id":"we_1","n":2,"o":{}}`)},
			"Event=webhook.test&ID=evt_4&endpoint_id=we_1&message=a+test+event+from+faxgate&n=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields, err := gofaxFields(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if got := encodeForm(fields); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	for _, typ := range []fax.EventType{fax.EventFaxQueued, fax.EventFaxSending, fax.EventFaxPageSent, fax.EventFaxRetryScheduled} {
		_, err := gofaxFields(faxEvent(t, typ, outboundFax(fax.StatusSending), 1, 1))
		if fax.ErrorCode(err) != fax.ECodeInvalid || fax.ErrorMessage(err) != "gofax format has no inflight events" {
			t.Errorf("gofaxFields(%s) = %v, want the permanent inflight refusal", typ, err)
		}
	}
}

func TestGoFaxGolden(t *testing.T) {
	now := newFakeClock().Now()
	for name, ev := range map[string]fax.Event{
		"gofax_fax_sent.txt":     faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0),
		"gofax_fax_failed.txt":   faxEvent(t, fax.EventFaxFailed, outboundFax(fax.StatusFailed), 0, 0),
		"gofax_fax_received.txt": faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusReceived), 0, 0),
	} {
		t.Run(name, func(t *testing.T) {
			job := formatJob("dlv_1", "https://hooks.example.com/gofax?customer=42&token=abc", fax.FormatGoFax, ev)
			checkGolden(t, name, dumpRequest(t, buildFor(t, job, now)))
		})
	}
}

func TestEncodeFormKeepsOrder(t *testing.T) {
	got := encodeForm([]formField{{"b", "1 2"}, {"a", "&="}, {"Ä", ""}})
	if diff := cmp.Diff("b=1+2&a=%26%3D&%C3%84=", got); diff != "" {
		t.Error(diff)
	}
}
