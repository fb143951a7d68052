package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
)

// outcome is what one attempt produced, before the retry policy is applied.
type outcome struct {
	attempt fax.Attempt
	// delivered: the attempt succeeded without an HTTP status (an email the
	// relay accepted). Any 2xx status succeeds too.
	delivered bool
	// permanent: no later attempt can succeed (unknown format, bad secret,
	// unusable URL, an email address the relay refused), so the delivery
	// fails now.
	permanent bool
	// logError, when set, is logged instead of attempt.Error, whose text
	// may name what logs must not (an email relay's reply quotes addresses).
	logError string
	// retryAfter is the receiver's Retry-After on a 429 or 503, if any.
	retryAfter    time.Duration
	hasRetryAfter bool
}

// deliver makes one attempt at job and records it. The request runs to its
// own timeout even if ctx is canceled meanwhile, and the record is written
// regardless, so that shutting down never turns a delivered event into a
// recorded failure.
func (w *Worker) deliver(ctx context.Context, job *fax.DeliveryJob) error {
	return w.record(ctx, w.attempt(ctx, job))
}

// record writes one attempt's outcome to the store.
func (w *Worker) record(ctx context.Context, r attemptRecord) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := w.store.RecordAttempt(rctx, r.job.Delivery.ID, r.attempt, r.status, r.next); err != nil {
		return fmt.Errorf("webhook: record attempt for %s: %w", r.job.Delivery.ID, err)
	}
	return nil
}

// attemptRecord is an attempt made and logged, to be recorded.
type attemptRecord struct {
	job     *fax.DeliveryJob
	attempt fax.Attempt
	status  fax.DeliveryStatus
	next    *time.Time
}

// attempt makes one attempt at job, applies the retry policy and logs it.
// The request runs to its own timeout even if ctx is canceled meanwhile.
func (w *Worker) attempt(ctx context.Context, job *fax.DeliveryJob) attemptRecord {
	ctx = context.WithoutCancel(ctx)
	now := w.opts.Now().UTC()
	var start time.Time
	if w.opts.ObserveFunc != nil {
		start = time.Now()
	}
	out := w.send(ctx, job, now)
	status, next := w.decide(job.Delivery.AttemptCount, out, now)
	if w.opts.ObserveFunc != nil {
		w.opts.ObserveFunc(attemptOutcome(status), time.Since(start))
	}
	// A Retry-After is the endpoint's: its other deliveries wait too, those
	// this worker holds and, through the record, those in the store.
	if out.hasRetryAfter {
		until := now.Add(w.retry.RetryAfter(out.retryAfter))
		out.attempt.HoldEndpointUntil = &until
		w.holdEndpoint(job, until)
	}
	// A 410 disables the endpoint once its batch is recorded; until then
	// this worker holds the endpoint's other deliveries itself, so that none
	// goes out in between. Their leases run out, and the claims that follow
	// find the endpoint disabled.
	if out.attempt.StatusCode == http.StatusGone {
		w.holdEndpoint(job, now.Add(w.opts.LeaseFor))
	}

	level := slog.LevelInfo
	switch status {
	case fax.DeliverySucceeded:
		level = slog.LevelDebug
	case fax.DeliveryFailed:
		level = slog.LevelWarn
	}
	if w.log.Enabled(ctx, level) {
		w.logAttempt(ctx, level, job, out, status, next)
	}
	return attemptRecord{job: job, attempt: out.attempt, status: status, next: next}
}

// attemptOutcome names an attempt's result as the delivery metrics label it.
func attemptOutcome(status fax.DeliveryStatus) string {
	switch status {
	case fax.DeliverySucceeded:
		return "succeeded"
	case fax.DeliveryPending:
		return "retry"
	}
	return "failed"
}

