package sinch

import (
	"context"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

// TestVerifyCallbackBindsJob: X-Sinch-Signature covers the body only, so a
// signed callback must name the fax recorded for its job_id.
func TestVerifyCallbackBindsJob(t *testing.T) {
	recorded := map[string]string{"fax_a": "01JSINCHA", "fax_new": ""}
	p := mustNew(t, Config{HMACSecrets: []string{testSecret}, CarrierIDFunc: func(_ context.Context, id string) (string, error) {
		if v, ok := recorded[id]; ok {
			return v, nil
		}
		return "", fax.Errorf(fax.ECodeNotFound, "no fax")
	}})
	body := func(id string) []byte {
		if id == "" {
			return []byte(`{"event":"FAX_COMPLETED","fax":{"status":"FAILURE"}}`)
		}
		return []byte(`{"event":"FAX_COMPLETED","fax":{"id":"` + id + `","status":"FAILURE"}}`)
	}
	for _, tc := range []struct {
		name, job, id, code string
	}{
		{"its own fax", "fax_a", "01JSINCHA", ""},
		{"no fax.id", "fax_a", "", fax.ECodeUnauthorized},
		{"another fax's id", "fax_a", "01JSINCHB", fax.ECodeUnauthorized},
		{"no such job", "fax_zz", "01JSINCHA", fax.ECodeUnauthorized},
		{"id not recorded yet", "fax_new", "01JSINCHA", fax.ECodeUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := body(tc.id)
			r := newRequest(t, "/sinch-callback?job_id="+tc.job, "application/json")
			r.Header.Set(SignatureHeader, sign(testSecret, b))
			err := p.VerifyCallback(r, b)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("got %v, want verified", err)
				}
				return
			}
			providertest.WantCode(t, err, tc.code)
		})
	}
}
