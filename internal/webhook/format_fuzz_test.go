package webhook

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// FuzzFormats renders arbitrary event data in every format: none may panic,
// an error must be a permanent *fax.Error, and the email's HTML must never
// carry a value unescaped.
func FuzzFormats(f *testing.F) {
	for _, ev := range pinnedEvents(f) {
		f.Add(string(ev.Type), []byte(ev.Data))
	}
	f.Add("sms.sent", []byte(`{"id":"sms_1","to":"+61412121212","status":"sent"}`))
	f.Add("fax.sent", []byte(`{"to":"<b>","error":{"message":"<script>"},"created_at":"x"}`))
	f.Add("webhook.test", []byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		ev := fax.Event{ID: "evt_1", Type: fax.EventType(typ), FaxID: "fax_1", Data: json.RawMessage(data)}
		for name, render := range map[string]func(fax.Event) ([]formField, error){"phaxio": phaxioFields, "gofax": gofaxFields} {
			if _, err := render(ev); err != nil && fax.ErrorCode(err) != fax.ECodeInvalid {
				t.Errorf("%s: error %v is not an invalid *fax.Error", name, err)
			}
		}
		msg, err := renderEmail(&fax.DeliveryJob{Event: ev})
		if err != nil {
			if fax.ErrorCode(err) != fax.ECodeInvalid {
				t.Errorf("email: error %v is not an invalid *fax.Error", err)
			}
			return
		}
		html := msg.html()
		body := html[strings.Index(html, "<body"):]
		for _, tag := range []string{"<script", "<b>", "<img", "<a "} {
			if strings.Contains(body, tag) {
				t.Errorf("email html carries %q unescaped:\n%s", tag, html)
			}
		}
	})
}
