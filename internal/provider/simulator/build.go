package simulator

import (
	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/provider"
)

// Build makes the simulator only when it is the default carrier
// (FAXGATE_PROVIDER=simulator), so that a real gateway never fakes a send.
func Build(cfg config.Config, d provider.Deps) (provider.Carrier, []provider.Route, error) {
	if cfg.Provider != Name {
		return nil, nil, nil
	}
	return New(Config{PageDelay: cfg.SimulatorPageDelay, Apply: d.ApplyFunc, SamplePDF: d.SamplePDFFunc}), nil, nil
}
