package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Bounds on what Rejections holds between flushes, so that refusals from
// many sources or with many reasons cost a fixed amount of memory.
const (
	maxRejectSources = 1024 // distinct (carrier, route, source) held; the rest share one row
	maxRejectReasons = 8    // distinct reasons kept per row; the rest are counted as other
	otherSources     = "(other sources)"
)

// Rejections aggregates refused carrier webhooks into one audit row per
// carrier, route and source per interval, so that a flood of refused
// requests writes a handful of rows instead of one each: the audit trail
// is kept for a year and shares the writer with real ingest. Each refusal
// is still counted by the metrics middleware.
type Rejections struct {
	record   func(ctx context.Context, e *fax.AuditEntry) error
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	pending map[rejectKey]*rejectCount
}

// RejectionsOptions configure Rejections.
type RejectionsOptions struct {
	// Record writes one audit row (required).
	Record func(ctx context.Context, e *fax.AuditEntry) error
	// Interval is how often rows are written (default 1m).
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// rejectKey is one audit row's identity: who was refused (actor), as what
// action, on which route, from where.
type rejectKey struct{ actor, action, route, source string }

type rejectCount struct {
	n           int
	first, last time.Time
	reasons     map[string]int
	other       int
}

// NewRejections returns an empty Rejections.
func NewRejections(opts RejectionsOptions) *Rejections {
	if opts.Interval <= 0 {
		opts.Interval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Rejections{record: opts.Record, interval: opts.Interval, now: opts.Now, log: opts.Logger, pending: map[rejectKey]*rejectCount{}}
}

// Add counts one refused webhook; it has Options.OnRejected's signature.
func (r *Rejections) Add(ctx context.Context, provider, route, remoteAddr, reason string) {
	r.AddRefusal(ctx, "carrier:"+provider, "webhook.rejected", route, remoteAddr, reason)
}

// AddRefusal counts one refused request of any kind, written as action by
// actor: the console's failed sign-ins are aggregated the same way.
func (r *Rejections) AddRefusal(_ context.Context, actor, action, route, remoteAddr, reason string) {
	now := r.now().UTC()
	k := rejectKey{actor: actor, action: action, route: route, source: sourceOf(remoteAddr)}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.pending[k]
	if c == nil {
		if len(r.pending) >= maxRejectSources {
			k.source = otherSources
			c = r.pending[k]
		}
		if c == nil {
			c = &rejectCount{first: now, reasons: map[string]int{}}
			r.pending[k] = c
		}
	}
	c.n++
	c.last = now
	if _, ok := c.reasons[reason]; ok || len(c.reasons) < maxRejectReasons {
		c.reasons[reason]++
	} else {
		c.other++
	}
}

// Run flushes every interval until ctx ends, then flushes once more.
func (r *Rejections) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.Flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			r.Flush(ctx)
		}
	}
}

// Flush writes one audit row for each carrier, route and source with
// refusals since the last flush. A row that cannot be written is logged
// and dropped: the metric still counted its refusals.
func (r *Rejections) Flush(ctx context.Context) {
	r.mu.Lock()
	pending := r.pending
	r.pending = map[rejectKey]*rejectCount{}
	r.mu.Unlock()
	keys := make([]rejectKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.actor+a.action+a.route+a.source < b.actor+b.action+b.route+b.source
	})
	for _, k := range keys {
		c := pending[k]
		r.log.Warn("requests refused", "actor", k.actor, "action", k.action, "route", k.route, "remote_addr", k.source, "count", c.n)
		e := &fax.AuditEntry{At: c.last, Actor: k.actor, Action: k.action, TargetType: "route",
			TargetID: k.route, Outcome: "unauthorized", RemoteAddr: k.source, Detail: c.detail()}
		if err := r.record(ctx, e); err != nil {
			r.log.Error("audit refused requests", "actor", k.actor, "route", k.route, "count", c.n, "err", err)
		}
	}
}

// detail says how many were refused, over what time and why, most
// frequent reason first.
func (c *rejectCount) detail() string {
	reasons := make([]string, 0, len(c.reasons))
	for s := range c.reasons {
		reasons = append(reasons, s)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if c.reasons[reasons[i]] != c.reasons[reasons[j]] {
			return c.reasons[reasons[i]] > c.reasons[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d refused from %s to %s:", c.n, c.first.Format(time.RFC3339), c.last.Format(time.RFC3339))
	for i, s := range reasons {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s (%d)", s, c.reasons[s])
	}
	if c.other > 0 {
		fmt.Fprintf(&b, "; other reasons (%d)", c.other)
	}
	return b.String()
}
