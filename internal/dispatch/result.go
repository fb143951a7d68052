// What happens after a send whose outcome is unknown, and to faxes handed
// over whose result does not come.

package dispatch

import (
	"context"
	"log/slog"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// resolution is what asking the carrier about a fax showed.
type resolution int

const (
	unknown resolution = iota // the carrier cannot be asked or did not answer clearly
	present                   // the carrier has it
	absent                    // the carrier said, FindEmpty times, spaced apart, that it has none
)

// resolve asks the carrier whether it has a fax whose send may have
// reached it. The first question waits FindSettle, since a carrier may
// record a request only as it ends; an empty answer counts only when
// FindEmpty of them in a row, FindSpacing apart, agree.
func (d *Dispatcher) resolve(ctx context.Context, log *slog.Logger, sender Sender, f *fax.Fax) (string, resolution) {
	r, ok := sender.(Resumer)
	if !ok {
		return "", unknown
	}
	empty := 0
	wait := d.opts.FindSettle
	for range d.opts.FindEmpty + 2 {
		if !sleep(ctx, wait) {
			return "", unknown
		}
		wait = d.opts.FindSpacing
		id, found, err := r.Find(ctx, f)
		switch {
		case err != nil:
			empty = 0
			log.Warn("could not learn whether the carrier has the fax", "err", err)
		case found:
			return id, present
		default:
			empty++
			if empty >= d.opts.FindEmpty {
				return "", absent
			}
		}
	}
	return "", unknown
}

// sleep waits d or until ctx ends, reporting whether the wait was whole.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// holdUnconfirmed records that the carrier may have the fax: it is never
// sent again; the carrier's callback settles it, or the result checks do.
func (d *Dispatcher) holdUnconfirmed(ctx context.Context, log *slog.Logger, f *fax.Fax) {
	c := d.carrier(f.Provider)
	log.Warn("the carrier may have the fax; held as not confirmed, never sent again", "result_timeout", c.ResultTimeout.String())
	if err := d.store.MarkHandedAttempt(ctx, f.ID, len(f.Attempts), "", d.opts.Now().Add(min(c.CheckAfter, c.ResultTimeout))); err != nil {
		log.Error("hold as not confirmed", "err", err)
	}
}

// check asks the carrier for the result of a handed fax (or, for one held
// as not confirmed, whether it has it), and ends it with not_confirmed once
// its result timeout has passed.
func (d *Dispatcher) check(ctx context.Context, log *slog.Logger, j *fax.DispatchJob) {
	f := j.Fax
	c := d.carrier(f.Provider)
	sender, ok := d.opts.Senders[f.Provider]
	if ok && f.ProviderFaxID == "" {
		if r, ok := sender.(Resumer); ok {
			if id, found, err := r.Find(ctx, f); err == nil && found && id != "" {
				log.Info("the carrier has the fax held as not confirmed")
				f.ProviderFaxID = id
				d.handed(ctx, log, f, id)
			} else if err != nil {
				log.Warn("could not learn whether the carrier has the fax", "err", err)
			}
		}
	}
	if ch, ok := sender.(Checker); ok && f.ProviderFaxID != "" {
		u, err := ch.CheckResult(ctx, f)
		switch {
		case err != nil:
			log.Warn("could not ask the carrier for the fax's result", "err", err)
		case u != nil && d.opts.ApplyFunc != nil:
			if err := d.opts.ApplyFunc(ctx, u); err != nil {
				log.Error("record the carrier's result", "err", err)
			} else if u.Kind == fax.UpdateStatus && u.Status.Final() {
				log.Info("result learned from the carrier", "status", u.Status)
				return
			}
		}
	}
	now := d.opts.Now()
	deadline := j.HandedAt.Add(c.ResultTimeout)
	if !now.Before(deadline) {
		msg := "faxgate could not confirm with " + carrierName(f.Provider) + " whether this fax was sent; check " + carrierName(f.Provider) + " before sending it again"
		if f.ProviderFaxID != "" {
			msg = carrierName(f.Provider) + " took this fax but reported no result within " + c.ResultTimeout.String() + "; check " + carrierName(f.Provider) + " before sending it again"
		}
		log.Warn("no result within the result timeout; failed as not confirmed", "result_timeout", c.ResultTimeout.String())
		d.fail(ctx, log, f.ID, &fax.Failure{Code: fax.FailNotConfirmed, Message: msg})
		return
	}
	next := now.Add(c.CheckEvery)
	if next.After(deadline) {
		next = deadline
	}
	if err := d.store.ScheduleCheck(ctx, f.ID, next); err != nil {
		log.Error("schedule result check", "err", err)
	}
}

// carrierName is how users know a carrier.
func carrierName(p string) string {
	switch p {
	case "phaxio":
		return "Phaxio"
	case "sinch":
		return "Sinch"
	case "gofax":
		return "GoFax"
	case "asterisk":
		return "Asterisk"
	}
	return "the carrier"
}
