package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/dispatch"
	"github.com/faxgate/faxgate/internal/ingest"
	"github.com/faxgate/faxgate/internal/metrics"
	"github.com/faxgate/faxgate/internal/provider/simulator"
	"github.com/faxgate/faxgate/internal/retention"
	"github.com/faxgate/faxgate/internal/webhook"
)

// Main is a whole gateway: configuration, store, carriers, API, workers
// and the HTTP server. Tests drive it directly.
type Main struct {
	Config config.Config
	Logger *slog.Logger
	// Now is the clock of every component (default time.Now).
	Now func() time.Time
	// WebhookClient overrides the client that delivers webhooks.
	WebhookClient *http.Client
	// EmailTLS overrides the TLS settings for the SMTP relay (tests).
	EmailTLS *tls.Config
	Store    store
	Blobs    blob.Store
	API      *api.Server
	Ingest   *ingest.Ingest
	// Rejections writes refused carrier webhooks to the audit trail,
	// aggregated; tests flush it.
	Rejections *ingest.Rejections
	Dispatcher *dispatch.Dispatcher
	Webhooks   *webhook.Worker
	Simulator  *simulator.Simulator
	Retention  *retention.Retention
	Metrics    *metrics.Metrics

	lock          *os.File
	carriers      *carriers
	webhookClient *http.Client // delivers webhooks and downloads content_url documents
	carrierClient *http.Client // downloads received documents
	senders       map[string]dispatch.Sender
	sendProblems  map[string]string // why a configured carrier cannot send
	server        *http.Server
	listener      net.Listener
	cancel        context.CancelFunc
	wg            sync.WaitGroup
	// wake routes the store's new-work signals to the workers.
	wake struct {
		sync.Mutex
		dispatch func()
		deliver  func()
		inbound  func()
		// endpoints tells the webhook worker an endpoint was removed.
		endpoints func()
	}
	// deliveries is the webhook worker's run, which StopDeliveries and
	// StartDeliveries end and begin again while the gateway serves.
	deliveries struct {
		sync.Mutex
		parent context.Context // Run's work context; nil before Run
		stop   context.CancelFunc
		done   chan error
	}
	// metricsServer serves /metrics on FAXGATE_METRICS_ADDR; nil when unset.
	metricsServer   *http.Server
	metricsListener net.Listener
}

// NewMain returns a Main for cfg.
func NewMain(cfg config.Config, logger *slog.Logger) *Main {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Main{Config: cfg, Logger: logger, Now: time.Now}
}

// Open builds every component and starts listening, but serves nothing
// until Run. Each step builds what the later ones use.
func (m *Main) Open(ctx context.Context) error {
	if err := m.openStore(ctx); err != nil {
		return err
	}
	if err := m.openBlobs(ctx); err != nil {
		return err
	}
	m.buildRetention()
	if err := m.buildWebhooks(); err != nil {
		return err
	}
	carrierSet, err := m.buildCarriers()
	if err != nil {
		return err
	}
	m.carriers = carrierSet
	m.buildIngest()
	if err := m.buildDispatch(); err != nil {
		return err
	}
	m.routeWork()
	m.buildMetrics()
	if err := m.buildAPI(); err != nil {
		return err
	}
	if err := m.listen(); err != nil {
		return err
	}
	if m.Config.InsecureWebhooks {
		m.Logger.Warn("FAXGATE_INSECURE_WEBHOOKS=1: carrier webhooks without configured verification are accepted unverified")
	}
	return nil
}

func (m *Main) onWork(kind string) {
	m.wake.Lock()
	var f func()
	switch kind {
	case "fax":
		f = m.wake.dispatch
	case "delivery":
		f = m.wake.deliver
	case "inbound":
		f = m.wake.inbound
	case "endpoint":
		f = m.wake.endpoints
	}
	m.wake.Unlock()
	if f != nil {
		f()
	}
}

func (m *Main) callbackSecret(ctx context.Context) (string, error) {
	if m.Config.CallbackSecret != "" {
		return m.Config.CallbackSecret, nil
	}
	return m.Store.Setting(ctx, "callback_secret", webhook.NewSecret)
}

// URL is where the gateway listens, for tests and logs.
func (m *Main) URL() string {
	if m.Config.TLSCert != "" {
		return "https://" + m.listener.Addr().String()
	}
	return "http://" + m.listener.Addr().String()
}

