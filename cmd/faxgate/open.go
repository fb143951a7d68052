package main

// The steps of Main.Open, in the order it takes them, and what they share.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
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
	"github.com/faxgate/faxgate/internal/provider/gofax"
	"github.com/faxgate/faxgate/internal/provider/simulator"
	"github.com/faxgate/faxgate/internal/retention"
	"github.com/faxgate/faxgate/internal/sms"
	"github.com/faxgate/faxgate/internal/webhook"
)

// openStore takes the data directory's lock and opens the store in it (or
// on PostgreSQL).
func (m *Main) openStore(ctx context.Context) error {
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
	return err
}

// openBlobs opens where document bytes live.
func (m *Main) openBlobs(ctx context.Context) error {
	var err error
	m.Blobs, err = blob.OpenSealed(ctx, m.Config.BlobURL, filepath.Join(m.Config.DataDir, "documents"), m.Config.DocumentKeys)
	return err
}

// buildRetention builds the job that purges old documents and audit rows.
func (m *Main) buildRetention() {
	cfg := m.Config
	m.Retention = retention.New(m.Store, m.Blobs, retention.Options{
		Inbound: cfg.RetentionInbound, Outbound: cfg.RetentionOutbound, Audit: cfg.AuditRetention, Now: m.Now,
		LeadFunc:  leadFunc(m.Store),
		Logger:    m.Logger.With("component", "retention"),
		SweepFunc: m.sweepBlobs,
	})
}

// sweepBlobs removes document files no fax refers to; object storage
// expires its own.
func (m *Main) sweepBlobs(ctx context.Context) (int, error) {
	if d, ok := blob.AsDir(m.Blobs); ok {
		return d.Sweep(ctx, time.Hour, m.Now(), m.Store.DocumentReferenced)
	}
	return 0, nil
}

// buildWebhooks builds the delivery worker and the outbound client it
// shares with document downloads.
func (m *Main) buildWebhooks() error {
	cfg := m.Config
	m.webhookClient = m.WebhookClient
	if m.webhookClient == nil {
		m.webhookClient = webhook.NewClient(webhook.ClientOptions{AllowNetworks: cfg.WebhookAllowNetworks, Timeout: cfg.WebhookTimeout})
	}
	whOpts := webhook.Options{
		Workers: cfg.WebhookWorkers, PerHost: cfg.WebhookPerHost, Schedule: cfg.WebhookRetrySchedule, Now: m.Now, Client: m.webhookClient,
		// A claim must outlive an attempt's timeout, or a slow attempt's
		// delivery would be claimed twice.
		LeaseFor: max(cfg.ClaimLease, 2*cfg.WebhookTimeout),
		Logger:   m.Logger.With("component", "webhook"), EmailAttachPDF: &cfg.EmailAttachPDF,
		Document: m.faxDocument,
		// m.Metrics is built in a later step, before any delivery runs.
		ObserveFunc: func(outcome string, d time.Duration) { m.Metrics.ObserveAttempt(outcome, d) },
	}
	if cfg.SMTPURL != "" {
		mailer, err := email.New(email.Config{URL: cfg.SMTPURL, From: cfg.SMTPFrom, AllowNetworks: cfg.WebhookAllowNetworks, TLSConfig: m.EmailTLS})
		if err != nil {
			return err
		}
		whOpts.Email = mailer
	}
	m.Webhooks = webhook.NewWorker(m.Store, whOpts)
	return nil
}

// faxDocument is a fax's document for an email attachment, unless purged.
func (m *Main) faxDocument(ctx context.Context, faxID string) ([]byte, error) {
	f, err := m.Store.FindFaxByID(ctx, faxID)
	if err != nil {
		return nil, err
	}
	if f.DocumentPurged || f.DocumentKey == "" {
		return nil, fax.Errorf(fax.ECodeNotFound, "no document")
	}
	return m.Blobs.Get(ctx, f.DocumentKey)
}

// buildIngest builds the carrier webhook path and the audit of refused
// webhooks.
func (m *Main) buildIngest() {
	cfg := m.Config
	m.Rejections = ingest.NewRejections(ingest.RejectionsOptions{
		Record: m.Store.RecordAudit, Interval: cfg.CarrierRejectAuditPeriod, Now: m.Now,
		Logger: m.Logger.With("component", "ingest"),
	})
	// Received documents are fetched with the same outbound safety as
	// webhooks: private addresses refused unless allowed, no redirects.
	m.carrierClient = webhook.NewClient(webhook.ClientOptions{AllowNetworks: cfg.WebhookAllowNetworks, Timeout: 2 * time.Minute})
	m.Ingest = ingest.New(ingest.Options{
		Resolve: m.resolveUpdate,
		Store:   m.Store, Blobs: m.Blobs, Logger: m.Logger.With("component", "ingest"), Now: m.Now,
		FetchPerCarrier: cfg.FetchPerCarrier,
		MaxBody:         cfg.CarrierMaxBody, UnverifiedReads: cfg.CarrierUnverifiedReads, UnverifiedReadsPerSource: cfg.CarrierUnverifiedPerIP,
		UnverifiedMemory: cfg.CarrierUnverifiedMemory, BodyTimeout: cfg.CarrierBodyTimeout,
		ToPDF:      receivedToPDF,
		WriteError: m.writeIngestError,
		OnRejected: m.Rejections.Add,
	})
}

