package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/console"
	"github.com/faxgate/faxgate/internal/fax"
)

// mountConsole serves the browser console at /console on the API's router.
// Every page works through the API in-process as the signed-in key;
// failed sign-ins join the aggregated refusals in the audit trail.
func (m *Main) mountConsole(carriers []string) error {
	cfg := m.Config
	sessions, ok := m.Store.(console.Sessions)
	if !ok {
		return errors.New("console: the store keeps no sessions")
	}
	stats, _ := m.Store.(interface {
		Stats(ctx context.Context) (fax.Stats, error)
	})
	carriers = slices.Sorted(slices.Values(carriers))
	limit := float64(cfg.ConsoleSignInLimit)
	opts := console.Options{
		API: m.API, Sessions: sessions, Logger: m.Logger.With("component", "console"), Now: m.Now,
		Idle: cfg.ConsoleIdle, MaxAge: cfg.ConsoleMaxAge, MaxBody: cfg.MaxDocument + 1<<20,
		SignInLimiter: api.NewLimiter(limit/60, cfg.ConsoleSignInLimit, 0),
		Audit:         m.Store.RecordAudit,
		Refused:       m.Rejections.AddRefusal,
		SecureCookies: cfg.TLSCert != "" || strings.HasPrefix(cfg.PublicURL, "https://"),
		Simulator:     m.Simulator != nil,
		Health: func(ctx context.Context) (console.Health, error) {
			h := console.Health{Carriers: carriers}
			if stats == nil {
				return h, nil
			}
			s, err := stats.Stats(ctx)
			h.Queues = s.Queues
			return h, err
		},
	}
	// Built on the first visit: its templates and pages would otherwise
	// cost every gateway resident memory from the start, console used or
	// not. The templates are embedded, and a test parses them.
	build := sync.OnceValues(func() (http.Handler, error) { return console.New(opts) })
	c := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := build()
		if err != nil {
			api.WriteError(w, r, m.Logger, fmt.Errorf("console: %w", err))
			return
		}
		h.ServeHTTP(w, r)
	})
	mux := m.API.Mux()
	mux.Handle(console.Prefix+"/", c)
	mux.Handle("GET "+console.Prefix, http.RedirectHandler(console.Prefix+"/", http.StatusSeeOther))
	return nil
}
