// Package metrics exposes faxgate's Prometheus metrics: HTTP requests by
// route and status, carrier webhooks by carrier and outcome, delivery
// attempts by outcome with their latency, and, read from the store at most
// once per cache period whatever the scrapers do, faxes by carrier and
// status, deliveries by status and the depth and oldest age of each work
// queue. Labels never carry ids, numbers or secrets.
//
// It imports internal/fax and the Prometheus client library.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store reads the counts.
type Store interface {
	Stats(ctx context.Context) (fax.Stats, error)
}

// Metrics holds the registry and the collectors faxgate updates.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	webhooks   *prometheus.CounterVec
	attempts   *prometheus.CounterVec
	attemptLat *prometheus.HistogramVec
	// carriers maps carrier webhook route patterns to carrier names.
	carriers map[string]string
}

// New builds the metrics; carrierRoutes maps route patterns such as
// "POST /phaxio-callback" to the carrier's name. The store's figures are
// reused for storeCache (DefaultStoreCache when 0) between reads.
func New(store Store, carrierRoutes map[string]string, log *slog.Logger, storeCache time.Duration) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), carriers: carrierRoutes}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "faxgate_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"route", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "faxgate_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route"})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "faxgate_carrier_webhooks_total", Help: "Carrier webhooks by carrier and outcome (accepted, rejected, invalid, too_large, error).",
	}, []string{"carrier", "outcome"})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "faxgate_delivery_attempts_total", Help: "Webhook delivery attempts by outcome (succeeded, retry, failed).",
	}, []string{"outcome"})
	m.attemptLat = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "faxgate_delivery_attempt_duration_seconds", Help: "Webhook delivery attempt latency by outcome.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
	}, []string{"outcome"})
	m.reg.MustRegister(m.requests, m.duration, m.webhooks, m.attempts, m.attemptLat,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newStoreCollector(newStatsCache(store, log, storeCache)))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveAttempt records one delivery attempt.
func (m *Metrics) ObserveAttempt(outcome string, latency time.Duration) {
	m.attempts.WithLabelValues(outcome).Inc()
	m.attemptLat.WithLabelValues(outcome).Observe(latency.Seconds())
}

// Middleware counts requests by the route pattern that served them (so ids
// in paths never become labels) and status.
func (m *Metrics) Middleware(next http.Handler, route func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		pattern := route(r)
		if pattern == "" {
			pattern = "unmatched"
		}
		m.requests.WithLabelValues(pattern, strconv.Itoa(sw.code)).Inc()
		m.duration.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
		if carrier, ok := m.carriers[pattern]; ok {
			m.webhooks.WithLabelValues(carrier, webhookOutcome(sw.code)).Inc()
		}
	})
}

func webhookOutcome(code int) string {
	switch {
	case code < 300:
		return "accepted"
	case code == http.StatusUnauthorized:
		return "rejected"
	case code == http.StatusRequestEntityTooLarge:
		return "too_large"
	case code < 500:
		return "invalid"
	}
	return "error"
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// storeCollector reports the store's counts, read through the cache so that
// they are right across restarts and instances without a scrape costing a
// read of every table.
type storeCollector struct {
	stats                                       *statsCache
	faxes, deliveries, queue, oldest, scrapeErr *prometheus.Desc
}

func newStoreCollector(stats *statsCache) *storeCollector {
	return &storeCollector{stats: stats,
		faxes:      prometheus.NewDesc("faxgate_faxes", "Faxes by carrier, direction and status.", []string{"provider", "direction", "status"}, nil),
		deliveries: prometheus.NewDesc("faxgate_deliveries", "Webhook deliveries by status.", []string{"status"}, nil),
		queue:      prometheus.NewDesc("faxgate_queue_depth", "Work waiting, by queue (dispatch, delivery, inbound; result: faxes handed to a carrier awaiting their final result).", []string{"queue"}, nil),
		oldest:     prometheus.NewDesc("faxgate_queue_oldest_age_seconds", "Age of the oldest waiting item, by queue.", []string{"queue"}, nil),
		scrapeErr:  prometheus.NewDesc("faxgate_store_scrape_error", "1 when the store could not be read for metrics.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.faxes, c.deliveries, c.queue, c.oldest, c.scrapeErr} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.stats.get(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.scrapeErr, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.scrapeErr, prometheus.GaugeValue, 0)
	for _, f := range st.Faxes {
		ch <- prometheus.MustNewConstMetric(c.faxes, prometheus.GaugeValue, float64(f.Count), f.Provider, string(f.Direction), f.Status)
	}
	for _, d := range st.Deliveries {
		ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.GaugeValue, float64(d.Count), d.Status)
	}
	for _, q := range st.Queues {
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(q.Depth), q.Name)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, q.OldestAge.Seconds(), q.Name)
	}
}
