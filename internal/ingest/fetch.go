package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// fetchLease is how long a claimed fetch job is held: longer than a fetch
// may take (the carrier client's timeout), so that no job is claimed twice.
const fetchLease = 5 * time.Minute

// notReadyTries is how many times a fetch is tried while the carrier says
// it has no such document (a 404, or an answer that is not a document): a
// file that is merely late appears within minutes, so after the first
// entries of the schedule (about 80 minutes by default) the fetch gives up.
const notReadyTries = 5

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

// RunFetcher fetches received documents until ctx ends, several at once but
// at most FetchPerCarrier per carrier, so a carrier whose downloads hang
// never delays another carrier's. It returns after the fetches under way
// have ended.
func (in *Ingest) RunFetcher(ctx context.Context) error {
	per := in.opts.FetchPerCarrier
	if per <= 0 {
		per = 4
	}
	p := &fetchPool{per: per, running: map[string]int{}, freed: make(chan struct{}, 1)}
	defer p.wg.Wait()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		except, limit := p.room()
		jobs, err := in.opts.Store.ClaimInboundJobsExcept(ctx, fetchLease, limit, except)
		if err != nil && ctx.Err() == nil {
			in.log.Error("fetch received documents", "err", err)
		}
		for _, j := range jobs {
			p.start(j.Update.Provider, func() { in.fetch(ctx, j) })
		}
		if len(jobs) == limit {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-in.wake:
		case <-p.freed:
		case <-t.C:
		}
	}
}

// fetchPool counts the fetches running per carrier.
type fetchPool struct {
	per     int
	mu      sync.Mutex
	running map[string]int
	wg      sync.WaitGroup
	freed   chan struct{}
}

// room returns the carriers whose slots are full and how many jobs the
// next claim may take: no more than any other carrier has free, since the
// claim may return jobs of one carrier only.
func (p *fetchPool) room() (except []string, limit int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	limit = p.per
	for name, n := range p.running {
		if n >= p.per {
			except = append(except, name)
			continue
		}
		limit = min(limit, p.per-n)
	}
	return except, limit
}

// start runs fetch in its own goroutine, counted against provider.
func (p *fetchPool) start(provider string, fetch func()) {
	p.mu.Lock()
	p.running[provider]++
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer p.done(provider)
		fetch()
	}()
}

func (p *fetchPool) done(provider string) {
	p.mu.Lock()
	if p.running[provider]--; p.running[provider] <= 0 {
		delete(p.running, provider)
	}
	p.mu.Unlock()
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

func (in *Ingest) fetch(ctx context.Context, j *fax.InboundJob) {
	u := j.Update
	log := in.log.With("provider", u.Provider, "job_id", j.ID, "attempt", j.Attempts+1)
	err := in.resolveAndStore(ctx, &u)
	if err == nil {
		res, err := in.opts.Store.CompleteInbound(ctx, j.ID, &u)
		if err != nil && fax.ErrorCode(err) != fax.ECodeNotFound {
			log.Error("record received fax", "err", err)
			return
		}
		if err != nil || res.Stale {
			// The fax (its job gone with it) or its document was deleted
			// while it was fetched: what was fetched is not kept.
			if err := in.opts.Blobs.Delete(ctx, u.Document.Key); err != nil {
				log.Warn("delete a document fetched after it was deleted", "fax_id", res.FaxID, "err", err)
			}
			log.Info("received document fetched after it was deleted; not kept", "fax_id", res.FaxID)
			return
		}
		log.Info("received fax stored", "fax_id", res.FaxID, "pages", u.Pages)
		return
	}
	if ctx.Err() != nil {
		// Shutting down: the lease runs out and the job is tried again.
		return
	}
	if wait, ok := in.fetchRetry.Next(j.Attempts+1, 0); ok && fetchRetryable(err, j.Attempts) {
		at := in.opts.Now().Add(wait)
		log.Warn("received document not fetched; will retry", "err", err, "retry_at", at)
		if rerr := in.opts.Store.RetryInbound(ctx, j.ID, fax.ErrorMessage(err), at); rerr != nil {
			log.Error("reschedule fetch", "err", rerr)
		}
		return
	}
	// Give up, but never lose the reception: the fax, listed since its
	// webhook, becomes partial with its document unavailable and why.
	// Rejected credentials need the operator.
	level := log.Warn
	if fax.ErrorCode(err) == fax.ECodeUnauthorized {
		level = log.Error
	}
	level("received document could not be fetched; the fax stays without it", "err", err)
	u = j.Update
	u.Status, u.Document = fax.StatusPartial, nil
	u.Failure = &fax.Failure{Code: "document_unavailable", Message: "the received document could not be fetched: " + fax.ErrorMessage(err)}
	if _, err := in.opts.Store.CompleteInbound(ctx, j.ID, &u); err != nil {
		log.Error("record received fax", "err", err)
	}
}

// fetchRetryable reports whether a failed fetch, tried attempts times
// before, may succeed later: a carrier that is down or rate limiting
// (unavailable, rate_limited) is retried on the whole schedule, one that
// has no such document yet (not_found) for the first notReadyTries tries.
// Anything else (rejected credentials, a document too large, a refused
// address) cannot change by waiting.
func fetchRetryable(err error, attempts int) bool {
	switch fax.ErrorCode(err) {
	case fax.ECodeUnavailable, fax.ECodeRateLimited:
		return true
	case fax.ECodeNotFound:
		return attempts+1 < notReadyTries
	}
	return false
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
