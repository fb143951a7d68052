package phaxio

import (
	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/provider"
)

// Build makes Phaxio from the gateway's settings. It is always built: its
// webhooks refuse by themselves until verification is configured, and
// SendProblem names what sending lacks.
func Build(cfg config.Config, d provider.Deps) (provider.Carrier, []provider.Route, error) {
	p, err := New(Config{
		APIKey: cfg.Phaxio.APIKey, APISecrets: cfg.Phaxio.APISecrets, WebhookTokens: cfg.Phaxio.WebhookTokens,
		PublicURL: cfg.PublicURL, BaseURL: cfg.Phaxio.BaseURL, Insecure: cfg.InsecureWebhooks,
		FileHosts: cfg.Phaxio.FileHosts, CarrierIDFunc: d.CarrierIDFunc,
	})
	if err != nil {
		return nil, nil, err
	}
	return p, nil, nil
}
