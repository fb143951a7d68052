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
	"net/netip"
	neturl "net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/dispatch"
	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/email"
	"github.com/faxgate/faxgate/internal/fax"
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
	// CallerRunsWebhooks leaves running Webhooks (the delivery worker) to
	// the caller of Run, which may stop and start it: the bench does, to
	// build backlogs.
	CallerRunsWebhooks bool

	Store  store
	Blobs  blob.Store
	API    *api.Server
	Ingest *ingest.Ingest
	// Rejections writes refused carrier webhooks to the audit trail,
	// aggregated; tests flush it.
	Rejections *ingest.Rejections
	Dispatcher *dispatch.Dispatcher
	Webhooks   *webhook.Worker
	Simulator  *simulator.Simulator
	Retention  *retention.Retention
	Metrics    *metrics.Metrics

	lock     *os.File
	carriers *carriers
	server   *http.Server
	listener net.Listener
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	// wake routes the store's new-work signals to the workers.
	wake struct {
		sync.Mutex
		dispatch func()
		deliver  func()
		inbound  func()
		// endpoints tells the webhook worker an endpoint was removed.
		endpoints func()
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
// until Run.
func (m *Main) Open(ctx context.Context) error {
	cfg := m.Config
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("FAXGATE_DATA_DIR: %w", err)
	}
	var err error
	if m.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return err
	}
	m.Store, err = openStoreFor(ctx, cfg, m.Now, storeOptions{
		logger: m.Logger, onWork: m.onWork, owner: true, disableAfter: disableAfter(cfg.WebhookDisableAfter),
	})
	if err != nil {
		return err
	}
	m.Blobs, err = blob.Open(ctx, cfg.BlobURL, filepath.Join(cfg.DataDir, "documents"))
	if err != nil {
		return err
	}
	m.Retention = retention.New(m.Store, m.Blobs, retention.Options{
		Inbound: cfg.RetentionInbound, Outbound: cfg.RetentionOutbound, Audit: cfg.AuditRetention, Now: m.Now,
		LeadFunc: leadFunc(m.Store),
		Logger:   m.Logger.With("component", "retention"),
		SweepFunc: func(ctx context.Context) (int, error) {
			if d, ok := m.Blobs.(*blob.Dir); ok {
				return d.Sweep(ctx, time.Hour, m.Now(), m.Store.DocumentReferenced)
			}
			return 0, nil
		},
	})

	client := m.WebhookClient
	if client == nil {
		client = webhook.NewClient(webhook.ClientOptions{AllowNetworks: cfg.WebhookAllowNetworks, Timeout: cfg.WebhookTimeout})
	}
	whOpts := webhook.Options{
		Workers: cfg.WebhookWorkers, PerHost: cfg.WebhookPerHost, Schedule: cfg.WebhookRetrySchedule, Now: m.Now, Client: client,
		// A claim must outlive an attempt's timeout, or a slow attempt's
		// delivery would be claimed twice.
		LeaseFor: max(cfg.ClaimLease, 2*cfg.WebhookTimeout),
		Logger:   m.Logger.With("component", "webhook"), EmailAttachPDF: &cfg.EmailAttachPDF,
		Document: func(ctx context.Context, faxID string) ([]byte, error) {
			f, err := m.Store.FindFaxByID(ctx, faxID)
			if err != nil {
				return nil, err
			}
			if f.DocumentPurged || f.DocumentKey == "" {
				return nil, fax.Errorf(fax.ECodeNotFound, "no document")
			}
			return m.Blobs.Get(ctx, f.DocumentKey)
		},
	}
	if cfg.SMTPURL != "" {
		mailer, err := email.New(email.Config{URL: cfg.SMTPURL, From: cfg.SMTPFrom, AllowNetworks: cfg.WebhookAllowNetworks, TLSConfig: m.EmailTLS})
		if err != nil {
			return err
		}
		whOpts.Email = mailer
	}
	m.Webhooks = webhook.NewWorker(m.Store, whOpts)

	m.Rejections = ingest.NewRejections(ingest.RejectionsOptions{
		Record: m.Store.RecordAudit, Interval: cfg.CarrierRejectAuditPeriod, Now: m.Now,
		Logger: m.Logger.With("component", "ingest"),
	})
	carrierSet, err := m.buildCarriers()
	if err != nil {
		return err
	}
	// Received documents are fetched with the same outbound safety as
	// webhooks: private addresses refused unless allowed, no redirects.
	carrierClient := webhook.NewClient(webhook.ClientOptions{AllowNetworks: cfg.WebhookAllowNetworks, Timeout: 2 * time.Minute})
	m.Ingest = ingest.New(ingest.Options{
		Resolve: func(ctx context.Context, u *fax.Update) error {
			return carrierSet.resolve(ctx, carrierClient, receivedLimit(cfg.MaxDocument), u)
		},
		Store: m.Store, Blobs: m.Blobs, Logger: m.Logger.With("component", "ingest"), Now: m.Now,
		FetchPerCarrier: cfg.FetchPerCarrier,
		MaxBody:         cfg.CarrierMaxBody, UnverifiedReads: cfg.CarrierUnverifiedReads, UnverifiedReadsPerSource: cfg.CarrierUnverifiedPerIP,
		UnverifiedMemory: cfg.CarrierUnverifiedMemory, BodyTimeout: cfg.CarrierBodyTimeout,
		ToPDF: func(b []byte) ([]byte, int, error) {
			pdf, info, err := document.ToPDF(b)
			return pdf, info.Pages, err
		},
		WriteError: func(w http.ResponseWriter, r *http.Request, err error) {
			api.WriteError(w, r, m.Logger, api.UnavailableIfDown(r.Context(), m.Store, err))
		},
		OnRejected: m.Rejections.Add,
	})

	senders := map[string]dispatch.Sender{}
	problems := map[string]string{}
	for name, c := range carrierSet.senders() {
		if p := c.SendProblem(); p != "" {
			problems[name] = p
			continue
		}
		senders[name] = c
	}
	if _, ok := senders[cfg.Provider]; !ok {
		p := problems[cfg.Provider]
		if p == "" {
			p = "it cannot send in this version"
		}
		return fmt.Errorf("FAXGATE_PROVIDER=%s: %s", cfg.Provider, p)
	}
	m.Dispatcher = dispatch.New(m.Store, dispatch.Options{
		Senders: senders, Workers: cfg.DispatchWorkers, Now: m.Now, Grace: cfg.ShutdownTimeout, LeaseFor: cfg.ClaimLease,
		Concurrency: cfg.DispatchPerCarrier, ResultTimeout: cfg.ResultTimeout,
		CheckAfter: cfg.ResultCheckAfter, CheckEvery: cfg.ResultCheckEvery,
		FindSettle: cfg.SendFindSettle, FindSpacing: cfg.SendFindSpacing,
		Carriers: map[string]dispatch.Carrier{
			"phaxio": {ResultTimeout: cfg.PhaxioResultTimeout},
			"sinch":  {ResultTimeout: cfg.SinchResultTimeout},
			"gofax":  {ResultTimeout: cfg.GoFaxResultTimeout},
		},
		ApplyFunc: func(ctx context.Context, u *fax.Update) error {
			_, err := m.Ingest.Apply(ctx, u)
			return err
		},
		Logger: m.Logger.With("component", "dispatch"),
		Document: func(ctx context.Context, f *fax.Fax) ([]byte, error) {
			return m.Blobs.Get(ctx, f.DocumentKey)
		},
	})
	m.wake.Lock()
	m.wake.dispatch, m.wake.deliver, m.wake.inbound = m.Dispatcher.Notify, m.Webhooks.Notify, m.Ingest.Notify
	m.wake.endpoints = m.Webhooks.EndpointsChanged
	m.wake.Unlock()

	carrierRoutes := map[string]string{}
	for _, rt := range carrierSet.routes(0, 0) {
		carrierRoutes[rt.Pattern] = rt.Provider
	}
	m.Metrics = metrics.New(m.Store, carrierRoutes, m.Logger.With("component", "metrics"), cfg.MetricsCacheFor)

	resolver := func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	apiOpts := api.Options{
		Store: m.Store, Blobs: m.Blobs, Logger: m.Logger.With("component", "api"), Now: m.Now,
		AdminKeys: cfg.AdminKeys, MaxDocument: cfg.MaxDocument, DefaultProvider: cfg.Provider,
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, MaxInflightSends: cfg.MaxInflightSends,
		MaxInflightSendsPerKey: cfg.MaxInflightSendsPerKey, SendBodyTimeout: cfg.SendBodyTimeout,
		ProviderProblem: func(name string) string {
			if _, ok := senders[name]; ok {
				return ""
			}
			if p, ok := problems[name]; ok {
				return p
			}
			if name == simulator.Name {
				return "the simulator runs only when FAXGATE_PROVIDER=simulator"
			}
			for _, p := range config.ProviderNames() {
				if p == name {
					return "not configured on this gateway"
				}
			}
			return "unknown carrier; want one of simulator, phaxio, sinch, gofax, asterisk"
		},
		CancelAtCarrier: carrierSet.cancel,
		Audit:           m.Store,
		PrepareDocument: prepareDocument,
		RenderPDF: func(b []byte, _ string) ([]byte, error) {
			pdf, _, err := document.ToPDF(b)
			return pdf, err
		},
		FetchDocument: func(ctx context.Context, url string, max int64) ([]byte, error) {
			return fetchDocument(ctx, client, url, max)
		},
		CheckWebhookURL: func(ctx context.Context, raw string) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return webhook.CheckURL(raw, cfg.WebhookAllowNetworks, func(_ context.Context, host string) ([]netip.Addr, error) {
				return resolver(ctx, host)
			})
		},
		NewSecret:      webhook.NewSecret,
		Formats:        []string{fax.FormatJSON, fax.FormatPhaxio, fax.FormatGoFax},
		EmailEnabled:   cfg.SMTPURL != "",
		CallbackSecret: m.callbackSecret,
		Metrics:        m.Metrics.Handler(),
	}
	if m.Simulator != nil {
		apiOpts.SimulatorInbound = m.Simulator.Receive
	}
	if carrierSet.gofax != nil {
		apiOpts.SMS = &smsService{store: m.Store, gofax: carrierSet.gofax, apply: m.Ingest.Apply}
	}
	m.API = api.New(apiOpts)
	m.mountCarrierRoutes(carrierSet)
	m.carriers = carrierSet
	route := func(r *http.Request) string {
		_, pattern := m.API.Mux().Handler(r)
		return pattern
	}

	m.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("FAXGATE_ADDR: %w", err)
	}
	if err := m.listenMetrics(); err != nil {
		return err
	}
	var ids fax.IDGen
	m.server = &http.Server{
		Handler:           api.WithTrustedProxies(m.Metrics.Middleware(api.WithRequestID(m.API, &ids, m.Now), route), cfg.TrustedProxies),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	if cfg.InsecureWebhooks {
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
	if !m.CallerRunsWebhooks {
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.Webhooks.Run(workCtx) }()
	}
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

// prepareDocument sniffs an upload: PDF and TIFF are kept as they are, text
// becomes a PDF; anything else is refused.
func prepareDocument(b []byte) (api.Document, error) {
	info, err := document.Inspect(b)
	if err != nil {
		return api.Document{}, err
	}
	if info.Type == document.Text {
		pdf, err := document.TextToPDF(string(b))
		if err != nil {
			return api.Document{}, err
		}
		return api.Document{Bytes: pdf, MIME: "application/pdf", Pages: info.Pages}, nil
	}
	return api.Document{Bytes: b, MIME: info.Type.MIME(), Pages: info.Pages}, nil
}

// fetchDocument downloads a content_url with the same outbound safety as
// webhooks: private addresses refused, redirects not followed, size capped.
func fetchDocument(ctx context.Context, client *http.Client, url string, max int64) ([]byte, error) {
	u, err := neturl.Parse(url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "want an http(s) URL")
	}
	// The client refuses private and loopback addresses at connect time.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "not a valid URL")
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fax.Errorf(fax.ECodeUnprocessable, "could not be fetched (the address may not be allowed)")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fax.Errorf(fax.ECodeUnprocessable, "the server answered %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fax.Errorf(fax.ECodeUnprocessable, "the download failed")
	}
	if int64(len(b)) > max {
		return nil, fax.Errorf(fax.ECodeTooLarge, "document is larger than %d bytes", max)
	}
	return b, nil
}

// disableAfter maps the setting's 0 ("never") to the store's negative.
func disableAfter(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// leadFunc lets one instance at a time run periodic jobs on a shared
// database; a store for one process needs none.
func leadFunc(st store) func(ctx context.Context, name string) (func(), bool, error) {
	if l, ok := st.(leader); ok {
		return l.TryLead
	}
	return nil
}

// listenMetrics opens FAXGATE_METRICS_ADDR, where GET /metrics needs no key:
// an address that only the scraper reaches, so that Prometheus needs no
// credential. The API listener keeps serving metrics to metrics:read keys.
func (m *Main) listenMetrics() error {
	if m.Config.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", m.Config.MetricsAddr)
	if err != nil {
		return fmt.Errorf("FAXGATE_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Metrics.Handler())
	m.metricsListener = ln
	m.metricsServer = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	return nil
}

// MetricsURL is where FAXGATE_METRICS_ADDR listens ("" when unset), for
// tests and logs.
func (m *Main) MetricsURL() string {
	if m.metricsListener == nil {
		return ""
	}
	return "http://" + m.metricsListener.Addr().String()
}
