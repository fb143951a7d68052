// Package ingest takes carrier webhooks in: for each carrier route it
// settles what the headers can prove, reads the body within the route's
// limit (and, while the sender is unverified, within a bound on such
// bodies), has the carrier package verify and parse it, and applies the
// resulting updates through one path, the same path the simulator carrier
// uses. A carrier gets its answer after verification and one transaction.
// Refused webhooks are audited in aggregate (Rejections).
//
// It imports internal/fax only; carrier packages are wired in by Main as
// functions, so ingest never imports them.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store applies updates and keeps the jobs that fetch received documents.
type Store interface {
	ApplyUpdate(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	// EnqueueInbound records a received fax whose document is elsewhere,
	// listed at once with its document pending, and a job to fetch it.
	EnqueueInbound(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	ClaimInboundJobsExcept(ctx context.Context, leaseFor time.Duration, limit int, except []string) ([]*fax.InboundJob, error)
	// CompleteInbound settles the job's fax: the document stored
	// (u.Document.Key) makes it available, none unavailable.
	CompleteInbound(ctx context.Context, jobID string, u *fax.Update) (fax.ApplyResult, error)
	RetryInbound(ctx context.Context, jobID, errText string, at time.Time) error
}

// Blobs stores received documents.
type Blobs interface {
	Put(ctx context.Context, key string, b []byte) (fax.BlobInfo, error)
	Delete(ctx context.Context, key string) error
}

// Route is one carrier webhook route.
type Route struct {
	// Pattern is the ServeMux pattern, e.g. "POST /phaxio-callback".
	Pattern  string
	Provider string
	// Preverify checks what the headers and the URL can prove before the
	// body is read (nil: nothing). An error refuses the request at once.
	// Authenticated true means a credential already matched, so the body
	// is read outside the bound on unverified bodies; false leaves the
	// decision to Verify once the body is in.
	Preverify func(r *http.Request) (authenticated bool, err error)
	// MaxBody is the largest body this route accepts (default
	// Options.MaxBody): what the carrier really sends there.
	MaxBody int64
	Verify  func(r *http.Request, body []byte) error
	Parse   func(r *http.Request, body []byte) ([]fax.Update, error)
}

// Options configure an Ingest.
type Options struct {
	Store  Store
	Blobs  Blobs
	Logger *slog.Logger
	Now    func() time.Time
	// MaxBody is the largest webhook body accepted on a route that does
	// not set its own (default 20 MiB: received faxes arrive inside
	// webhooks).
	MaxBody int64
	// UnverifiedReads bounds the bodies read at once before their sender
	// is verified (default 8), UnverifiedReadsPerSource those from one
	// remote address (default 2), and UnverifiedMemory the bytes they hold
	// together (default 20 MiB). Past a bound the answer is 503 with
	// Retry-After.
	UnverifiedReads          int
	UnverifiedReadsPerSource int
	UnverifiedMemory         int64
	// BodyTimeout is how long a webhook body may take to arrive (default
	// 60s, the time Sinch gives a receiver to answer).
	BodyTimeout time.Duration
	// Resolve fills Document.Bytes of an inbound update whose document is
	// elsewhere (a file URL, a carrier API, a spool file). It runs in the
	// background, after the carrier was answered. An error with code
	// unavailable or rate_limited is retried, not_found a few times (see
	// fetchRetryable); any other ends the job.
	Resolve func(ctx context.Context, u *fax.Update) error
	// FetchSchedule is the wait before each retry of a failed fetch
	// (default 1m, 5m, 15m, 1h, 3h, 6h, 12h, 24h).
	FetchSchedule []time.Duration
	// FetchPerCarrier is how many documents are fetched at once from one
	// carrier (default 4).
	FetchPerCarrier int
	// ToPDF converts a received document to PDF and counts its pages; it
	// returns PDFs unchanged.
	ToPDF func(b []byte) (pdf []byte, pages int, err error)
	// OnRejected is told of each webhook that failed verification, with
	// metadata only (for the audit trail).
	OnRejected func(ctx context.Context, provider, route, remoteAddr, reason string)
	// WriteError writes an error response in the API's shape.
	WriteError func(w http.ResponseWriter, r *http.Request, err error)
}

// Ingest applies carrier updates.
type Ingest struct {
	opts Options
	// fetchRetry is FetchSchedule's policy: one first fetch and a retry
	// after each wait.
	fetchRetry fax.RetryPolicy
	log        *slog.Logger
	wake       chan struct{}
	// gate bounds unverified bodies; small, those announced under
	// firstBuffer.
	gate, small *gate
}

// New returns an Ingest.
func New(opts Options) *Ingest {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 20 << 20
	}
	if opts.UnverifiedReads <= 0 {
		opts.UnverifiedReads = 8
	}
	if opts.UnverifiedReadsPerSource <= 0 {
		opts.UnverifiedReadsPerSource = 2
	}
	if opts.UnverifiedMemory <= 0 {
		opts.UnverifiedMemory = 20 << 20
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = 60 * time.Second
	}
	if opts.FetchSchedule == nil {
		opts.FetchSchedule = defaultFetchSchedule()
	}
	return &Ingest{opts: opts, fetchRetry: fax.ScheduleRetry(opts.FetchSchedule, 0), log: opts.Logger, wake: make(chan struct{}, 1),
		gate:  newGate(opts.UnverifiedReads, opts.UnverifiedReadsPerSource, opts.UnverifiedMemory),
		small: newGate(smallShare*opts.UnverifiedReads, smallShare*opts.UnverifiedReadsPerSource, int64(smallShare*opts.UnverifiedReads)*firstBuffer)}
}

// Handler serves one carrier route. What the headers and URL can settle is
// settled before the body is read; a body is read within the route's limit
// and BodyTimeout, growing only as bytes arrive, and a body whose sender is
// not yet verified is read only within the bound on unverified bodies.
func (in *Ingest) Handler(rt Route) http.Handler {
	limit := rt.MaxBody
	if limit <= 0 {
		limit = in.opts.MaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authenticated := false
		if rt.Preverify != nil {
			ok, err := rt.Preverify(r)
			if err != nil {
				in.refuse(w, r, rt, err)
				return
			}
			authenticated = ok
		}
		if r.ContentLength > limit {
			in.writeError(w, r, fax.Errorf(fax.ECodeTooLarge, "webhook body is larger than %d bytes", limit))
			return
		}
		// A writer that cannot set deadlines (a test recorder) is left to
		// the server's own read timeout.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(in.opts.BodyTimeout))
		body, err := in.readVerified(w, r, rt, limit, authenticated)
		if err != nil {
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				in.writeError(w, r, fax.Errorf(fax.ECodeTooLarge, "webhook body is larger than %d bytes", limit))
			case errors.Is(err, errBusy):
				w.Header().Set("Retry-After", "5")
				in.writeError(w, r, err)
			case errors.Is(err, errRefused):
			default:
				in.writeError(w, r, fax.Errorf(fax.ECodeInvalid, "could not read the webhook body"))
			}
			return
		}
		updates, err := safeParse(rt.Parse, r, body)
		if err != nil {
			in.writeError(w, r, err)
			return
		}
		var results []fax.ApplyResult
		for i := range updates {
			u := &updates[i]
			u.Provider = rt.Provider
			res, err := in.Apply(r.Context(), u)
			if err != nil {
				in.writeError(w, r, err)
				return
			}
			results = append(results, res)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write(resultJSON(results))
	})
}

