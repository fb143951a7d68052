package main

import (
	"context"
	"net/http"
	"strconv"

	"github.com/faxgate/faxgate/internal/dispatch"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/ingest"
	"github.com/faxgate/faxgate/internal/provider/asterisk"
	"github.com/faxgate/faxgate/internal/provider/gofax"
	"github.com/faxgate/faxgate/internal/provider/phaxio"
	"github.com/faxgate/faxgate/internal/provider/sinch"
)

// carriers holds the carrier packages built from the configuration; a nil
// field is a carrier whose settings are missing.
type carriers struct {
	phaxio   *phaxio.Provider
	sinch    *sinch.Provider
	gofax    *gofax.Provider
	asterisk *asterisk.Provider

	phaxioFileHosts, sinchFileHosts []string
}

// buildCarriers constructs every carrier that has settings, failing fast
// on broken settings with the setting's name.
func (m *Main) buildCarriers() (*carriers, error) {
	cfg := m.Config
	c := carriers{phaxioFileHosts: cfg.Phaxio.FileHosts, sinchFileHosts: cfg.Sinch.FileHosts}
	var err error
	if c.phaxio, err = phaxio.New(phaxio.Config{
		APIKey: cfg.Phaxio.APIKey, APISecrets: cfg.Phaxio.APISecrets, WebhookTokens: cfg.Phaxio.WebhookTokens,
		PublicURL: cfg.PublicURL, BaseURL: cfg.Phaxio.BaseURL, Insecure: cfg.InsecureWebhooks,
		CarrierIDFunc: m.carrierID,
	}); err != nil {
		return nil, err
	}
	if c.sinch, err = sinch.New(sinch.Config{
		ProjectID: cfg.Sinch.ProjectID, KeyID: cfg.Sinch.KeyID, KeySecret: cfg.Sinch.KeySecret, BaseURL: cfg.Sinch.BaseURL,
		InboundBasicUser: cfg.Sinch.InboundBasicUser, InboundBasicPass: cfg.Sinch.InboundBasicPass,
		HMACSecrets: cfg.Sinch.HMACSecrets, Insecure: cfg.InsecureWebhooks,
		PublicURL: cfg.PublicURL, CallbackContentType: cfg.Sinch.CallbackType, OAuth: cfg.Sinch.OAuth, AuthURL: cfg.Sinch.AuthURL,
		CarrierIDFunc: m.carrierID,
	}); err != nil {
		return nil, err
	}
	if len(cfg.GoFax.Tokens) > 0 {
		if c.gofax, err = gofax.New(gofax.Config{
			Tokens: cfg.GoFax.Tokens, WebhookUser: cfg.GoFax.WebhookUser, WebhookPass: cfg.GoFax.WebhookPass,
			BaseURL: cfg.GoFax.BaseURL, PublicURL: cfg.PublicURL, Insecure: cfg.InsecureWebhooks,
			CallbackTokenFunc: m.Store.FindCallbackToken,
		}); err != nil {
			return nil, err
		}
	}
	if cfg.Asterisk.SpoolDir != "" || len(cfg.Asterisk.InboundSecrets) > 0 || cfg.Asterisk.AMIHost != "" {
		if c.asterisk, err = asterisk.New(asterisk.Config{
			InboundSecrets: cfg.Asterisk.InboundSecrets, InboundAllow: cfg.Asterisk.InboundAllow,
			SpoolDir: cfg.Asterisk.SpoolDir, Insecure: cfg.InsecureWebhooks,
			AMIHost: cfg.Asterisk.AMIHost, AMIPort: strconv.Itoa(cfg.Asterisk.AMIPort),
			AMIUser: cfg.Asterisk.AMIUser, AMISecret: cfg.Asterisk.AMISecret,
			Channel: cfg.Asterisk.Channel, Context: cfg.Asterisk.Context, Exten: cfg.Asterisk.Exten,
			FaxTimeout: cfg.Asterisk.FaxTimeout, GhostscriptPath: cfg.Asterisk.Ghostscript, PaperSize: cfg.Asterisk.PaperSize,
			Logger: m.Logger.With("component", "asterisk"),
			// The ingest path exists only after the carriers are built.
			Apply: func(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) { return m.Ingest.Apply(ctx, u) },
		}); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// carrierID is the carrier's id recorded for a fax, which a callback
// signed over its body alone must name.
func (m *Main) carrierID(ctx context.Context, faxID string) (string, error) {
	f, err := m.Store.FindFaxByID(ctx, faxID)
	if err != nil {
		return "", err
	}
	return f.ProviderFaxID, nil
}

// routes lists the carrier webhook routes (CONTRACT.md). A carrier that is
// not configured still has its routes, which refuse everything before the
// body is read. Each route's body limit is what its carrier really sends
// there: a received document (doc) or a status notice.
func (c *carriers) routes(doc, notice int64) []ingest.Route {
	refuse := func(setting string) func(*http.Request) (bool, error) {
		return func(*http.Request) (bool, error) {
			return false, fax.Errorf(fax.ECodeUnauthorized, "this carrier is not configured (set %s)", setting)
		}
	}
	refuseBody := func(*http.Request, []byte) error {
		return fax.Errorf(fax.ECodeUnauthorized, "carrier not configured")
	}
	noParse := func(*http.Request, []byte) ([]fax.Update, error) {
		return nil, fax.Errorf(fax.ECodeInvalid, "carrier not configured")
	}
	// Sinch's FAX_COMPLETED may carry the sent document back; Phaxio's
	// send callback carries the fax object only.
	rs := []ingest.Route{
		{Pattern: "POST /phaxio-callback", Provider: phaxio.Name, MaxBody: notice, Preverify: c.phaxio.PreverifyWebhook, Verify: c.phaxio.VerifyCallback, Parse: c.phaxio.ParseCallback},
		{Pattern: "POST /phaxio-inbound", Provider: phaxio.Name, MaxBody: doc, Preverify: c.phaxio.PreverifyWebhook, Verify: c.phaxio.VerifyWebhook, Parse: c.phaxio.ParseInbound},
		{Pattern: "POST /sinch-callback", Provider: sinch.Name, MaxBody: doc, Preverify: c.sinch.PreverifyWebhook, Verify: c.sinch.VerifyCallback, Parse: c.sinch.ParseCallback},
		{Pattern: "POST /sinch-inbound", Provider: sinch.Name, MaxBody: doc, Preverify: c.sinch.PreverifyWebhook, Verify: c.sinch.VerifyWebhook, Parse: c.sinch.ParseInbound},
	}
	// GoFax's webhooks carry fields only; a received document is fetched
	// through its API afterwards.
	if c.gofax != nil {
		rs = append(rs,
			ingest.Route{Pattern: "POST /gofax-callback", Provider: gofax.Name, MaxBody: notice, Preverify: c.gofax.PreverifyCallback, Verify: c.gofax.VerifyCallback, Parse: c.gofax.ParseCallback},
			ingest.Route{Pattern: "POST /gofax-sms-callback", Provider: gofax.Name, MaxBody: notice, Preverify: c.gofax.PreverifyCallback, Verify: c.gofax.VerifyCallback, Parse: c.gofax.ParseSMSCallback},
			ingest.Route{Pattern: "POST /gofax-inbound", Provider: gofax.Name, MaxBody: notice, Preverify: c.gofax.PreverifyInbound, Verify: c.gofax.VerifyInbound, Parse: c.gofax.ParseInbound},
		)
	} else {
		for _, p := range []string{"POST /gofax-callback", "POST /gofax-sms-callback", "POST /gofax-inbound"} {
			rs = append(rs, ingest.Route{Pattern: p, Provider: gofax.Name, MaxBody: notice, Preverify: refuse("GOFAX_TOKEN"), Verify: refuseBody, Parse: noParse})
		}
	}
	// The dialplan posts a small JSON notice; the TIFF stays in the spool.
	if c.asterisk != nil {
		rs = append(rs, ingest.Route{Pattern: "POST /_internal/asterisk/inbound", Provider: asterisk.Name, MaxBody: notice, Preverify: c.asterisk.PreverifyInbound, Verify: c.asterisk.VerifyInbound, Parse: c.asterisk.ParseInbound})
	} else {
		rs = append(rs, ingest.Route{Pattern: "POST /_internal/asterisk/inbound", Provider: asterisk.Name, MaxBody: notice, Preverify: refuse("ASTERISK_SPOOL_DIR and ASTERISK_INBOUND_SECRET"), Verify: refuseBody, Parse: noParse})
	}
	return rs
}

// sendingCarrier is a carrier that can send faxes.
type sendingCarrier interface {
	dispatch.Sender
	// SendProblem says why it cannot send ("" when it can), naming the
	// missing settings.
	SendProblem() string
}

// canceler is a carrier that can stop a fax it already has.
type canceler interface {
	Cancel(ctx context.Context, f *fax.Fax) error
}

// senders returns the configured carriers by name, each with the problem
// that keeps it from sending ("" when it can send).
func (c *carriers) senders() map[string]sendingCarrier {
	out := map[string]sendingCarrier{}
	add := func(name string, p any, present bool) {
		if s, ok := p.(sendingCarrier); ok && present {
			out[name] = s
		}
	}
	add(phaxio.Name, c.phaxio, c.phaxio != nil)
	add(sinch.Name, c.sinch, c.sinch != nil)
	add(gofax.Name, c.gofax, c.gofax != nil)
	add(asterisk.Name, c.asterisk, c.asterisk != nil)
	return out
}

// cancel asks the fax's carrier to stop it, when the carrier can.
func (c *carriers) cancel(ctx context.Context, f *fax.Fax) error {
	if s, ok := c.senders()[f.Provider]; ok {
		if cc, ok := s.(canceler); ok {
			return cc.Cancel(ctx, f)
		}
	}
	return nil
}

func (m *Main) mountCarrierRoutes(c *carriers) {
	for _, rt := range c.routes(m.Config.CarrierMaxBody, m.Config.CarrierMaxNotice) {
		m.API.Mux().Handle(rt.Pattern, m.Ingest.Handler(rt))
	}
}

// start starts carriers that hold connections (Asterisk's AMI) and has them
// watch the faxes they were sending when the gateway last stopped.
func (c *carriers) start(ctx context.Context, st interface {
	FindFaxes(ctx context.Context, fl fax.FaxFilter) ([]*fax.Fax, string, error)
}) error {
	if c.asterisk == nil || c.asterisk.SendProblem() != "" {
		return nil
	}
	c.asterisk.Start()
	cursor := ""
	for {
		faxes, next, err := st.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Outbound, Status: fax.StatusSending, Limit: fax.MaxLimit, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, f := range faxes {
			if f.Provider == asterisk.Name {
				c.asterisk.Watch(f.ID, f.UpdatedAt)
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// close closes carriers that hold connections.
func (c *carriers) close() {
	if c.asterisk != nil {
		c.asterisk.Close()
	}
}
