package sinch

import "github.com/faxgate/faxgate/internal/provider"

// InboundPath is where Sinch posts received faxes.
const InboundPath = "/sinch-inbound"

// Routes are Sinch's webhook routes. Both may carry a document: FAX_COMPLETED
// can hold the sent document back.
func (p *Provider) Routes() []provider.Route {
	return []provider.Route{
		{Pattern: "POST " + CallbackPath, Document: true, Preverify: p.PreverifyWebhook, Verify: p.VerifyCallback, Parse: p.ParseCallback},
		{Pattern: "POST " + InboundPath, Document: true, Preverify: p.PreverifyWebhook, Verify: p.VerifyWebhook, Parse: p.ParseInbound},
	}
}
