package phaxio

import "github.com/faxgate/faxgate/internal/provider"

// InboundPath is where Phaxio posts received faxes.
const InboundPath = "/phaxio-inbound"

// Routes are Phaxio's webhook routes. Its send callback carries the fax
// object only; a received fax comes with its document.
func (p *Provider) Routes() []provider.Route {
	return []provider.Route{
		{Pattern: "POST " + CallbackPath, Preverify: p.PreverifyWebhook, Verify: p.VerifyCallback, Parse: p.ParseCallback},
		{Pattern: "POST " + InboundPath, Document: true, Preverify: p.PreverifyWebhook, Verify: p.VerifyWebhook, Parse: p.ParseInbound},
	}
}