// logAttempt writes the record of one attempt.
func (w *Worker) logAttempt(ctx context.Context, level slog.Level, job *fax.DeliveryJob, out outcome, status fax.DeliveryStatus, next *time.Time) {
	attrs := []slog.Attr{
		slog.String("endpoint_id", job.Endpoint.ID),
		slog.String("delivery_id", job.Delivery.ID),
		slog.String("event_type", string(job.Event.Type)),
		slog.Int("attempt", job.Delivery.AttemptCount+1),
		slog.Int("status_code", out.attempt.StatusCode),
		slog.Int64("latency_ms", out.attempt.LatencyMS),
		slog.String("status", string(status)),
	}
	if out.logError != "" {
		attrs = append(attrs, slog.String("error", out.logError))
	} else if out.attempt.Error != "" {
		attrs = append(attrs, slog.String("error", out.attempt.Error))
	}
	if next != nil {
		attrs = append(attrs, slog.Time("next_attempt_at", *next))
	}
	w.log.LogAttrs(ctx, level, "webhook attempt", attrs...)
}

// decide applies the retry policy to an attempt that followed prior ones.
// Any 2xx, or an accepted email, succeeds. A permanent error or 410 Gone
// fails the delivery at once; whether to disable the endpoint too is the
// store's decision. Anything else
// is retried as the worker's retry policy says (Schedule[prior], or later if
// the receiver's Retry-After, capped at MaxRetryAfter, says so) until the
// schedule is used up.
func (w *Worker) decide(prior int, out outcome, now time.Time) (fax.DeliveryStatus, *time.Time) {
	code := out.attempt.StatusCode
	switch {
	case out.delivered, code >= 200 && code <= 299:
		return fax.DeliverySucceeded, nil
	case out.permanent, code == http.StatusGone:
		return fax.DeliveryFailed, nil
	}
	wait, ok := w.retry.Next(max(prior, 0)+1, out.retryAfter)
	if !ok {
		return fax.DeliveryFailed, nil
	}
	next := now.Add(wait)
	return fax.DeliveryPending, &next
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date,
// as a wait from now. Values in the past, negative or unreadable are ignored.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0, false
		}
		// Anything over a year is capped long before it matters, and
		// converting a larger count of seconds could overflow.
		return time.Duration(min(n, 366*24*3600)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// send makes the attempt's request and reads what came back. mailto:
// endpoints get an email instead, whatever their format.
func (w *Worker) send(ctx context.Context, job *fax.DeliveryJob, now time.Time) outcome {
	if isMailto(job.Endpoint.URL) {
		return w.sendEmail(ctx, job, now)
	}
	out := outcome{attempt: fax.Attempt{At: now}}
	build, ok := w.builders[job.Endpoint.Format]
	if !ok {
		out.attempt.Error = fmt.Sprintf("endpoint format %q is not supported", job.Endpoint.Format)
		out.permanent = true
		return out
	}
	target, user, pass, hasAuth, err := splitURL(job.Endpoint.URL)
	if err != nil {
		out.attempt.Error = fax.ErrorMessage(err)
		out.permanent = true
		return out
	}
	if w.client.Timeout <= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultClientTimeout)
		defer cancel()
	}
	// Canceling the request ends a response body that trickles (see below).
	ctx, cancelRequest := context.WithCancel(ctx)
	defer cancelRequest()
	trace := &attemptTrace{}
	ctx = httptrace.WithClientTrace(ctx, trace.clientTrace())
	doc, err := w.webhookDocument(ctx, job)
	if err != nil {
		out.attempt.Error = "the received fax's document could not be read; will retry"
		out.logError = "document: " + fax.ErrorCode(err)
		return out
	}
	req, err := build(ctx, job, target, now, doc)
	if err != nil {
		// Building depends only on the job, so it would fail again.
		out.attempt.Error = fax.ErrorMessage(err)
		out.permanent = true
		return out
	}
	req.Header.Set("User-Agent", UserAgent)
	if hasAuth {
		req.SetBasicAuth(user, pass)
	}

	start := time.Now()
	resp, err := w.client.Do(req)
	if err != nil {
		out.attempt.LatencyMS = time.Since(start).Milliseconds()
		out.attempt.Error = trace.describe(err)
		return out
	}
	// The status is the answer; the body is only kept for the log, so a
	// receiver trickling it does not hold the destination's slot for the
	// whole timeout: what came within responseBodyWait is kept.
	stop := time.AfterFunc(responseBodyWait, cancelRequest)
	body := readBody(resp.Body, w.opts.ResponseCap)
	stop.Stop()
	resp.Body.Close()
	out.attempt.LatencyMS = time.Since(start).Milliseconds()
	out.attempt.StatusCode = resp.StatusCode
	out.attempt.ResponseBody = body
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		out.retryAfter, out.hasRetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return out
}

