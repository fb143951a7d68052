package postgres

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
	"github.com/jackc/pgx/v5"
)

// Carrier updates about outbound faxes (a fax's progress, by far the most
// frequent callbacks) are applied in batches: the updates waiting when a
// lane turns to work share one transaction, with one statement per table
// (set-based, through unnest) instead of several per update. On a server
// that shares its cores with the gateway, as a single machine's does, the
// server's CPU per statement bounds ingest; batching cuts both its work and
// the gateway's per callback, and the commits (each a WAL flush) with them.
//
// A batch is what is queued, never waited for: a lone callback is applied
// at once, as before. Each caller is answered after its batch committed
// (or failed: then every update of the batch failed, and the carriers'
// retries bring them again, deduplicated as ever).
//
// Updates about one fax go to one lane, in arrival order, and a batch takes
// updates of one carrier, at most one per fax (and per carrier event): a second is carried
// to the next batch, so that each applies to the fax as the one before left
// it. Between instances, and between a lane and the rest of the store, the
// rules are those of a single update: the batch locks its faxes (in id
// order, in one statement) before it reads which of its carrier events were
// seen already, so a repeat that another transaction recorded is seen as
// one.
const (
	applyLanes        = 2
	maxApplyBatch     = 64
	applyBatchTimeout = 30 * time.Second
)

type applyOp struct {
	ctx   context.Context
	u     *fax.Update
	key   string // the carrier event's dedupe key
	match string // what finds the fax: its id, or the carrier and its id
	done  chan applyAnswer
}

type applyAnswer struct {
	res fax.ApplyResult
	err error
}

// applier runs the lanes of batched updates of one Store.
type applier struct {
	s     *Store
	seed  maphash.Seed
	mu    sync.RWMutex // guards closed against sends on closed lanes
	close bool
	lanes []chan *applyOp
	wg    sync.WaitGroup
}

func newApplier(s *Store) *applier {
	a := &applier{s: s, seed: maphash.MakeSeed(), lanes: make([]chan *applyOp, applyLanes)}
	for i := range a.lanes {
		a.lanes[i] = make(chan *applyOp, maxApplyBatch)
		a.wg.Add(1)
		go a.run(a.lanes[i])
	}
	return a
}

