package main

import (
	"context"
	"errors"
	"io"

	"github.com/faxgate/faxgate/internal/bench"
	"github.com/faxgate/faxgate/internal/config"
)

// cmdBench runs the load generator (internal/bench) on gateways built as
// `faxgate serve` builds them.
func cmdBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := bench.Command(ctx, args, getenv, stdout, stderr, openBenchGateway)
	var ue bench.UsageError
	if errors.As(err, &ue) {
		return usageError(ue)
	}
	return err
}

// openBenchGateway opens a Main for the bench, which writes its faxes
// through the store before the gateway serves.
func openBenchGateway(ctx context.Context, cfg config.Config, log io.Writer) (bench.Gateway, bench.Store, error) {
	m := NewMain(cfg, newLogger(cfg, log))
	if err := m.Open(ctx); err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, m.Store, nil
}