// responseBodyWait bounds how long an attempt reads the response body once
// the status and headers have come.
const responseBodyWait = 2 * time.Second

// maxWebhookFile bounds the PDF a phaxio-format fax.received webhook
// carries; a larger one is left out, and the receiver fetches it.
const maxWebhookFile = 15 << 20

// webhookDocument reads the PDF a job's request carries: a received fax's,
// for the phaxio format, whose fax.received webhooks hold the file as
// Phaxio's do. Nil when the format carries none, the worker has no
// Document reader, or the document is gone (purged by retention) or too
// large; an error otherwise, and the attempt is retried.
func (w *Worker) webhookDocument(ctx context.Context, job *fax.DeliveryJob) ([]byte, error) {
	if job.Endpoint.Format != fax.FormatPhaxio || job.Event.Type != fax.EventFaxReceived || job.Event.FaxID == "" || w.opts.Document == nil {
		return nil, nil
	}
	pdf, stored, err := w.storedDocument(ctx, job.Event.FaxID)
	if err != nil || !stored || len(pdf) > maxWebhookFile {
		return nil, err
	}
	return pdf, nil
}

// splitURL parses an endpoint URL into the URL to send to, without userinfo
// or fragment, and the Basic auth credentials its userinfo held. Its error is
// an *fax.Error whose message does not repeat the URL.
func splitURL(raw string) (target *url.URL, user, pass string, hasAuth bool, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", "", false, fax.Errorf(fax.ECodeInvalid, "endpoint URL is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, "", "", false, fax.Errorf(fax.ECodeInvalid, "endpoint URL scheme %q is not delivered over HTTP", u.Scheme)
	}
	if u.Host == "" || u.Opaque != "" {
		return nil, "", "", false, fax.Errorf(fax.ECodeInvalid, "endpoint URL has no host")
	}
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		hasAuth = true
	}
	t := *u
	t.User = nil
	t.Fragment, t.RawFragment = "", ""
	return &t, user, pass, hasAuth, nil
}

// readBody reads at most maxResponseRead bytes of body, so that a short
// response leaves the connection reusable and a huge one costs nothing, and
// returns the first limit bytes as text a database can store.
func readBody(body io.Reader, limit int) string {
	head := make([]byte, limit)
	n, _ := io.ReadFull(body, head)
	if n == limit {
		_, _ = io.CopyN(io.Discard, body, int64(maxResponseRead-limit))
	}
	return sanitizeBody(head[:n], limit)
}

// sanitizeBody returns b as valid UTF-8 of at most limit bytes: invalid
// bytes and NUL (which PostgreSQL text refuses) become U+FFFD, and a rune cut
// off by the cap is dropped.
func sanitizeBody(b []byte, limit int) string {
	var s strings.Builder
	s.Grow(min(len(b), limit))
	for len(b) > 0 {
		if !utf8.FullRune(b) {
			break // the cap cut this rune
		}
		r, size := utf8.DecodeRune(b)
		piece := b[:size]
		if r == utf8.RuneError && size == 1 || r == 0 {
			piece = []byte("\uFFFD")
		}
		if s.Len()+len(piece) > limit {
			break
		}
		s.Write(piece)
		b = b[size:]
	}
	return s.String()
}

// describeError turns a failed request into the short text an attempt
// records: what a user can act on, never the URL (which may carry
// credentials) or other details of the error chain.
func describeError(err error) string {
	var (
		notAllowed *addressNotAllowedError
		dnsErr     *net.DNSError
		netErr     net.Error
		verifyErr  *tls.CertificateVerificationError
		hostErr    x509.HostnameError
		recordErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &notAllowed):
		return "refused: address not allowed"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "dns: no such host"
		}
		return "dns: lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &hostErr):
		return "tls: certificate is not valid for the host"
	case errors.As(err, &verifyErr):
		return "tls: certificate not trusted"
	case errors.As(err, &recordErr):
		return "tls: server did not answer with TLS"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before a response"
	}
	return "request failed"
}
