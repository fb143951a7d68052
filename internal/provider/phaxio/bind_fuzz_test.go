package phaxio

import (
	"context"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// FuzzVerifyCallback signs every body with the API secret, so that each one
// reaches the check that a body signed alone names its job's fax. Phaxio
// headers that fail to parse must refuse it, never panic.
func FuzzVerifyCallback(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.contentType, "fax_a", fx.body)
	}
	f.Add("application/x-www-form-urlencoded", "fax_a", []byte("fax[status]=failure&fax[num_pages]=1"))
	f.Add("application/x-www-form-urlencoded", "fax_a", []byte("fax[id]=323034811&fax[status]=failure"))
	p := mustNew(f, Config{APISecrets: []string{testSecret}, CarrierIDFunc: func(_ context.Context, id string) (string, error) {
		if id == "fax_a" {
			return "323034811", nil
		}
		return "", fax.Errorf(fax.ECodeNotFound, "no fax")
	}})
	f.Fuzz(func(t *testing.T, contentType, jobID string, body []byte) {
		r := fuzzRequest("/phaxio-callback?job_id="+jobID, contentType)
		r.Header.Set(SignatureHeader, sha256Sig(testSecret, body))
		checkError(t, p.VerifyCallback(r, body), fax.ECodeUnauthorized)
		if _, err := p.PreverifyWebhook(r); err != nil {
			t.Fatalf("preverify of a well-formed signature: %v", err)
		}
	})
}
