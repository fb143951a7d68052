package sinch

import (
	"context"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// FuzzVerifyCallback signs every body, so that each one reaches the check
// that a body signed alone names its job's fax; it must refuse or accept,
// never panic. PreverifyWebhook must agree with the headers alone.
func FuzzVerifyCallback(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add("fax_a", "Basic c2luY2gtaG9vazpwdy00YjdlMTljMGQy", fx.body)
	}
	f.Add("fax_a", "", []byte(`{"event":"FAX_COMPLETED","fax":{"id":"01JSINCHA","status":"FAILURE"}}`))
	p := mustNew(f, Config{InboundBasicUser: testUser, InboundBasicPass: []string{testPass}, HMACSecrets: []string{testSecret},
		CarrierIDFunc: func(_ context.Context, id string) (string, error) {
			if id == "fax_a" {
				return "01JSINCHA", nil
			}
			return "", fax.Errorf(fax.ECodeNotFound, "no fax")
		}})
	f.Fuzz(func(t *testing.T, jobID, authorization string, body []byte) {
		r := fuzzRequest("/sinch-callback?job_id="+jobID, "application/json")
		r.Header.Set("Authorization", authorization)
		r.Header.Set(SignatureHeader, sign(testSecret, body))
		err := p.VerifyCallback(r, body)
		checkError(t, err, fax.ECodeUnauthorized)
		authenticated, perr := p.PreverifyWebhook(r)
		if perr == nil && !authenticated {
			t.Fatal("preverify passed matching Basic credentials without authenticating them")
		}
		if perr != nil && err == nil {
			t.Fatalf("preverify refused what VerifyCallback accepted: %v", perr)
		}
	})
}