// errRefused says readVerified already answered the request.
var errRefused = errors.New("ingest: webhook refused")

// readVerified reads the body and has the route verify it. An
// unauthenticated body holds a slot of the gate, and its bytes count
// against the gate's memory, until verification is done.
func (in *Ingest) readVerified(w http.ResponseWriter, r *http.Request, rt Route, limit int64, authenticated bool) ([]byte, error) {
	rd := http.MaxBytesReader(w, r.Body, limit)
	if authenticated {
		body, err := readBody(rd, r.ContentLength, nil)
		if err != nil {
			return nil, err
		}
		return body, in.verify(w, r, rt, body)
	}
	src := sourceOf(r.RemoteAddr)
	g := in.gate
	if r.ContentLength >= 0 && r.ContentLength < firstBuffer {
		g = in.small
	}
	if !g.enter(src) {
		return nil, errBusy
	}
	body, err := readBody(rd, r.ContentLength, g)
	kept := false
	defer func() { g.leave(src, int64(cap(body)), kept) }()
	if err != nil {
		return nil, err
	}
	if err := in.verify(w, r, rt, body); err != nil {
		return nil, err
	}
	kept = true
	return body, nil
}

func (in *Ingest) verify(w http.ResponseWriter, r *http.Request, rt Route, body []byte) error {
	if err := rt.Verify(r, body); err != nil {
		in.refuse(w, r, rt, err)
		return errRefused
	}
	return nil
}

