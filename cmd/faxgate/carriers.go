package main

import (
	"context"
	"time"

	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/ingest"
	"github.com/faxgate/faxgate/internal/provider"
	"github.com/faxgate/faxgate/internal/provider/asterisk"
	"github.com/faxgate/faxgate/internal/provider/gofax"
	"github.com/faxgate/faxgate/internal/provider/phaxio"
	"github.com/faxgate/faxgate/internal/provider/simulator"
	"github.com/faxgate/faxgate/internal/provider/sinch"
)

// carriers is the registry: the carriers enabled by the configuration, by
// name, and the routes of those without settings, which refuse everything
// before the body is read.
type carriers struct {
	byName  map[string]provider.Carrier
	names   []string // byName's keys in the builders' order
	refused []ingest.Route

	// gofax is the one carrier that sends SMS, when enabled.
	gofax *gofax.Provider
}

// carrierBuilder builds one carrier from the configuration. A carrier
// without settings comes back nil, with the routes that refuse its
// webhooks.
type carrierBuilder struct {
	name  string
	build func(cfg config.Config, d provider.Deps) (provider.Carrier, []provider.Route, error)
}

// carrierBuilders lists every carrier faxgate has: adding a carrier is its
// package (with its Build) and one line here, besides its settings in
// internal/config.
func carrierBuilders() []carrierBuilder {
	return []carrierBuilder{
		{phaxio.Name, phaxio.Build},
		{sinch.Name, sinch.Build},
		{gofax.Name, gofax.Build},
		{asterisk.Name, asterisk.Build},
		{simulator.Name, simulator.Build},
	}
}

// buildCarriers constructs every carrier that has settings, failing fast
// on broken settings with the setting's name.
func (m *Main) buildCarriers() (*carriers, error) {
	d := provider.Deps{
		CarrierIDFunc: m.carrierID,
		// The store is asked only when a callback comes.
		CallbackTokenFunc: func(ctx context.Context, faxID string) (string, error) {
			return m.Store.FindCallbackToken(ctx, faxID)
		},
		ApplyFunc:     m.applyUpdate,
		SamplePDFFunc: document.SamplePDF,
		Logger:        m.Logger,
	}
	c := carriers{byName: map[string]provider.Carrier{}}
	for _, b := range carrierBuilders() {
		p, refused, err := b.build(m.Config, d)
		if err != nil {
			return nil, err
		}
		for _, rt := range refused {
			c.refused = append(c.refused, ingestRoute(rt, b.name, 0, 0))
		}
		if p != nil {
			c.byName[b.name] = p
			c.names = append(c.names, b.name)
		}
	}
	c.gofax, _ = c.byName[gofax.Name].(*gofax.Provider)
	if s, ok := c.byName[simulator.Name].(*simulator.Simulator); ok {
		m.Simulator = s
	}
	return &c, nil
}

// applyUpdate applies a carrier's update on the ingest path; carriers that
// report from inside the process (Asterisk, the simulator) are built
// before that path exists, hence the indirection.
func (m *Main) applyUpdate(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	return m.Ingest.Apply(ctx, u)
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

// ingestRoute gives a carrier's route the body limit its kind of body
// needs: a received document (doc) or a status notice.
func ingestRoute(rt provider.Route, name string, doc, notice int64) ingest.Route {
	limit := notice
	if rt.Document {
		limit = doc
	}
	return ingest.Route{Pattern: rt.Pattern, Provider: name, MaxBody: limit, Preverify: rt.Preverify, Verify: rt.Verify, Parse: rt.Parse}
}

// routes lists the carrier webhook routes (CONTRACT.md): every enabled
// carrier's, and the refusing routes of those without settings.
func (c *carriers) routes(doc, notice int64) []ingest.Route {
	var rs []ingest.Route
	for _, name := range c.names {
		for _, rt := range c.byName[name].Routes() {
			rs = append(rs, ingestRoute(rt, name, doc, notice))
		}
	}
	for _, rt := range c.refused {
		rt.MaxBody = notice
		rs = append(rs, rt)
	}
	return rs
}

// sendingCarrier is a carrier as the dispatcher and the API see it.
type sendingCarrier = provider.Carrier

// senders returns the enabled carriers by name, each the carrier itself so
// that the dispatcher finds its optional parts (Find, CheckResult); its
// SendProblem says what keeps it from sending ("" when it can).
func (c *carriers) senders() map[string]sendingCarrier {
	out := make(map[string]sendingCarrier, len(c.byName))
	for name, p := range c.byName {
		out[name] = p
	}
	return out
}

// canceler is a carrier that can stop a fax it already has.
type canceler interface {
	Cancel(ctx context.Context, f *fax.Fax) error
}

// cancel asks the fax's carrier to stop it, when the carrier can.
func (c *carriers) cancel(ctx context.Context, f *fax.Fax) error {
	if cc, ok := c.byName[f.Provider].(canceler); ok {
		return cc.Cancel(ctx, f)
	}
	return nil
}

func (m *Main) mountCarrierRoutes(c *carriers) {
	for _, rt := range c.routes(m.Config.CarrierMaxBody, m.Config.CarrierMaxNotice) {
		m.API.Mux().Handle(rt.Pattern, m.Ingest.Handler(rt))
	}
}

// starter is a carrier that holds connections (Asterisk's AMI): Start
// opens them and Watch re-arms the faxes it was sending when the gateway
// last stopped.
type starter interface {
	provider.Carrier
	Start()
	Watch(faxID string, handedAt time.Time)
}

// closer is a carrier with connections to close at shutdown.
type closer interface {
	Close() error
}

// start starts the carriers that hold connections and has them watch the
// faxes they were sending when the gateway last stopped.
func (c *carriers) start(ctx context.Context, st interface {
	FindFaxes(ctx context.Context, fl fax.FaxFilter) ([]*fax.Fax, string, error)
}) error {
	watch := map[string]starter{}
	for _, name := range c.names {
		p := c.byName[name]
		if s, ok := p.(starter); ok && s.SendProblem() == "" {
			s.Start()
			watch[name] = s
		}
	}
	if len(watch) == 0 {
		return nil
	}
	cursor := ""
	for {
		faxes, next, err := st.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Outbound, Status: fax.StatusSending, Limit: fax.MaxLimit, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, f := range faxes {
			if s, ok := watch[f.Provider]; ok {
				s.Watch(f.ID, f.UpdatedAt)
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// close closes the carriers that hold connections.
func (c *carriers) close() {
	for _, p := range c.byName {
		if cl, ok := p.(closer); ok {
			cl.Close()
		}
	}
}

// checker returns the enabled carrier name as a provider.Checker, if it can
// prove its credentials (faxgate carriers check).
func (c *carriers) checker(name string) (provider.Checker, bool) {
	ch, ok := c.byName[name].(provider.Checker)
	return ch, ok
}

// setupper returns the enabled carrier name as a provider.Setupper, if
// faxgate can set its account up (faxgate carriers setup).
func (c *carriers) setupper(name string) (provider.Setupper, bool) {
	s, ok := c.byName[name].(provider.Setupper)
	return s, ok
}
