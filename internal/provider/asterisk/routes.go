package asterisk

import "github.com/faxgate/faxgate/internal/provider"

// Routes is the dialplan's route: a small JSON notice, the TIFF stays in
// the spool.
func (p *Provider) Routes() []provider.Route {
	return []provider.Route{
		{Pattern: "POST " + InboundPath, Preverify: p.PreverifyInbound, Verify: p.VerifyInbound, Parse: p.ParseInbound},
	}
}