// stop ends the lanes once the updates queued are answered (with errClosed
// when the store is closed by then).
func (a *applier) stop() {
	a.mu.Lock()
	if !a.close {
		a.close = true
		for _, l := range a.lanes {
			close(l)
		}
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// do applies u in the next batch of its lane and returns its result.
func (a *applier) do(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	op := &applyOp{ctx: ctx, u: u, key: u.DedupeKey(), done: make(chan applyAnswer, 1)}
	if u.FaxID != "" {
		op.match = "i" + u.FaxID
	} else {
		op.match = "p" + u.Provider + "\x00" + u.ProviderFaxID
	}
	a.mu.RLock()
	if a.close {
		a.mu.RUnlock()
		return fax.ApplyResult{}, errClosed
	}
	a.lanes[maphash.String(a.seed, op.match)%uint64(len(a.lanes))] <- op
	a.mu.RUnlock()
	// The answer always comes: a lane answers every update it takes, even
	// when the caller has gone, so that none is answered before its commit.
	ans := <-op.done
	return ans.res, ans.err
}

func (a *applier) run(lane chan *applyOp) {
	defer a.wg.Done()
	var next []*applyOp
	for {
		if len(next) == 0 {
			op, ok := <-lane
			if !ok {
				return
			}
			next = append(next, op)
		}
	fill:
		for len(next) < maxApplyBatch {
			select {
			case op, ok := <-lane:
				if !ok {
					break fill
				}
				next = append(next, op)
			default:
				break fill
			}
		}
		next = a.runBatch(next)
	}
}

// runBatch applies what it can of ops (in order) in one transaction and
// returns the updates carried to the next batch.
func (a *applier) runBatch(ops []*applyOp) (carry []*applyOp) {
	var batch []*applyOp
	taken := make(map[string]bool, 2*len(ops))
	for _, op := range ops {
		if err := op.ctx.Err(); err != nil {
			op.done <- applyAnswer{err: fmt.Errorf("postgres: apply: %w", err)}
			continue
		}
		// One carrier per batch (see batchLockSQL); deployments mostly
		// have one.
		k := "k" + op.key
		if taken[op.match] || taken[k] || len(batch) > 0 && op.u.Provider != batch[0].u.Provider {
			carry = append(carry, op)
			continue
		}
		taken[op.match], taken[k] = true, true
		batch = append(batch, op)
	}
	if len(batch) == 0 {
		return carry
	}
	ctx, cancel := context.WithTimeout(context.Background(), applyBatchTimeout)
	defer cancel()
	var results []fax.ApplyResult
	var late []bool
	var err error
	for attempt := 1; ; attempt++ {
		err = a.s.write(ctx, func(tx *wtx) error {
			var err error
			results, late, err = a.s.applyBatchTx(tx, batch)
			return err
		})
		// A carrier event recorded by another transaction after this one
		// looked (possible only when the fax it named changed hands in
		// between): the batch runs again and sees it.
		if err == nil || attempt == maxTxAttempts || !uniqueViolation(err, "carrier_events_pkey") {
			break
		}
	}
	var again []*applyOp
	for i, op := range batch {
		switch {
		case err != nil:
			op.done <- applyAnswer{err: fmt.Errorf("postgres: apply: %w", err)}
		case late[i]:
			again = append(again, op)
		default:
			op.done <- applyAnswer{res: results[i]}
		}
	}
	// Updates that found their fax already changed by this batch go first:
	// they arrived before those carried for their match key.
	return append(again, carry...)
}

// Matching the faxes of a batch (all of one carrier, $2): by faxgate's id
// ($1) or by the carrier's id ($3: for each the oldest outbound fax, as a
// single update matches). The routable endpoints are those of the same
// faxes. The carrier events are read after the lock, so that one recorded
// by a transaction that held a fax before this one is seen. Each lookup is
// an equality on an index's columns with an array (= ANY), which the
// planner serves from the index whatever the plan cached for the statement
// (a join with unnest may be planned as a scan of the whole table).
const (
	batchMatchedIDs = `$1::text[] || ARRAY(SELECT DISTINCT ON (provider_fax_id) id FROM faxes
		WHERE provider = $2 AND provider_fax_id = ANY($3::text[]) AND provider_fax_id <> '' AND direction = 'outbound'
		ORDER BY provider_fax_id, id)`
	batchLockSQL     = `SELECT ` + faxColumns + ` FROM faxes WHERE id = ANY(` + batchMatchedIDs + `) ORDER BY id FOR UPDATE`
	batchRoutableSQL = `SELECT ` + endpointColumns + ` FROM endpoints WHERE enabled AND NOT deleted
		AND (fax_id = '' OR fax_id = ANY(` + batchMatchedIDs + `)) ORDER BY id`
	batchSeenSQL = `SELECT event_key, fax_id FROM carrier_events WHERE provider = $1 AND event_key = ANY($2::text[])`
)

// applyBatchTx applies the updates of a batch: results[i] is the result of
// batch[i], unless late[i], when its fax was changed by an earlier update
// of the batch and it must wait for the next.
func (s *Store) applyBatchTx(tx *wtx, batch []*applyOp) (results []fax.ApplyResult, late []bool, err error) {
	now := s.now().UTC()
	provider := batch[0].u.Provider
	ids, pfids := []string{}, []string{}
	keys := make([]string, len(batch))
	for i, op := range batch {
		switch {
		case op.u.FaxID != "":
			ids = append(ids, op.u.FaxID)
		case op.u.ProviderFaxID != "":
			pfids = append(pfids, op.u.ProviderFaxID)
		}
		keys[i] = op.key
	}
	byID := make(map[string]*fax.Fax, len(batch))
	byCarrier := make(map[string]*fax.Fax, len(batch))
	tx.queue(batchLockSQL, ids, provider, pfids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			f, err := scanFax(rows)
			if err != nil {
				return err
			}
			byID[f.ID] = f
			// Rows come in id order: the first per carrier id is the oldest.
			if f.Provider == provider && f.Direction == fax.Outbound && f.ProviderFaxID != "" && byCarrier[f.ProviderFaxID] == nil {
				byCarrier[f.ProviderFaxID] = f
			}
		}
		return rows.Err()
	})
	var endpoints []*fax.Endpoint
	tx.queue(batchRoutableSQL, ids, provider, pfids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			e, err := scanEndpoint(rows)
			if err != nil {
				return err
			}
			endpoints = append(endpoints, e)
		}
		return rows.Err()
	})
	seen := make(map[string]string)
	tx.queue(batchSeenSQL, provider, keys).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k, id string
			if err := rows.Scan(&k, &id); err != nil {
				return err
			}
			seen[k] = id
		}
		return rows.Err()
	})
	if err := tx.flush(); err != nil {
		return nil, nil, err
	}

	results, late = make([]fax.ApplyResult, len(batch)), make([]bool, len(batch))
	changed := make(map[string]bool, len(batch))
	var w eventWrites
	var saves faxSaves
	var recorded carrierEvents
	var redials []func()
	for i, op := range batch {
		u := op.u
		if id, ok := seen[op.key]; ok {
			results[i] = fax.ApplyResult{Duplicate: true, FaxID: id}
			continue
		}
		var f *fax.Fax
		switch {
		case u.FaxID != "":
			f = byID[u.FaxID]
		case u.ProviderFaxID != "":
			f = byCarrier[u.ProviderFaxID]
		}
		if f != nil && changed[f.ID] {
			late[i] = true
			continue
		}
		c, err := workflow.ApplyToFaxRedial(&s.ids, f, u, now, s.redial)
		if err != nil {
			return nil, nil, err
		}
		results[i] = c.Result
		if c.Outcome == workflow.Unknown {
			// An event that matched nothing is not kept: recorded, its key
			// would turn the genuine event for that fax into a duplicate.
			continue
		}
		changed[f.ID] = true
		recorded.add(u.Provider, op.key, string(c.Outcome), c.Result.FaxID, now)
		switch {
		case !c.Save:
		case c.Outcome == workflow.Stale:
			// A stale update to save told only the carrier's id.
			tx.queue(`UPDATE faxes SET provider_fax_id = $1 WHERE id = $2`, f.ProviderFaxID, f.ID)
		default:
			saves.add(f)
			if at := c.RedialAt; at != nil {
				// After the save (which leaves a fax that is not final
				// where it was in the dispatch queue).
				redials = append(redials, func() { requeue(tx, f, *at) })
			}
			w.add(s, f, c.Events, endpoints, now)
		}
	}
	saves.queue(tx)
	for _, r := range redials {
		r()
	}
	w.queue(tx)
	recorded.queue(tx)
	return results, late, nil
}