// resolveUpdate fetches what a received fax's update only points to.
func (m *Main) resolveUpdate(ctx context.Context, u *fax.Update) error {
	return m.carriers.resolve(ctx, m.carrierClient, receivedLimit(m.Config.MaxDocument), u)
}

func (m *Main) writeIngestError(w http.ResponseWriter, r *http.Request, err error) {
	api.WriteError(w, r, m.Logger, api.UnavailableIfDown(r.Context(), m.Store, err))
}

// receivedToPDF converts a received document to the PDF users get.
func receivedToPDF(b []byte) ([]byte, int, error) {
	pdf, info, err := document.ToPDF(b)
	return pdf, info.Pages, err
}

// buildDispatch builds the outbound worker over the carriers that can send,
// and fails when the default carrier cannot.
func (m *Main) buildDispatch() error {
	cfg := m.Config
	m.senders = map[string]dispatch.Sender{}
	m.sendProblems = map[string]string{}
	for name, c := range m.carriers.senders() {
		if p := c.SendProblem(); p != "" {
			m.sendProblems[name] = p
			continue
		}
		m.senders[name] = c
	}
	if _, ok := m.senders[cfg.Provider]; !ok {
		p := m.sendProblems[cfg.Provider]
		if p == "" {
			p = "it cannot send in this version"
		}
		return fmt.Errorf("FAXGATE_PROVIDER=%s: %s", cfg.Provider, p)
	}
	for _, name := range cfg.ProviderFallback {
		if _, ok := m.senders[name]; !ok {
			p := m.sendProblems[name]
			if p == "" {
				p = "it is not configured"
			}
			return fmt.Errorf("FAXGATE_PROVIDER_FALLBACK: %s: %s", name, p)
		}
	}
	m.Dispatcher = dispatch.New(m.Store, dispatch.Options{
		Senders: m.senders, Workers: cfg.DispatchWorkers, Fallback: cfg.ProviderFallback, Now: m.Now, Grace: cfg.ShutdownTimeout, LeaseFor: cfg.ClaimLease,
		Concurrency: cfg.DispatchPerCarrier, ResultTimeout: cfg.ResultTimeout,
		CheckAfter: cfg.ResultCheckAfter, CheckEvery: cfg.ResultCheckEvery,
		FindSettle: cfg.SendFindSettle, FindSpacing: cfg.SendFindSpacing,
		Carriers: map[string]dispatch.Carrier{
			"phaxio": {ResultTimeout: cfg.PhaxioResultTimeout},
			"sinch":  {ResultTimeout: cfg.SinchResultTimeout},
			"gofax":  {ResultTimeout: cfg.GoFaxResultTimeout},
		},
		ApplyFunc: m.applyAnswer,
		Logger:    m.Logger.With("component", "dispatch"),
		Document:  m.sendDocument,
	})
	return nil
}

// applyAnswer applies a carrier's answer through ingest, like a webhook,
// for callers that need only whether it was recorded.
func (m *Main) applyAnswer(ctx context.Context, u *fax.Update) error {
	_, err := m.applyUpdate(ctx, u)
	return err
}

func (m *Main) sendDocument(ctx context.Context, f *fax.Fax) ([]byte, error) {
	return m.Blobs.Get(ctx, f.DocumentKey)
}

// routeWork points the store's new-work signals at the workers, which
// exist only now.
func (m *Main) routeWork() {
	m.wake.Lock()
	m.wake.dispatch, m.wake.deliver, m.wake.inbound = m.Dispatcher.Notify, m.Webhooks.Notify, m.Ingest.Notify
	m.wake.endpoints = m.Webhooks.EndpointsChanged
	m.wake.Unlock()
}

// buildMetrics builds the metrics, which name carrier routes by carrier.
func (m *Main) buildMetrics() {
	carrierRoutes := map[string]string{}
	for _, rt := range m.carriers.routes(0, 0) {
		carrierRoutes[rt.Pattern] = rt.Provider
	}
	m.Metrics = metrics.New(m.Store, carrierRoutes, m.Logger.With("component", "metrics"), m.Config.MetricsCacheFor)
}

