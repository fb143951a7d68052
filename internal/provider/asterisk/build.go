package asterisk

import (
	"strconv"

	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/provider"
)

// Build makes Asterisk from the gateway's settings; with none of a spool,
// an inbound secret or an AMI host it is not built and its route refuses,
// naming the settings.
func Build(cfg config.Config, d provider.Deps) (provider.Carrier, []provider.Route, error) {
	a := cfg.Asterisk
	if a.SpoolDir == "" && len(a.InboundSecrets) == 0 && a.AMIHost == "" {
		return nil, provider.Refused("ASTERISK_SPOOL_DIR and ASTERISK_INBOUND_SECRET", "POST "+InboundPath), nil
	}
	c := Config{
		InboundSecrets: a.InboundSecrets, InboundAllow: a.InboundAllow,
		SpoolDir: a.SpoolDir, Insecure: cfg.InsecureWebhooks,
		AMIHost: a.AMIHost, AMIPort: strconv.Itoa(a.AMIPort), AMIUser: a.AMIUser, AMISecret: a.AMISecret,
		Channel: a.Channel, Context: a.Context, Exten: a.Exten,
		FaxTimeout: a.FaxTimeout, GhostscriptPath: a.Ghostscript, PaperSize: a.PaperSize,
		Apply: d.ApplyFunc,
	}
	if d.Logger != nil {
		c.Logger = d.Logger.With("component", Name)
	}
	p, err := New(c)
	if err != nil {
		return nil, nil, err
	}
	return p, nil, nil
}
