package gofax

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/faxgate/faxgate/internal/provider"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// The account endpoints faxgate reads and writes (GoFax's webhook guide):
// the send settings hold the fax-sent webhook, the account details the
// fax-received one.
const (
	AccountDetailsPath = "/v1.0/Account/Details"
	SendSettingsPath   = "/v1.0/SendFax/Settings"
)

// maxSettingsAnswer bounds what faxgate reads of a settings answer.
const maxSettingsAnswer = 1 << 20

// settingsField is one webhook setting in a GoFax settings object: the
// first of names found (ignoring case) is the one rewritten, else the
// first name is added. GoFax's guide names the endpoints but not their
// fields, so the usual spellings are accepted (*unverified*, PROVIDERS.md).
type settingsField struct {
	names  []string
	value  string
	secret bool
}

var (
	webhookUserNames = []string{"WebhookUsername", "WebhookUser", "WebhookBasicAuthUsername"}
	webhookPassNames = []string{"WebhookPassword", "WebhookPass", "WebhookBasicAuthPassword"}
)

// Check proves GOFAX_TOKEN with GET /v1.0/Account/Details, GoFax's cheapest
// authenticated read.
func (p *Provider) Check(ctx context.Context) (string, error) {
	if _, err := p.settingsCall(ctx, http.MethodGet, AccountDetailsPath, nil); err != nil {
		return "", err
	}
	return "account details read", nil
}

// Setup points GoFax's account-level webhooks at this gateway: the fax-sent
// webhook (PUT /v1.0/SendFax/Settings) at FAXGATE_PUBLIC_URL/gofax-callback
// and the fax-received one (PUT /v1.0/Account/Details) at
// FAXGATE_PUBLIC_URL/gofax-inbound, each with the Basic auth credentials
// GOFAX_WEBHOOK_USER and the first GOFAX_WEBHOOK_PASS when they are set.
// Each object is read first and written back whole with only those fields
// changed, and only when one differs; with dryRun nothing is written.
func (p *Provider) Setup(ctx context.Context, dryRun bool) ([]provider.SetupChange, error) {
	if p.publicURL == nil {
		return nil, fmt.Errorf("gofax: setup: set FAXGATE_PUBLIC_URL, the address GoFax's webhooks must reach")
	}
	auth := func(hook string, names []string) []settingsField {
		fs := []settingsField{{names: names, value: p.publicURL.String() + hook}}
		if p.user != "" {
			fs = append(fs, settingsField{names: webhookUserNames, value: p.user},
				settingsField{names: webhookPassNames, value: p.passes[0], secret: true})
		}
		return fs
	}
	var all []provider.SetupChange
	for _, s := range []struct {
		path   string
		fields []settingsField
	}{
		{SendSettingsPath, auth(CallbackPath, []string{"WebhookURL", "WebhookUrl", "NotificationURL", "CallbackURL"})},
		{AccountDetailsPath, auth(InboundPath, []string{"ReceiveFaxWebhookURL", "FaxReceivedWebhookURL", "ReceiveWebhookURL", "WebhookURL"})},
	} {
		changes, err := p.setupObject(ctx, s.path, s.fields, dryRun)
		all = append(all, changes...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// setupObject reads the settings object at path, sets fields in it and,
// when one changed and not dryRun, writes it back.
func (p *Provider) setupObject(ctx context.Context, path string, fields []settingsField, dryRun bool) ([]provider.SetupChange, error) {
	a, err := p.settingsCall(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	obj := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(a.Body)) > 0 {
		if err := json.Unmarshal(a.Body, &obj); err != nil || obj == nil {
			return nil, fmt.Errorf("gofax: setup: GET %s: the answer is not a JSON object", path)
		}
	}
	var changes []provider.SetupChange
	changed := false
	for _, f := range fields {
		key := keyOf(obj, f.names)
		var before string
		if raw, ok := obj[key]; ok {
			json.Unmarshal(raw, &before) // null or a non-string reads as ""
		}
		if before != f.value {
			changed = true
			b, _ := json.Marshal(f.value)
			obj[key] = b
		}
		c := provider.SetupChange{Setting: strings.TrimPrefix(path, "/v1.0/") + " " + key, Before: before, After: f.value}
		if f.secret {
			c.Before, c.After = shown(before), shown(f.value)
			if before != f.value && before != "" {
				c.Before = "(set, different)"
			}
		}
		changes = append(changes, c)
	}
	if !changed || dryRun {
		return changes, nil
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return changes, fmt.Errorf("gofax: setup: %w", err)
	}
	a, err = p.settingsCall(ctx, http.MethodPut, path, body)
	if err != nil {
		return changes, err
	}
	var res struct {
		Success *bool
		Message string
	}
	if json.Unmarshal(a.Body, &res) == nil && res.Success != nil && !*res.Success {
		return changes, fmt.Errorf("gofax: setup: PUT %s: GoFax answered Success false: %q", path, p.clean(res.Message))
	}
	return changes, nil
}

// keyOf is the key of obj that the first of names matches, ignoring case
// (GoFax's .NET API reads its JSON so), or names[0] when none does.
func keyOf(obj map[string]json.RawMessage, names []string) string {
	for _, n := range names {
		for k := range obj {
			if strings.EqualFold(k, n) {
				return k
			}
		}
	}
	return names[0]
}

// shown is how a secret setting is printed: whether it is set, never its
// value.
func shown(v string) string {
	if v == "" {
		return "(not set)"
	}
	return "(set)"
}

// settingsCall performs one account API call with the first GOFAX_TOKEN and
// returns a 2xx answer. The token is in the URL, so errors name the path
// only.
func (p *Provider) settingsCall(ctx context.Context, method, path string, body []byte) (*carrier.Answer, error) {
	q := url.Values{"token": {p.tokens[0]}}
	req, err := http.NewRequestWithContext(ctx, method, p.baseURL+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("gofax: %s %s: build request: %w", method, path, redact(err, p.baseURL+path))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var sent atomic.Bool
	a, err := carrier.Call(p.client, req, &sent, maxSettingsAnswer)
	if err != nil {
		return nil, fmt.Errorf("gofax: %s %s: %w", method, path, redact(err, p.baseURL+path))
	}
	switch {
	case a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden:
		return nil, fmt.Errorf("gofax: GoFax refused GOFAX_TOKEN (HTTP %d on %s %s)", a.Status, method, path)
	case a.Status < 200 || a.Status > 299:
		return nil, fmt.Errorf("gofax: %s %s: HTTP %d %q", method, path, a.Status, carrier.Truncate(p.clean(string(a.Body)), carrier.MaxUserMessage))
	case a.ReadErr != nil:
		return nil, fmt.Errorf("gofax: %s %s: read the answer: %w", method, path, a.ReadErr)
	}
	return a, nil
}

// clean makes GoFax's text safe to print: one line, no token or webhook
// password in it.
func (p *Provider) clean(s string) string {
	secrets := make([][]byte, 0, len(p.tokens)+len(p.passes))
	for _, t := range p.tokens {
		secrets = append(secrets, []byte(t))
	}
	for _, pw := range p.passes {
		secrets = append(secrets, []byte(pw))
	}
	return carrier.Clean(s, secrets)
}
