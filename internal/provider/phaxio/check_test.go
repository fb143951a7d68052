package phaxio

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/provider/providertest"
)

// TestCheck: `faxgate carriers check` reads Phaxio's account status with the
// API key and secret; good credentials pass, bad ones fail naming the
// settings and never their values.
func TestCheck(t *testing.T) {
	t.Parallel()
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte(testAPIKey+":"+testSecret))
	fc := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != testBasePath+"/account/status" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != good {
			providertest.AnswerJSON(t, http.StatusUnauthorized, `{"success":false,"message":"Invalid API credentials"}`)(w, r)
			return
		}
		providertest.AnswerJSON(t, http.StatusOK, `{"success":true,"message":"Account status retrieved successfully","data":{"balance":5000,"faxes_today":0,"faxes_this_month":12}}`)(w, r)
	})
	p := sendProvider(t, fc.URL(testBasePath), nil)
	if got, err := p.Check(context.Background()); err != nil || got == "" {
		t.Errorf("good credentials: got %q %v, want ok", got, err)
	}
	bad := mustNew(t, Config{APIKey: testAPIKey, APISecrets: []string{"wrong-secret-value"}, BaseURL: fc.URL(testBasePath), PublicURL: testPublicURL})
	_, err := bad.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "PHAXIO_API_SECRET") || strings.Contains(err.Error(), "wrong-secret-value") {
		t.Errorf("bad credentials: got %v, want a refusal naming the settings without the secret", err)
	}
	noKey := mustNew(t, Config{WebhookTokens: []string{testToken}, PublicURL: testPublicURL, BaseURL: fc.URL(testBasePath)})
	if _, err := noKey.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "PHAXIO_API_KEY") {
		t.Errorf("without an API key: got %v, want an error naming PHAXIO_API_KEY", err)
	}
	if n := len(fc.Requests()); n != 2 {
		t.Errorf("Phaxio got %d requests, want 2 (one per check with credentials)", n)
	}
}
