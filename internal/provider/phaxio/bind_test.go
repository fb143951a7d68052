package phaxio

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestVerifyCallbackBindsJob: the raw-body HMAC-SHA256 does not cover the
// URL, so a callback it verified must name the fax recorded for job_id;
// the HMAC-SHA1 scheme covers the URL and needs no more.
func TestVerifyCallbackBindsJob(t *testing.T) {
	const secret, token = "api-secret", "webhook-token"
	p, err := New(Config{APISecrets: []string{secret}, WebhookTokens: []string{token}, PublicURL: "https://fax.example.com",
		CarrierIDFunc: func(_ context.Context, id string) (string, error) {
			if id == "fax_a" {
				return "323034811", nil
			}
			return "", fax.Errorf(fax.ECodeNotFound, "no fax")
		}})
	if err != nil {
		t.Fatal(err)
	}
	sha256Hex := func(b string) string {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(b))
		return hex.EncodeToString(m.Sum(nil))
	}
	req := func(job, body, sig string) *http.Request {
		r := httptest.NewRequest("POST", "/phaxio-callback?job_id="+job, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set(SignatureHeader, sig)
		return r
	}
	noID := "fax[status]=failure&fax[num_pages]=1"
	own := "fax[id]=323034811&fax[status]=failure"
	other := "fax[id]=323034812&fax[status]=failure"
	for _, tc := range []struct {
		name, job, body, sig, code string
	}{
		{"SHA-256, its own fax", "fax_a", own, sha256Hex(own), ""},
		{"SHA-256, no fax.id", "fax_a", noID, sha256Hex(noID), fax.ECodeUnauthorized},
		{"SHA-256, another fax", "fax_a", other, sha256Hex(other), fax.ECodeUnauthorized},
		{"SHA-256, no such job", "fax_b", own, sha256Hex(own), fax.ECodeUnauthorized},
		{"SHA-1 covers the URL", "fax_b", noID, Sign(token, "https://fax.example.com/phaxio-callback?job_id=fax_b",
			map[string][]string{"fax[status]": {"failure"}, "fax[num_pages]": {"1"}}, nil), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := p.VerifyCallback(req(tc.job, tc.body, tc.sig), []byte(tc.body))
			var fe *fax.Error
			switch {
			case tc.code == "" && err != nil:
				t.Errorf("got %v, want verified", err)
			case tc.code != "" && (!errors.As(err, &fe) || fe.Code != tc.code):
				t.Errorf("got %v, want code %s", err, tc.code)
			}
		})
	}
}
