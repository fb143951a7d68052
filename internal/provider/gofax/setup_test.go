package gofax

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/provider"
	"github.com/faxgate/faxgate/internal/provider/providertest"
)

func accountConfig(baseURL, token string) Config {
	cfg := testConfig()
	cfg.BaseURL, cfg.Tokens = baseURL, []string{token}
	return cfg
}

func TestCheck(t *testing.T) {
	t.Parallel()
	api := providertest.NewGoFaxAccount(t, testAPIToken, nil)
	if got, err := mustNew(t, accountConfig(api.URL(""), testAPIToken)).Check(context.Background()); err != nil || got == "" {
		t.Errorf("good token: got %q %v, want ok", got, err)
	}
	_, err := mustNew(t, accountConfig(api.URL(""), "0f0f0f0f-wrong-token")).Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "GOFAX_TOKEN") || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("bad token: got %v, want a refusal naming GOFAX_TOKEN without its value", err)
	}
	for _, r := range api.Requests() {
		if r.Method != http.MethodGet || r.Path != providertest.GoFaxAccountDetails {
			t.Errorf("check made %s %s, want only GET %s", r.Method, r.Path, providertest.GoFaxAccountDetails)
		}
	}
}

// TestSetup: setup reads both settings objects, rewrites only the webhook
// fields (keeping the account's spelling of a field and every other
// field), writes each object once, prints no secret, and a second run
// writes nothing.
func TestSetup(t *testing.T) {
	t.Parallel()
	api := providertest.NewGoFaxAccount(t, testAPIToken, map[string]map[string]any{
		providertest.GoFaxSendSettings:   {"webhookUrl": "https://old.example/hook", "RetryCount": 3.0},
		providertest.GoFaxAccountDetails: {"CompanyName": "ACME Pty Ltd", "ReceiveFaxWebhookURL": nil},
	})
	p := mustNew(t, accountConfig(api.URL(""), testAPIToken))
	ctx := context.Background()

	changes, err := p.Setup(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range api.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("dry run made %s %s", r.Method, r.Path)
		}
	}
	want := []provider.SetupChange{
		{Setting: "SendFax/Settings webhookUrl", Before: "https://old.example/hook", After: "https://fax.example.com.au/gofax-callback"},
		{Setting: "SendFax/Settings WebhookUsername", Before: "", After: testUser},
		{Setting: "SendFax/Settings WebhookPassword", Before: "(not set)", After: "(set)"},
		{Setting: "Account/Details ReceiveFaxWebhookURL", Before: "", After: "https://fax.example.com.au/gofax-inbound"},
		{Setting: "Account/Details WebhookUsername", Before: "", After: testUser},
		{Setting: "Account/Details WebhookPassword", Before: "(not set)", After: "(set)"},
	}
	if !equalChanges(changes, want) {
		t.Errorf("dry run changes:\ngot  %+v\nwant %+v", changes, want)
	}

	if _, err := p.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	puts := 0
	for _, r := range api.Requests() {
		if r.Method == http.MethodPut {
			puts++
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("PUT %s Content-Type %q", r.Path, ct)
			}
			var obj map[string]any
			if err := json.Unmarshal(r.Body, &obj); err != nil {
				t.Errorf("PUT %s body is not a JSON object: %s", r.Path, r.Body)
			}
		}
	}
	if puts != 2 {
		t.Errorf("got %d PUTs, want one per settings object", puts)
	}
	send := api.Object(providertest.GoFaxSendSettings)
	if send["webhookUrl"] != "https://fax.example.com.au/gofax-callback" || send["RetryCount"] != 3.0 ||
		send["WebhookUsername"] != testUser || send["WebhookPassword"] != testPass || send["WebhookURL"] != nil {
		t.Errorf("send settings after setup: %v", send)
	}
	acct := api.Object(providertest.GoFaxAccountDetails)
	if acct["ReceiveFaxWebhookURL"] != "https://fax.example.com.au/gofax-inbound" || acct["CompanyName"] != "ACME Pty Ltd" ||
		acct["WebhookPassword"] != testPass {
		t.Errorf("account details after setup: %v", acct)
	}
	for _, c := range changes {
		if strings.Contains(c.Before+c.After, testPass) || strings.Contains(c.Before+c.After, testAPIToken) {
			t.Errorf("a change shows a secret: %+v", c)
		}
	}

	before := len(api.Requests())
	again, err := p.Setup(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range api.Requests()[before:] {
		if r.Method == http.MethodPut {
			t.Errorf("second setup wrote %s although nothing changed", r.Path)
		}
	}
	for _, c := range again {
		if c.Before != c.After {
			t.Errorf("second setup reports a change: %+v", c)
		}
	}
}

func TestSetupRefusals(t *testing.T) {
	t.Parallel()
	api := providertest.NewGoFaxAccount(t, testAPIToken, nil)
	cfg := accountConfig(api.URL(""), testAPIToken)
	cfg.PublicURL = ""
	if _, err := mustNew(t, cfg).Setup(context.Background(), false); err == nil || !strings.Contains(err.Error(), "FAXGATE_PUBLIC_URL") {
		t.Errorf("without a public URL: got %v, want an error naming FAXGATE_PUBLIC_URL", err)
	}
	_, err := mustNew(t, accountConfig(api.URL(""), "bad-token")).Setup(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "GOFAX_TOKEN") || strings.Contains(err.Error(), "bad-token") {
		t.Errorf("bad token: got %v", err)
	}
	for _, r := range api.Requests() {
		if r.Method == http.MethodPut {
			t.Errorf("a refused setup wrote %s", r.Path)
		}
	}
}

func equalChanges(a, b []provider.SetupChange) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
