package carrier

import (
	"net/http"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestRefusalFiveHundreds: only answers that say the request was not taken
// are retried blindly; a 5xx may come after the carrier recorded the fax.
func TestRefusalFiveHundreds(t *testing.T) {
	n := Names{Carrier: "Phaxio", Prefix: "phaxio: send", BaseURLVar: "PHAXIO_BASE_URL", AuthHelp: "check the key"}
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		status     int
		retryAfter string
		want       fax.SendOutcome
	}{
		{500, "", fax.SendAmbiguous},
		{502, "", fax.SendAmbiguous},
		{503, "", fax.SendAmbiguous},
		{504, "", fax.SendAmbiguous},
		{504, "30", fax.SendAmbiguous},
		{599, "", fax.SendAmbiguous},
		{503, "30", fax.SendRetryable},
		{429, "", fax.SendRetryable},
		{408, "", fax.SendRetryable},
		{400, "", fax.SendPermanent},
	} {
		h := http.Header{}
		if tt.retryAfter != "" {
			h.Set("Retry-After", tt.retryAfter)
		}
		se := n.Refusal(&Answer{Status: tt.status, Header: h}, "boom", "", false, now)
		if se.Outcome != tt.want {
			t.Errorf("HTTP %d Retry-After %q: got outcome %d (%v), want %d", tt.status, tt.retryAfter, se.Outcome, se, tt.want)
		}
	}
}
