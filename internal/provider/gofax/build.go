package gofax

import (
	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/provider"
)

// Build makes GoFax from the gateway's settings; without GOFAX_TOKEN it is
// not built and its routes refuse, naming that setting.
func Build(cfg config.Config, d provider.Deps) (provider.Carrier, []provider.Route, error) {
	if len(cfg.GoFax.Tokens) == 0 {
		return nil, provider.Refused("GOFAX_TOKEN", "POST "+CallbackPath, "POST "+SMSCallbackPath, "POST "+InboundPath), nil
	}
	p, err := New(Config{
		Tokens: cfg.GoFax.Tokens, WebhookUser: cfg.GoFax.WebhookUser, WebhookPass: cfg.GoFax.WebhookPass,
		BaseURL: cfg.GoFax.BaseURL, PublicURL: cfg.PublicURL, Insecure: cfg.InsecureWebhooks,
		CallbackTokenFunc: d.CallbackTokenFunc,
	})
	if err != nil {
		return nil, nil, err
	}
	return p, nil, nil
}
