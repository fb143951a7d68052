package webhook

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestFormatsShowDetails: every outgoing format with a field for what the
// carrier told about the call fills it: GoFax's SenderFaxID,
// TransmissionTime and TransmissionSpeed, Phaxio's caller_id and a sent
// fax's recipient bitrate, and the email's rows.
func TestFormatsShowDetails(t *testing.T) {
	in := inboundFax(fax.StatusReceived)
	in.Details = fax.Details{StationID: "ACME PTY LTD", CallerID: "anonymous", DurationSeconds: 24, BitRate: 33600}
	received := faxEvent(t, fax.EventFaxReceived, in, 0, 0)

	fields, err := gofaxFields(received)
	if err != nil {
		t.Fatal(err)
	}
	want := "FaxID=fax_01JDZ4R0000000000000000000&Number=61755550123&Message=COMPLETE&SenderFaxID=ACME+PTY+LTD" +
		"&SenderISDNID=61299990000&TransmissionTime=24&NumberOfPages=2&TransmissionSpeed=33600"
	if got := encodeForm(fields); got != want {
		t.Errorf("gofax:\ngot  %s\nwant %s", got, want)
	}

	pf, err := phaxioFields(received)
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		CallerID string `json:"caller_id"`
	}
	json.Unmarshal([]byte(pf[0].value), &obj)
	if obj.CallerID != "anonymous" {
		t.Errorf("phaxio received caller_id: got %q, want the carrier's caller id", obj.CallerID)
	}
	out := outboundFax(fax.StatusSent)
	out.Details = fax.Details{BitRate: 14400}
	pf, err = phaxioFields(faxEvent(t, fax.EventFaxSent, out, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var sent struct {
		CallerID   string `json:"caller_id"`
		Recipients []struct {
			Bitrate *int `json:"bitrate"`
		} `json:"recipients"`
	}
	json.Unmarshal([]byte(pf[0].value), &sent)
	if len(sent.Recipients) != 1 || sent.Recipients[0].Bitrate == nil || *sent.Recipients[0].Bitrate != 14400 {
		t.Errorf("phaxio sent recipients: got %s, want bitrate 14400", pf[0].value)
	}
	if sent.CallerID != out.From {
		t.Errorf("phaxio sent caller_id: got %q, want the from number %q", sent.CallerID, out.From)
	}

	m, err := renderEmail(&fax.DeliveryJob{Event: received, Endpoint: fax.Endpoint{ID: "we_1"}})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range m.rows {
		rows = append(rows, r.label+": "+r.value)
	}
	text := strings.Join(rows, "\n")
	for _, want := range []string{"Station ID: ACME PTY LTD", "Caller ID: anonymous", "Transmission time: 24 s", "Speed: 33600 bit/s"} {
		if !strings.Contains(text, want) {
			t.Errorf("email rows lack %q:\n%s", want, text)
		}
	}
}