// refuse answers a webhook that failed verification with 401 and reports
// it, metadata only. A verifier that cannot decide yet (unavailable) gets
// 503 with Retry-After instead, so that the carrier retries.
func (in *Ingest) refuse(w http.ResponseWriter, r *http.Request, rt Route, err error) {
	if fax.ErrorCode(err) == fax.ECodeUnavailable {
		w.Header().Set("Retry-After", "5")
		in.writeError(w, r, err)
		return
	}
	reason := fax.ErrorMessage(err)
	// Debug: a flood of refusals must not flood the log either; OnRejected
	// (Rejections) logs them aggregated.
	in.log.Debug("carrier webhook refused", "provider", rt.Provider, "route", rt.Pattern, "remote_addr", r.RemoteAddr, "reason", reason)
	if in.opts.OnRejected != nil {
		in.opts.OnRejected(r.Context(), rt.Provider, rt.Pattern, r.RemoteAddr, reason)
	}
	if fax.ErrorCode(err) != fax.ECodeUnauthorized {
		err = fax.Errorf(fax.ECodeUnauthorized, "webhook verification failed")
	}
	in.writeError(w, r, err)
}

// firstBuffer is the most a body read allocates before bytes arrive: the
// announced Content-Length is a claim, so a buffer grows only as the body
// really comes in.
const firstBuffer = 16 << 10

// smallShare is how many more slots bodies announced under firstBuffer get
// than large ones, from a bound of their own: a status callback is read and
// verified in microseconds, but a carrier's burst from one address must not
// meet the large bodies' 2-per-source share (32 × 8 slots of at most 16 KiB
// hold 4 MiB together).
const smallShare = 32

// errBusy says the bound on unverified bodies was reached.
var errBusy = fax.Errorf(fax.ECodeUnavailable, "too many unverified webhook bodies are being read; try again shortly")

// budget accounts for the memory of reads it bounds (the gate).
type budget interface {
	// take reserves n more bytes, reporting false when that would pass the
	// bound; first is true for a read's first buffer.
	take(n int64, first bool) bool
	// discard counts n bytes that became garbage.
	discard(n int64)
}

// readBody reads a webhook body whole. The buffer starts small and doubles
// as bytes arrive, except that the step reaching the announced length is
// sized to it, so an honest body ends in a buffer of its own size. With a
// budget (nil: none) each growth is reserved first, so that what a read
// holds reserved is cap(b), and each outgrown buffer is discarded.
func readBody(rd io.Reader, announced int64, bud budget) (b []byte, err error) {
	size := int64(firstBuffer)
	if announced >= 0 && announced < size {
		size = announced + 1
	}
	grow := func(to int64) bool {
		old := int64(cap(b))
		if bud != nil && !bud.take(to-old, old == 0) {
			return false
		}
		nb := make([]byte, len(b), to)
		copy(nb, b)
		b = nb
		if bud != nil && old > 0 {
			bud.discard(old)
		}
		return true
	}
	if !grow(size) {
		return nil, errBusy
	}
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			next := 2 * int64(cap(b))
			// One byte more than announced, so that the read that finds
			// the end has room.
			if announced >= int64(len(b)) && announced < next-1 {
				next = announced + 1
			}
			if !grow(next) {
				return b, errBusy
			}
		}
	}
}

// safeParse runs a carrier parser, turning a panic (a parser bug on hostile
// input) into a 400 rather than a crash.
func safeParse(parse func(*http.Request, []byte) ([]fax.Update, error), r *http.Request, body []byte) (u []fax.Update, err error) {
	defer func() {
		if p := recover(); p != nil {
			u, err = nil, fax.Errorf(fax.ECodeInvalid, "the webhook body could not be parsed")
		}
	}()
	u, err = parse(r, body)
	if err != nil && fax.ErrorCode(err) == fax.ECodeInternal {
		err = fax.Errorf(fax.ECodeInvalid, "the webhook body could not be parsed")
	}
	return u, err
}