// buildAPI builds the REST API and mounts the carrier webhook routes on it.
func (m *Main) buildAPI() error {
	cfg := m.Config
	addCover, err := newAddCover(cfg)
	if err != nil {
		return err
	}
	apiOpts := api.Options{
		Store: m.Store, Blobs: m.Blobs, Logger: m.Logger.With("component", "api"), Now: m.Now,
		AdminKeys: cfg.AdminKeys, MaxDocument: cfg.MaxDocument, MaxRecipients: cfg.MaxRecipients, DefaultProvider: cfg.Provider, RedialAttempts: cfg.RedialAttempts,
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, MaxInflightSends: cfg.MaxInflightSends,
		MaxInflightSendsPerKey: cfg.MaxInflightSendsPerKey, SendBodyTimeout: cfg.SendBodyTimeout,
		ProviderProblem: m.providerProblem,
		CancelAtCarrier: m.carriers.cancel,
		Audit:           m.Store,
		PrepareDocument: newPrepareDocument(cfg),
		AddCover:        addCover,
		RenderPDF:       renderPDF,
		FetchDocument:   m.fetchDocument,
		CheckWebhookURL: m.checkWebhookURL,
		NewSecret:       webhook.NewSecret,
		Formats:         []string{fax.FormatJSON, fax.FormatPhaxio, fax.FormatGoFax},
		EmailEnabled:    cfg.SMTPURL != "",
		CallbackSecret:  m.callbackSecret,
		Metrics:         m.Metrics.Handler(),
	}
	if m.Simulator != nil {
		apiOpts.SimulatorInbound = m.Simulator.Receive
	}
	if m.carriers.gofax != nil {
		apiOpts.SMS = sms.New(sms.Options{Store: m.Store, Sender: m.carriers.gofax, Carrier: gofax.Name, Label: "GoFax", ApplyFunc: m.applyAnswer})
	}
	m.API = api.New(apiOpts)
	m.mountCarrierRoutes(m.carriers)
	if err := m.mountConsole(slices.Sorted(maps.Keys(m.senders))); err != nil {
		return err
	}
	m.mountMCP()
	return nil
}

// providerProblem says why a fax cannot go through carrier name ("" when
// it can).
func (m *Main) providerProblem(name string) string {
	if _, ok := m.senders[name]; ok {
		return ""
	}
	if p, ok := m.sendProblems[name]; ok {
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
}

func renderPDF(b []byte, _ string) ([]byte, error) {
	pdf, _, err := document.ToPDF(b)
	return pdf, err
}

func (m *Main) fetchDocument(ctx context.Context, url string, max int64) ([]byte, error) {
	return fetchDocument(ctx, m.webhookClient, url, max)
}

// checkWebhookURL refuses an endpoint URL the delivery client would refuse,
// resolving its host for at most five seconds.
func (m *Main) checkWebhookURL(ctx context.Context, raw string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return webhook.CheckURL(raw, m.Config.WebhookAllowNetworks, func(_ context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	})
}

// listen opens the API's listener (and the metrics one) and builds the
// server around the API.
func (m *Main) listen() error {
	cfg := m.Config
	var err error
	m.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("FAXGATE_ADDR: %w", err)
	}
	if err := m.listenMetrics(); err != nil {
		return err
	}
	var ids fax.IDGen
	m.server = &http.Server{
		Handler:           api.WithTrustedProxies(m.Metrics.Middleware(api.WithRequestID(m.API, &ids, m.Now), m.route), cfg.TrustedProxies),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	return nil
}

// route is the pattern a request matches, which metrics count by.
func (m *Main) route(r *http.Request) string {
	_, pattern := m.API.Mux().Handler(r)
	return pattern
}

// newPrepareDocument returns the send handler's conversion: a lone PDF or
// TIFF is kept as it is; text, images and office documents become PDF, and
// several files one PDF, within the conversion settings.
func newPrepareDocument(cfg config.Config) func(ctx context.Context, files [][]byte) (api.Document, error) {
	conv := document.NewConverter(document.ConverterOptions{
		Timeout: cfg.ConvertTimeout, MaxOutput: cfg.ConvertMaxBytes, MaxPixels: int64(cfg.ImageMaxPixels),
	})
	return func(ctx context.Context, files [][]byte) (api.Document, error) {
		doc, err := conv.Convert(ctx, files)
		if err != nil {
			return api.Document{}, err
		}
		return api.Document{Bytes: doc.Bytes, MIME: doc.MIME, Pages: doc.Pages}, nil
	}
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
