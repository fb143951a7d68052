package ingest

import (
	"context"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// defaultFetchSchedule spreads fetch retries over about two days.
func defaultFetchSchedule() []time.Duration {
	return []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
}

// Notify wakes the fetcher after a job was queued.
func (in *Ingest) Notify() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// RunFetcher fetches received documents until ctx ends.
func (in *Ingest) RunFetcher(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		n, err := in.FetchOnce(ctx)
		if err != nil && ctx.Err() == nil {
			in.log.Error("fetch received documents", "err", err)
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-in.wake:
		case <-t.C:
		}
	}
}

// FetchOnce claims due fetch jobs and runs them, returning how many.
func (in *Ingest) FetchOnce(ctx context.Context) (int, error) {
	jobs, err := in.opts.Store.ClaimInboundJobs(ctx, 5*time.Minute, 4)
	if err != nil {
		return 0, err
	}
	for _, j := range jobs {
		in.fetch(ctx, j)
	}
	return len(jobs), nil
}

func (in *Ingest) fetch(ctx context.Context, j *fax.InboundJob) {
	u := j.Update
	log := in.log.With("provider", u.Provider, "job_id", j.ID, "attempt", j.Attempts+1)
	err := in.resolveAndStore(ctx, &u)
	if err == nil {
		res, err := in.opts.Store.CompleteInbound(ctx, j.ID, &u)
		if err != nil {
			log.Error("record received fax", "err", err)
			return
		}
		log.Info("received fax stored", "fax_id", res.FaxID, "pages", u.Pages)
		return
	}
	schedule := in.opts.FetchSchedule
	if schedule == nil {
		schedule = defaultFetchSchedule()
	}
	if fax.ErrorCode(err) == fax.ECodeUnavailable && j.Attempts < len(schedule) {
		at := in.opts.Now().Add(schedule[j.Attempts])
		log.Warn("received document not fetched; will retry", "err", fax.ErrorMessage(err), "retry_at", at)
		if rerr := in.opts.Store.RetryInbound(ctx, j.ID, fax.ErrorMessage(err), at); rerr != nil {
			log.Error("reschedule fetch", "err", rerr)
		}
		return
	}
	// Give up, but never lose the reception: record it as partial, with
	// why the document is missing.
	log.Warn("received document could not be fetched; recording the fax without it", "err", fax.ErrorMessage(err))
	u = j.Update
	u.Status, u.Document = fax.StatusPartial, nil
	u.Failure = &fax.Failure{Code: "document_unavailable", Message: "the received document could not be fetched: " + fax.ErrorMessage(err)}
	if _, err := in.opts.Store.CompleteInbound(ctx, j.ID, &u); err != nil {
		log.Error("record received fax", "err", err)
	}
}

func (in *Ingest) resolveAndStore(ctx context.Context, u *fax.Update) error {
	if in.opts.Resolve == nil {
		return fax.Errorf(fax.ECodeUnprocessable, "this gateway cannot fetch received documents")
	}
	if err := in.opts.Resolve(ctx, u); err != nil {
		return err
	}
	if u.Document == nil || u.Document.Bytes == nil {
		return fax.Errorf(fax.ECodeUnprocessable, "the carrier sent no document")
	}
	return in.storeInbound(ctx, u)
}
