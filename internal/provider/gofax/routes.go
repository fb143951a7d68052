package gofax

import "github.com/faxgate/faxgate/internal/provider"

// Routes are GoFax's webhook routes. They carry fields only; a received
// document is fetched through the API afterwards (FileRequest).
func (p *Provider) Routes() []provider.Route {
	return []provider.Route{
		{Pattern: "POST " + CallbackPath, Preverify: p.PreverifyCallback, Verify: p.VerifyCallback, Parse: p.ParseCallback},
		{Pattern: "POST " + SMSCallbackPath, Preverify: p.PreverifyCallback, Verify: p.VerifyCallback, Parse: p.ParseSMSCallback},
		{Pattern: "POST " + InboundPath, Preverify: p.PreverifyInbound, Verify: p.VerifyInbound, Parse: p.ParseInbound},
	}
}
