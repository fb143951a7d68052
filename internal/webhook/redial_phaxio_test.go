package webhook

import (
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// TestPhaxioFormatRedial: a redial faxgate scheduled reaches a Phaxio-format
// endpoint as Phaxio's retry_scheduled with its retry_count, as Phaxio's
// own retries do.
func TestPhaxioFormatRedial(t *testing.T) {
	f := outboundFax(fax.StatusQueued)
	data, err := wire.MarshalRetryData(f, 2, 3, fax.FailBusy, time.Date(2026, 11, 2, 8, 35, 31, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	ev := fax.Event{ID: "evt_01JDZ3X4P5Q6R7S8T9V0W1X2Y4", Type: fax.EventFaxRetryScheduled, FaxID: f.ID,
		CreatedAt: time.Date(2026, 11, 2, 8, 30, 31, 0, time.UTC), Data: data}
	fields, err := phaxioFields(ev)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fl := range fields {
		got[fl.name] = fl.value
	}
	if got["event_type"] != "retry_scheduled" || got["retry_count"] != "2" {
		t.Errorf("got event_type %q retry_count %q, want retry_scheduled 2", got["event_type"], got["retry_count"])
	}
}