// faxSaves collects the saves of a batch's faxes (one each), written by one
// statement: the mutable fields, and a final fax out of the dispatch queue.
type faxSaves struct {
	ids, statuses, pfids        []string
	pages, sent                 []int32
	failures, stations, callers []*string
	updated                     []int64
	completed, durations, rates []*int64
	final                       []bool
}

func (v *faxSaves) add(f *fax.Fax) {
	v.ids = append(v.ids, f.ID)
	v.statuses = append(v.statuses, string(f.Status))
	v.pfids = append(v.pfids, f.ProviderFaxID)
	v.pages = append(v.pages, int32(f.Pages))
	v.sent = append(v.sent, int32(f.PagesSent))
	var failure *string
	if s, ok := failureJSON(f.Failure).(string); ok {
		failure = &s
	}
	v.failures = append(v.failures, failure)
	v.stations = append(v.stations, nullString(f.Details.StationID))
	v.callers = append(v.callers, nullString(f.Details.CallerID))
	v.updated = append(v.updated, ms(f.UpdatedAt))
	v.completed = append(v.completed, msPtr(f.CompletedAt))
	v.durations = append(v.durations, nullInt(f.Details.DurationSeconds))
	v.rates = append(v.rates, nullInt(f.Details.BitRate))
	v.final = append(v.final, f.Status.Final())
}

