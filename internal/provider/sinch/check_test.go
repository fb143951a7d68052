package sinch

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/provider/providertest"
)

// TestCheck: `faxgate carriers check` lists one of the project's faxes with
// the key; good credentials pass, bad ones fail naming the settings and
// never their values.
func TestCheck(t *testing.T) {
	t.Parallel()
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte(testKeyID+":"+testKeySecret))
	fc := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v3/projects/"+testProject+"/faxes" || r.URL.Query().Get("pageSize") != "1" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != good {
			providertest.AnswerJSON(t, http.StatusUnauthorized, `{"code":401,"status":"UNAUTHENTICATED","message":"Invalid credentials"}`)(w, r)
			return
		}
		providertest.AnswerJSON(t, http.StatusOK, `{"faxes":[],"totalItems":0,"pageSize":1}`)(w, r)
	})
	cfg := sendConfig(fc.URL(testBasePath), nil)
	if got, err := mustNew(t, cfg).Check(context.Background()); err != nil || got == "" {
		t.Errorf("good credentials: got %q %v, want ok", got, err)
	}
	cfg.KeySecret = "wrong-key-secret"
	_, err := mustNew(t, cfg).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "SINCH_KEY_SECRET") || strings.Contains(err.Error(), "wrong-key-secret") {
		t.Errorf("bad credentials: got %v, want a refusal naming the settings without the secret", err)
	}
	if _, err := testProvider(t).Check(context.Background()); err == nil || !strings.Contains(err.Error(), "SINCH_PROJECT_ID") {
		t.Errorf("receiving only: got %v, want an error naming the settings a check needs", err)
	}
}
