package simulator

import "github.com/faxgate/faxgate/internal/provider"

// Name returns the carrier's name.
func (s *Simulator) Name() string { return Name }

// SendProblem is "": the simulator needs no settings to send.
func (s *Simulator) SendProblem() string { return "" }

// Routes is empty: the simulator reports through Apply inside the process,
// and its received faxes come through the API (SimulatorInbound).
func (s *Simulator) Routes() []provider.Route { return nil }