// Run serves and works until ctx ends, then shuts down gracefully: the
// server stops taking requests and finishes those in flight, workers finish
// or leave their work leased for the next start, and the store closes.
func (m *Main) Run(ctx context.Context) error {
	workCtx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	if err := m.carriers.start(workCtx, m.Store); err != nil {
		m.Logger.Error("start carriers", "err", err)
	}
	m.wg.Add(4)
	// Stopped after the server, so its last flush holds every refusal.
	go func() { defer m.wg.Done(); m.Rejections.Run(workCtx) }()
	go func() { defer m.wg.Done(); m.Retention.Run(workCtx) }()
	go func() { defer m.wg.Done(); m.Dispatcher.Run(workCtx) }()
	go func() { defer m.wg.Done(); m.Ingest.RunFetcher(workCtx) }()
	m.deliveries.Lock()
	m.deliveries.parent = workCtx
	m.deliveries.Unlock()
	m.StartDeliveries()
	serveErr := make(chan error, 1)
	go func() {
		if m.Config.TLSCert != "" {
			serveErr <- m.server.ServeTLS(m.listener, m.Config.TLSCert, m.Config.TLSKey)
			return
		}
		serveErr <- m.server.Serve(m.listener)
	}()
	if m.metricsServer != nil {
		go func() {
			if err := m.metricsServer.Serve(m.metricsListener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.Logger.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	m.Logger.Info("faxgate serving", "addr", m.listener.Addr().String(), "provider", m.Config.Provider,
		"data_dir", m.Config.DataDir, "version", version)
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	m.Logger.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer scancel()
	if serr := m.server.Shutdown(sctx); serr != nil {
		m.Logger.Warn("http shutdown", "err", serr)
	}
	if m.metricsServer != nil {
		m.metricsServer.Close()
	}
	cancel()
	m.wg.Wait()
	m.StopDeliveries()
	m.carriers.close()
	if cerr := m.Store.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	m.lock.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	m.Logger.Info("stopped")
	return err
}

// StopDeliveries stops the webhook worker once the attempts in flight are
// recorded, returning the worker's error. Deliveries created meanwhile
// wait, pending, until StartDeliveries: an operator (or the bench) builds
// a backlog this way. Stopping a stopped worker does nothing.
func (m *Main) StopDeliveries() error {
	m.deliveries.Lock()
	defer m.deliveries.Unlock()
	if m.deliveries.stop == nil {
		return nil
	}
	m.deliveries.stop()
	m.deliveries.stop = nil
	return <-m.deliveries.done
}

// StartDeliveries starts the webhook worker again after StopDeliveries. It
// does nothing before Run, after Run's shutdown began, or while the worker
// runs.
func (m *Main) StartDeliveries() {
	m.deliveries.Lock()
	defer m.deliveries.Unlock()
	parent := m.deliveries.parent
	if parent == nil || parent.Err() != nil || m.deliveries.stop != nil {
		return
	}
	ctx, stop := context.WithCancel(parent)
	done := make(chan error, 1)
	m.deliveries.stop, m.deliveries.done = stop, done
	go func() { done <- m.Webhooks.Run(ctx) }()
}

// Close releases what Open built, for a Main that never ran.
func (m *Main) Close() error {
	var errs []error
	if m.listener != nil {
		errs = append(errs, m.listener.Close())
	}
	if m.metricsListener != nil {
		errs = append(errs, m.metricsListener.Close())
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	if m.lock != nil {
		errs = append(errs, m.lock.Close())
	}
	return errors.Join(errs...)
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "faxgate serve [--config FILE]: run the gateway (settings from the environment; see the README)", stderr)
	file := fs.String("config", "", "a KEY=VALUE settings file (the environment wins)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv, *file)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	logger := newLogger(cfg, stderr)
	m := NewMain(cfg, logger)
	if err := m.Open(ctx); err != nil {
		m.Close()
		return err
	}
	return m.Run(ctx)
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(api.LogHandler{Handler: slog.NewJSONHandler(w, opts)})
	}
	return slog.New(api.LogHandler{Handler: slog.NewTextHandler(w, opts)})
}

// MetricsURL is where FAXGATE_METRICS_ADDR listens ("" when unset), for
// tests and logs.
func (m *Main) MetricsURL() string {
	if m.metricsListener == nil {
		return ""
	}
	return "http://" + m.metricsListener.Addr().String()
}
