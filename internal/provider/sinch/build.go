package sinch

import (
	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/provider"
)

// Build makes Sinch from the gateway's settings. It is always built: its
// webhooks refuse by themselves until verification is configured, and
// SendProblem names what sending lacks.
func Build(cfg config.Config, d provider.Deps) (provider.Carrier, []provider.Route, error) {
	p, err := New(Config{
		ProjectID: cfg.Sinch.ProjectID, KeyID: cfg.Sinch.KeyID, KeySecret: cfg.Sinch.KeySecret, BaseURL: cfg.Sinch.BaseURL,
		InboundBasicUser: cfg.Sinch.InboundBasicUser, InboundBasicPass: cfg.Sinch.InboundBasicPass,
		HMACSecrets: cfg.Sinch.HMACSecrets, Insecure: cfg.InsecureWebhooks,
		PublicURL: cfg.PublicURL, CallbackContentType: cfg.Sinch.CallbackType, OAuth: cfg.Sinch.OAuth, AuthURL: cfg.Sinch.AuthURL,
		FileHosts: cfg.Sinch.FileHosts, CarrierIDFunc: d.CarrierIDFunc,
	})
	if err != nil {
		return nil, nil, err
	}
	return p, nil, nil
}