func resultJSON(rs []fax.ApplyResult) []byte {
	b := []byte(`{"received":true,"results":[`)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		outcome := "applied"
		switch {
		case r.Duplicate:
			outcome = "duplicate"
		case r.Unknown:
			outcome = "unknown_fax"
		case r.Stale:
			outcome = "ignored_stale"
		}
		b = append(b, `{"outcome":"`+outcome+`","fax_id":`+strconv.Quote(r.FaxID)+`}`...)
	}
	return append(b, "]}\n"...)
}

func (in *Ingest) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if in.opts.WriteError != nil {
		in.opts.WriteError(w, r, err)
		return
	}
	http.Error(w, fax.ErrorMessage(err), http.StatusBadRequest)
}

// Apply applies one update in one transaction. A received fax whose
// document came with it is stored as PDF first; one whose document is
// elsewhere is recorded at once, its document pending, with a job that
// fetches it in the background.
func (in *Ingest) Apply(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	if u.Kind == fax.UpdateInbound && u.Document != nil && u.Document.Key == "" && u.Document.Bytes == nil {
		res, err := in.opts.Store.EnqueueInbound(ctx, u)
		if err == nil {
			in.log.Info("received fax recorded; document to fetch", "provider", u.Provider, "fax_id", res.FaxID, "duplicate", res.Duplicate)
		}
		return res, err
	}
	if u.Kind == fax.UpdateInbound {
		if u.Document == nil {
			failedReception(u)
		} else if err := in.storeInbound(ctx, u); err != nil {
			return fax.ApplyResult{}, err
		}
	}
	res, err := in.opts.Store.ApplyUpdate(ctx, u)
	if err != nil {
		return res, err
	}
	if in.log.Enabled(ctx, slog.LevelInfo) {
		in.log.LogAttrs(ctx, slog.LevelInfo, "carrier update", slog.String("provider", u.Provider), slog.String("kind", string(u.Kind)),
			slog.String("fax_id", res.FaxID), slog.String("status", string(u.Status)), slog.Bool("applied", res.Applied),
			slog.Bool("duplicate", res.Duplicate), slog.Bool("unknown", res.Unknown), slog.Bool("stale", res.Stale))
	}
	return res, nil
}

// failedReception makes a received fax that came without a document (the
// carrier reports a reception that failed before any page) one that is
// recorded as such: refusing it would have the carrier retry something
// that can never succeed, and staff would never learn a fax was attempted.
// It is partial, the contract's status for an incomplete reception, with a
// failure saying what happened.
func failedReception(u *fax.Update) {
	u.Status = fax.StatusPartial
	if u.Failure == nil {
		u.Failure = &fax.Failure{}
	}
	if u.Failure.Code == "" {
		u.Failure.Code = fax.FailReception
	}
	if u.Failure.Message == "" {
		u.Failure.Message = "The reception failed before any page arrived; there is no document."
	}
}

func (in *Ingest) storeInbound(ctx context.Context, u *fax.Update) error {
	d := u.Document
	if d.Key != "" {
		return nil
	}
	pdf, pages := d.Bytes, u.Pages
	if in.opts.ToPDF != nil {
		var err error
		var n int
		if pdf, n, err = in.opts.ToPDF(d.Bytes); err != nil {
			return err
		}
		if pages == 0 {
			pages = n
		}
	}
	u.Pages = pages
	key := storedKey(u)
	info, err := in.opts.Blobs.Put(ctx, key, pdf)
	if err != nil {
		return fmt.Errorf("ingest: store document: %w", err)
	}
	u.Document = &fax.InboundDocument{Key: key, SHA256: info.SHA256, Size: info.Size}
	return nil
}

// storedKey names the blob of a received document. It derives from the
// carrier event, so a repeated webhook overwrites the same blob rather than
// leaving a second copy.
func storedKey(u *fax.Update) string {
	sum := sha256.Sum256([]byte(u.Provider + "\x00" + u.DedupeKey()))
	return fmt.Sprintf("inbound/%s/%s.pdf", u.Provider, hex.EncodeToString(sum[:16]))
}
