package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/provider/asterisk/amitest"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

// Secrets of the carrier set-up tests: none may appear in what the
// commands print.
const (
	cmdPhaxioSecret = "phaxio-api-secret-31f9"
	cmdSinchSecret  = "sinch-key-secret-8a2c"
	cmdGoFaxToken   = "5d0e0c1a-gofax-token-77"
	cmdGoFaxPass    = "gofax-webhook-pass-19"
)

// setupCarrierEnv configures every carrier against loopback fakes: Phaxio's
// account status, Sinch's fax list, GoFax's account API and an AMI server.
func setupCarrierEnv(t *testing.T) (map[string]string, *providertest.GoFaxAccount) {
	t.Helper()
	phaxioAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("phaxio-key:"+cmdPhaxioSecret))
	phaxioAPI := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2.1/account/status" || r.Header.Get("Authorization") != phaxioAuth {
			providertest.AnswerJSON(t, http.StatusUnauthorized, `{"success":false,"message":"Invalid API credentials"}`)(w, r)
			return
		}
		providertest.AnswerJSON(t, http.StatusOK, `{"success":true,"message":"Account status retrieved successfully","data":{"balance":100}}`)(w, r)
	})
	sinchAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("sinch-key:"+cmdSinchSecret))
	sinchAPI := providertest.NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v3/projects/proj-1/faxes" || r.Header.Get("Authorization") != sinchAuth {
			providertest.AnswerJSON(t, http.StatusUnauthorized, `{"code":401,"status":"UNAUTHENTICATED","message":"Invalid credentials"}`)(w, r)
			return
		}
		providertest.AnswerJSON(t, http.StatusOK, `{"faxes":[]}`)(w, r)
	})
	gofaxAPI := providertest.NewGoFaxAccount(t, cmdGoFaxToken, map[string]map[string]any{
		providertest.GoFaxSendSettings: {"WebhookURL": "https://old.example/gofax", "DefaultHeader": "ACME"},
	})
	ami := amitest.NewServer(t, nil)
	return map[string]string{
		"FAXGATE_DATA_DIR":   t.TempDir(),
		"FAXGATE_PUBLIC_URL": "https://fax.example.com",
		"PHAXIO_API_KEY":     "phaxio-key", "PHAXIO_API_SECRET": cmdPhaxioSecret, "PHAXIO_BASE_URL": phaxioAPI.URL("/v2.1"),
		"SINCH_PROJECT_ID": "proj-1", "SINCH_KEY_ID": "sinch-key", "SINCH_KEY_SECRET": cmdSinchSecret, "SINCH_BASE_URL": sinchAPI.URL(""),
		"GOFAX_TOKEN": cmdGoFaxToken, "GOFAX_BASE_URL": gofaxAPI.URL(""),
		"GOFAX_WEBHOOK_USER": "gofax", "GOFAX_WEBHOOK_PASS": cmdGoFaxPass,
		"ASTERISK_AMI_HOST": ami.Host(), "ASTERISK_AMI_PORT": ami.Port(), "ASTERISK_AMI_USER": amitest.User,
		"ASTERISK_AMI_SECRET": amitest.Secret, "ASTERISK_SPOOL_DIR": t.TempDir(),
	}, gofaxAPI
}

func runCarriers(t *testing.T, env map[string]string, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"carriers"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	text := out.String() + errOut.String()
	for _, s := range []string{cmdPhaxioSecret, cmdSinchSecret, cmdGoFaxToken, cmdGoFaxPass, amitest.Secret} {
		if strings.Contains(text, s) {
			t.Errorf("carriers %v printed a secret:\n%s", args, text)
		}
	}
	return code, text
}

// TestCarriersCheck: one line per configured carrier, ok with good
// credentials; a carrier with bad ones fails its line and the exit status,
// and the others are still checked.
func TestCarriersCheck(t *testing.T) {
	env, _ := setupCarrierEnv(t)
	code, out := runCarriers(t, env, "check")
	if code != 0 {
		t.Fatalf("good credentials: exit %d\n%s", code, out)
	}
	for _, name := range []string{"phaxio", "sinch", "gofax", "asterisk", "simulator"} {
		if !strings.Contains(out, name+": ok") {
			t.Errorf("no ok line for %s:\n%s", name, out)
		}
	}
	env["GOFAX_TOKEN"] = "wrong-gofax-token"
	env["SINCH_KEY_SECRET"] = "wrong-sinch-secret"
	code, out = runCarriers(t, env, "check")
	if code != 1 {
		t.Errorf("bad credentials: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"gofax: FAILED", "GOFAX_TOKEN", "sinch: FAILED", "phaxio: ok", "asterisk: ok", "simulator: ok", "2 of 5 carriers failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "wrong-gofax-token") || strings.Contains(out, "wrong-sinch-secret") {
		t.Errorf("output shows a configured secret:\n%s", out)
	}
}

// TestCarriersSetupGoFax: --dry-run prints the changes and writes nothing;
// setup writes both settings objects and prints before → after without the
// webhook password; a second run changes nothing.
func TestCarriersSetupGoFax(t *testing.T) {
	env, api := setupCarrierEnv(t)
	code, out := runCarriers(t, env, "setup", "gofax", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"SendFax/Settings WebhookURL: https://old.example/gofax → https://fax.example.com/gofax-callback (would change)",
		"Account/Details ReceiveFaxWebhookURL: (empty) → https://fax.example.com/gofax-inbound (would change)",
		"WebhookPassword: (not set) → (set) (would change)",
		"dry run: nothing was changed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	for _, r := range api.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("dry run made %s %s", r.Method, r.Path)
		}
	}

	code, out = runCarriers(t, env, "setup", "gofax")
	if code != 0 || !strings.Contains(out, "https://fax.example.com/gofax-callback (changed)") {
		t.Fatalf("setup: exit %d\n%s", code, out)
	}
	send, acct := api.Object(providertest.GoFaxSendSettings), api.Object(providertest.GoFaxAccountDetails)
	if send["WebhookURL"] != "https://fax.example.com/gofax-callback" || send["DefaultHeader"] != "ACME" ||
		send["WebhookUsername"] != "gofax" || send["WebhookPassword"] != cmdGoFaxPass {
		t.Errorf("GoFax send settings after setup: %v", send)
	}
	if acct["ReceiveFaxWebhookURL"] != "https://fax.example.com/gofax-inbound" || acct["WebhookPassword"] != cmdGoFaxPass {
		t.Errorf("GoFax account details after setup: %v", acct)
	}
	puts := 0
	for _, r := range api.Requests() {
		if r.Method == http.MethodPut {
			puts++
			if !strings.Contains(r.RawQuery, "token=") {
				t.Errorf("PUT %s without the API token", r.Path)
			}
		}
	}
	if puts != 2 {
		t.Errorf("setup made %d PUTs, want 2", puts)
	}
	if code, out = runCarriers(t, env, "setup", "gofax"); code != 0 || !strings.Contains(out, "nothing to change") {
		t.Errorf("second setup: exit %d\n%s", code, out)
	}

	if code, out := runCarriers(t, env, "setup", "sinch"); code != 2 {
		t.Errorf("setup sinch: exit %d, want 2 (usage)\n%s", code, out)
	}
	env["GOFAX_TOKEN"] = "wrong-gofax-token"
	if code, out := runCarriers(t, env, "setup", "gofax"); code != 1 || !strings.Contains(out, "GOFAX_TOKEN") {
		t.Errorf("setup with a bad token: exit %d, want 1 naming GOFAX_TOKEN\n%s", code, out)
	}
}
