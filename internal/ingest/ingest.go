// Package ingest takes carrier webhooks in: for each carrier route it reads
// the body within a limit, has the carrier package verify and parse it, and
// applies the resulting updates through one path, the same path the
// simulator carrier uses. A carrier gets its answer after verification and
// one transaction.
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
	EnqueueInbound(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	ClaimInboundJobsExcept(ctx context.Context, leaseFor time.Duration, limit int, except []string) ([]*fax.InboundJob, error)
	CompleteInbound(ctx context.Context, jobID string, u *fax.Update) (fax.ApplyResult, error)
	RetryInbound(ctx context.Context, jobID, errText string, at time.Time) error
}

// Blobs stores received documents.
type Blobs interface {
	Put(ctx context.Context, key string, b []byte) (fax.BlobInfo, error)
}

// Route is one carrier webhook route.
type Route struct {
	// Pattern is the ServeMux pattern, e.g. "POST /phaxio-callback".
	Pattern  string
	Provider string
	Verify   func(r *http.Request, body []byte) error
	Parse    func(r *http.Request, body []byte) ([]fax.Update, error)
}

// Options configure an Ingest.
type Options struct {
	Store  Store
	Blobs  Blobs
	Logger *slog.Logger
	Now    func() time.Time
	// MaxBody is the largest webhook body accepted (default 40 MiB:
	// received faxes arrive inside webhooks).
	MaxBody int64
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
	log  *slog.Logger
	wake chan struct{}
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
		opts.MaxBody = 40 << 20
	}
	return &Ingest{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// Handler serves one carrier route.
func (in *Ingest) Handler(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(http.MaxBytesReader(w, r.Body, in.opts.MaxBody), r.ContentLength, in.opts.MaxBody)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				in.writeError(w, r, fax.Errorf(fax.ECodeTooLarge, "webhook body is larger than %d bytes", in.opts.MaxBody))
				return
			}
			in.writeError(w, r, fax.Errorf(fax.ECodeInvalid, "could not read the webhook body"))
			return
		}
		if err := rt.Verify(r, body); err != nil {
			reason := fax.ErrorMessage(err)
			in.log.Warn("carrier webhook refused", "provider", rt.Provider, "route", rt.Pattern, "remote_addr", r.RemoteAddr, "reason", reason)
			if in.opts.OnRejected != nil {
				in.opts.OnRejected(r.Context(), rt.Provider, rt.Pattern, r.RemoteAddr, reason)
			}
			if fax.ErrorCode(err) != fax.ECodeUnauthorized {
				err = fax.Errorf(fax.ECodeUnauthorized, "webhook verification failed")
			}
			in.writeError(w, r, err)
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

// readBody reads a webhook body whole: into a buffer of the announced
// length when there is one, so that the usual body is read without
// growing a buffer step by step.
func readBody(rd io.Reader, announced, max int64) ([]byte, error) {
	if announced <= 0 || announced > max {
		return io.ReadAll(rd)
	}
	// One byte more than announced, so that the read that finds the end
	// has room and a longer body is still read whole.
	b := make([]byte, 0, announced+1)
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
			b = append(b, 0)[:len(b)]
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
// elsewhere is recorded with a job that fetches it in the background.
func (in *Ingest) Apply(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	if u.Kind == fax.UpdateInbound && u.Document != nil && u.Document.Key == "" && u.Document.Bytes == nil {
		res, err := in.opts.Store.EnqueueInbound(ctx, u)
		if err == nil {
			in.log.Info("received fax queued for document fetch", "provider", u.Provider, "duplicate", res.Duplicate)
		}
		return res, err
	}
	if u.Kind == fax.UpdateInbound {
		if err := in.storeInbound(ctx, u); err != nil {
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

func (in *Ingest) storeInbound(ctx context.Context, u *fax.Update) error {
	if u.Document == nil {
		return fax.Errorf(fax.ECodeInvalid, "inbound fax without a document")
	}
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
	// The key derives from the carrier event, so a repeated webhook
	// overwrites the same blob rather than leaving a second copy.
	sum := sha256.Sum256([]byte(u.Provider + "\x00" + u.DedupeKey()))
	key := fmt.Sprintf("inbound/%s/%s.pdf", u.Provider, hex.EncodeToString(sum[:16]))
	info, err := in.opts.Blobs.Put(ctx, key, pdf)
	if err != nil {
		return fmt.Errorf("ingest: store document: %w", err)
	}
	u.Document = &fax.InboundDocument{Key: key, SHA256: info.SHA256, Size: info.Size}
	return nil
}