func (v *faxSaves) queue(tx *wtx) {
	if len(v.ids) == 0 {
		return
	}
	tx.queue(`UPDATE faxes f SET status = v.status, provider_fax_id = v.pfid, pages = v.pages, pages_sent = v.sent,
		failure = v.failure::json, updated_at = v.updated, completed_at = v.completed, station_id = v.station, caller_id = v.caller,
		duration_seconds = v.duration, bit_rate = v.rate,
		dispatch_state = CASE WHEN v.final THEN 'done' ELSE f.dispatch_state END,
		lease_until = CASE WHEN v.final THEN NULL ELSE f.lease_until END
		FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::bigint[], $8::bigint[],
			$9::text[], $10::text[], $11::int[], $12::int[], $13::bool[])
			AS v(id, status, pfid, pages, sent, failure, updated, completed, station, caller, duration, rate, final)
		WHERE f.id = v.id`,
		v.ids, v.statuses, v.pfids, v.pages, v.sent, v.failures, v.updated, v.completed,
		v.stations, v.callers, v.durations, v.rates, v.final)
}

// carrierEvents collects the carrier events a batch applied, recorded with
// their outcome by one statement. A key recorded meanwhile by another
// transaction is a unique violation that rolls the batch back (see
// runBatch).
type carrierEvents struct {
	provs, keys, outcomes, faxIDs []string
	at                            int64
}

func (v *carrierEvents) add(provider, key, outcome, faxID string, now time.Time) {
	v.provs = append(v.provs, provider)
	v.keys = append(v.keys, key)
	v.outcomes = append(v.outcomes, outcome)
	v.faxIDs = append(v.faxIDs, faxID)
	v.at = ms(now)
}

func (v *carrierEvents) queue(tx *wtx) {
	if len(v.keys) == 0 {
		return
	}
	tx.queue(`INSERT INTO carrier_events (provider, event_key, outcome, fax_id, received_at)
		SELECT p, k, o, f, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(p, k, o, f)`,
		v.provs, v.keys, v.outcomes, v.faxIDs, v.at)
}

// eventWrites collects events and the deliveries they are routed to,
// written by one statement each.
type eventWrites struct {
	evIDs, evFaxes, evTypes, evData []string
	evAt                            []int64
	dIDs, dEndpoints, dEvents       []string
	dTypes, dFaxes                  []string
	dAt                             int64
}

// add collects events evs about f (nil for an SMS) and a pending delivery
// for every endpoint (of those given) the workflow routes each to.
func (w *eventWrites) add(s *Store, f *fax.Fax, evs []fax.Event, endpoints []*fax.Endpoint, now time.Time) {
	for i := range evs {
		ev := &evs[i]
		w.evIDs = append(w.evIDs, ev.ID)
		w.evFaxes = append(w.evFaxes, ev.FaxID)
		w.evTypes = append(w.evTypes, string(ev.Type))
		w.evAt = append(w.evAt, ms(ev.CreatedAt))
		w.evData = append(w.evData, string(ev.Data))
		for _, e := range workflow.Route(ev, f, endpoints) {
			w.dIDs = append(w.dIDs, s.ids.New(fax.PrefixDelivery, now))
			w.dEndpoints = append(w.dEndpoints, e.ID)
			w.dEvents = append(w.dEvents, ev.ID)
			w.dTypes = append(w.dTypes, string(ev.Type))
			w.dFaxes = append(w.dFaxes, ev.FaxID)
			w.dAt = ms(now)
		}
	}
}

// queue queues the writes collected. Events keep their order (a fax's
// timeline is ordered by the sequence its inserts take).
func (w *eventWrites) queue(tx *wtx) {
	if len(w.evIDs) > 0 {
		tx.queue(`INSERT INTO events (id, fax_id, type, created_at, data)
			SELECT id, fax_id, type, at, data::json FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])
				WITH ORDINALITY AS v(id, fax_id, type, at, data, n) ORDER BY n`,
			w.evIDs, w.evFaxes, w.evTypes, w.evAt, w.evData)
	}
	if len(w.dIDs) > 0 {
		tx.queue(`INSERT INTO deliveries (id, endpoint_id, event_id, event_type, fax_id, status, attempt_count, next_attempt_at, created_at, updated_at)
			SELECT id, endpoint_id, event_id, event_type, fax_id, 'pending', 0, $6, $6, $6
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS v(id, endpoint_id, event_id, event_type, fax_id)
			ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
			w.dIDs, w.dEndpoints, w.dEvents, w.dTypes, w.dFaxes, w.dAt)
		tx.wake |= wakeDelivery
	}
}
