// Package retention deletes faxes' documents once they are older than the
// operator's retention period (FAXGATE_RETENTION_DAYS, per direction),
// keeping the faxes' metadata. It runs periodically, on one instance at a
// time when several share a database.
//
// It imports internal/fax only.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Store is what retention needs of the store.
type Store interface {
	FindExpiredDocuments(ctx context.Context, direction fax.Direction, before time.Time, limit int) ([]*fax.Fax, error)
	MarkDocumentPurged(ctx context.Context, id string) error
	PurgeAudit(ctx context.Context, before time.Time) (int, error)
}

// Blobs deletes documents.
type Blobs interface {
	Delete(ctx context.Context, key string) error
}

// Options configure retention; zero durations keep documents forever.
type Options struct {
	Inbound  time.Duration // age after completion at which received documents go
	Outbound time.Duration // the same for sent documents
	Audit    time.Duration // age at which audit entries go (0 keeps them)
	Interval time.Duration // how often to look (default 1h)
	Now      func() time.Time
	Logger   *slog.Logger
	// SweepFunc, when set, removes what crashes left in document storage
	// (temporary files, documents no fax refers to); it runs every pass.
	SweepFunc func(ctx context.Context) (int, error)
	// LeadFunc, when set, lets only one instance run a pass at a time: it
	// returns ok=false when another instance holds the lead.
	LeadFunc func(ctx context.Context, name string) (release func(), ok bool, err error)
}

// Retention is the periodic job.
type Retention struct {
	store Store
	blobs Blobs
	opts  Options
}

// New returns the job.
func New(store Store, blobs Blobs, opts Options) *Retention {
	if opts.Interval <= 0 {
		opts.Interval = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Retention{store: store, blobs: blobs, opts: opts}
}

// Enabled reports whether any direction has a retention period.
func (r *Retention) Enabled() bool {
	return r.opts.Inbound > 0 || r.opts.Outbound > 0 || r.opts.Audit > 0 || r.opts.SweepFunc != nil
}

// Run runs a pass at once and then every Interval until ctx ends.
func (r *Retention) Run(ctx context.Context) {
	if !r.Enabled() {
		return
	}
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		if n, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.opts.Logger.Error("retention pass", "err", err, "purged", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce deletes every expired document and returns how many. A document
// is deleted before the fax is marked, so a crash in between only means the
// next pass deletes a missing blob (not an error) and marks the fax.
func (r *Retention) RunOnce(ctx context.Context) (int, error) {
	if r.opts.LeadFunc != nil {
		release, ok, err := r.opts.LeadFunc(ctx, "retention")
		if err != nil || !ok {
			return 0, err
		}
		defer release()
	}
	total := 0
	for dir, age := range map[fax.Direction]time.Duration{fax.Inbound: r.opts.Inbound, fax.Outbound: r.opts.Outbound} {
		if age <= 0 {
			continue
		}
		before := r.opts.Now().Add(-age)
		for {
			faxes, err := r.store.FindExpiredDocuments(ctx, dir, before, 100)
			if err != nil {
				return total, err
			}
			for _, f := range faxes {
				if err := r.blobs.Delete(ctx, f.DocumentKey); err != nil {
					return total, err
				}
				if err := r.store.MarkDocumentPurged(ctx, f.ID); err != nil {
					return total, err
				}
				total++
			}
			if len(faxes) < 100 {
				break
			}
		}
	}
	if total > 0 {
		r.opts.Logger.Info("retention deleted documents", "count", total)
	}
	if r.opts.SweepFunc != nil {
		n, err := r.opts.SweepFunc(ctx)
		if err != nil {
			return total, err
		}
		if n > 0 {
			r.opts.Logger.Info("removed documents no fax refers to", "count", n)
		}
	}
	if r.opts.Audit > 0 {
		n, err := r.store.PurgeAudit(ctx, r.opts.Now().Add(-r.opts.Audit))
		if err != nil {
			return total, err
		}
		if n > 0 {
			r.opts.Logger.Info("retention deleted audit entries", "count", n)
		}
	}
	return total, nil
}
