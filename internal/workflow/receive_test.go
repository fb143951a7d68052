package workflow

import (
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestSettle: a pending document moves forward once, to available (with
// the document) or unavailable (with why, and the fax partial), each with
// fax.received; a settled or outbound fax is never moved.
func TestSettle(t *testing.T) {
	var ids fax.IDGen
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	stored := &fax.Update{Kind: fax.UpdateInbound, Status: fax.StatusReceived, Pages: 3,
		Document: &fax.InboundDocument{Key: "inbound/x.pdf", Size: 9, SHA256: "ab"}}
	gaveUp := &fax.Update{Kind: fax.UpdateInbound, Status: fax.StatusPartial,
		Failure: &fax.Failure{Code: "document_unavailable", Message: "GoFax refused"}}
	for _, tt := range []struct {
		name      string
		direction fax.Direction
		from      fax.DocumentStatus
		u         *fax.Update
		want      fax.DocumentStatus
		status    fax.Status
		reason    string
		event     bool
	}{
		{"fetched", fax.Inbound, fax.DocumentPending, stored, fax.DocumentAvailable, fax.StatusReceived, "", true},
		{"given up", fax.Inbound, fax.DocumentPending, gaveUp, fax.DocumentUnavailable, fax.StatusPartial, "GoFax refused", true},
		{"available stays", fax.Inbound, fax.DocumentAvailable, gaveUp, fax.DocumentAvailable, fax.StatusReceived, "", false},
		{"unavailable stays", fax.Inbound, fax.DocumentUnavailable, stored, fax.DocumentUnavailable, fax.StatusReceived, "", false},
		{"outbound untouched", fax.Outbound, "", stored, "", fax.StatusReceived, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fax.Fax{ID: "fax_1", Direction: tt.direction, Status: fax.StatusReceived, DocumentStatus: tt.from}
			c, err := Settle(&ids, f, tt.u, now)
			if err != nil {
				t.Fatal(err)
			}
			if f.DocumentStatus != tt.want || f.Status != tt.status || f.DocumentError != tt.reason {
				t.Errorf("got %s %s %q, want %s %s %q", f.DocumentStatus, f.Status, f.DocumentError, tt.want, tt.status, tt.reason)
			}
			if got := len(c.Events) == 1 && c.Events[0].Type == fax.EventFaxReceived; got != tt.event || c.Save != tt.event {
				t.Errorf("got events %v save %v, want fax.received %v", c.Events, c.Save, tt.event)
			}
			if tt.want == fax.DocumentAvailable && tt.event && (f.DocumentKey != "inbound/x.pdf" || f.Pages != 3) {
				t.Errorf("document not attached: %+v", f)
			}
		})
	}
}

// TestReceivePending: the fax is received, its document pending, with the
// inflight fax.receiving only.
func TestReceivePending(t *testing.T) {
	var ids fax.IDGen
	f, c, err := ReceivePending(&ids, &fax.Update{Provider: "gofax", Kind: fax.UpdateInbound, Status: fax.StatusReceived, Pages: 2,
		To: "+15559870000", Document: &fax.InboundDocument{FetchID: "1"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != fax.StatusReceived || f.DocumentStatus != fax.DocumentPending || f.Pages != 2 || f.DocumentKey != "" {
		t.Errorf("got %+v", f)
	}
	if len(c.Events) != 1 || c.Events[0].Type != fax.EventFaxReceiving || !c.Events[0].Type.Inflight() {
		t.Errorf("got events %+v, want the inflight fax.receiving", c.Events)
	}
}
