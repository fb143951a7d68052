package sqlite

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/workflow"
)

// The writer is the one thing every carrier update waits for in turn, so
// ApplyUpdate does what it can before its turn, on the caller's goroutine
// and in parallel with other callers: it takes the fax as the writer last
// wrote it (faxCache), applies the update and renders the events. In its
// turn the writer only checks that the row is still exactly that, in every
// column, and writes the result. If anything differs (the cache is only a
// hint: another operation changed the row, or the fax is not in it), the
// writer does the whole update itself as it would have without a plan.
// Either way the outcome is what applying the update to the row as it
// stands at commit gives.

// applyPlan is an update worked out ahead of the writer.
type applyPlan struct {
	rowid int64
	guard []any // the row's guardColumns as the plan assumes them
	after fax.Fax
	// narrow: only the page counts and the time moved (a page or a
	// retry); newID: the carrier's id changed; newDetails: the call's
	// details did (a final callback that tells the line speed).
	narrow, newID, newDetails bool
	events                    []fax.Event
	ids                       []string // the events' ids, as the result lists them
	now                       time.Time
}

// faxCache holds, for faxes the writer recently updated, the row as
// written: the starting point of the next update's plan. It is bounded and
// forgets faxes that became final.
type faxCache struct {
	mu   sync.Mutex
	rows map[string]cachedFax
}

type cachedFax struct {
	rowid int64
	f     fax.Fax
	// provider is f.Provider as a guard argument, boxed once per fax
	// rather than once per update.
	provider any
}

// maxCachedFaxes bounds the cache: about the faxes in flight at once.
const maxCachedFaxes = 4096

func (c *faxCache) get(id string) (cachedFax, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.rows[id]
	return r, ok
}

// put records f as written at rowid; a final fax is forgotten.
func (c *faxCache) put(rowid int64, f *fax.Fax) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.Status.Final() {
		delete(c.rows, f.ID)
		return
	}
	var provider any
	if old, ok := c.rows[f.ID]; ok && old.f.Provider == f.Provider {
		provider = old.provider
	} else {
		provider = f.Provider
	}
	if c.rows == nil || len(c.rows) >= maxCachedFaxes {
		c.rows = make(map[string]cachedFax, 256)
	}
	c.rows[f.ID] = cachedFax{rowid: rowid, f: *f, provider: provider}
}

// planApply works out an update to an outbound fax ahead of the writer. It
// returns nil when there is nothing to plan (a fax not in the cache, one
// the update may not touch, a stale update): the writer then does it all.
func (s *Store) planApply(u *fax.Update) *applyPlan {
	if u.FaxID == "" {
		return nil
	}
	c, ok := s.faxes.get(u.FaxID)
	if !ok || !workflow.Matches(&c.f, u) {
		return nil
	}
	p := &applyPlan{rowid: c.rowid, guard: guardValuesOf(&c.f, c.provider), after: c.f}
	p.now = s.now().UTC()
	ch, err := workflow.ApplyToFaxRedial(&s.ids, &p.after, u, p.now, s.redial)
	// A redial puts the fax back in the dispatch queue, which the planned
	// statements do not write: the writer does it all.
	if err != nil || ch.Outcome != workflow.Applied || ch.RedialAt != nil {
		return nil
	}
	p.events, p.ids = ch.Events, ch.Result.Events
	f, before := &p.after, &c.f
	p.newID = f.ProviderFaxID != before.ProviderFaxID
	p.newDetails = f.Details != before.Details
	p.narrow = f.Status == before.Status && !p.newID && !p.newDetails && f.Failure == before.Failure && f.CompletedAt == before.CompletedAt
	return p
}

// guardColumns are the faxes columns a plan checks are unchanged: every
// column of faxColumns that a statement of this package updates (the
// others are written once, by the INSERT that makes the row), and the id,
// since a deleted row's rowid may be given to a new one. Checking only
// these is checking the whole row; TestGuardColumns holds every UPDATE
// of faxes in the package to that.
const guardColumns = `id, status, provider_fax_id, pages, pages_sent, failure, document_purged, updated_at, completed_at,
	station_id, caller_id, duration_seconds, bit_rate, provider, attempts`

// guardValues returns what the guardColumns of f's row hold, in order, in
// the forms the store writes them.
func guardValues(f *fax.Fax) []any {
	return guardValuesOf(f, f.Provider)
}

// guardValuesOf is guardValues with f.Provider given as a guard argument
// already.
func guardValuesOf(f *fax.Fax, provider any) []any {
	purged := 0
	if f.DocumentPurged {
		purged = 1
	}
	var completed sql.NullInt64
	if f.CompletedAt != nil {
		completed = sql.NullInt64{Int64: ms(*f.CompletedAt), Valid: true}
	}
	return []any{f.ID, string(f.Status), f.ProviderFaxID, f.Pages, f.PagesSent, failureJSON(f.Failure), purged,
		ms(f.UpdatedAt), completed, nullString(f.Details.StationID), nullString(f.Details.CallerID),
		nullInt(f.Details.DurationSeconds), nullInt(f.Details.BitRate), provider, attemptsJSON(f.Attempts)}
}

// rowUnchanged is the condition that a faxes row, found by rowid, still
// holds in its guardColumns what guardValues returned.
var rowUnchanged = func() string {
	cols := strings.Split(guardColumns, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c) + " IS ?"
	}
	return "rowid = ? AND " + strings.Join(cols, " AND ")
}()

// The statements applyPlanned writes a planned update with: a page, and a
// change of status (index: 1 the fax became final, 2 the carrier's id
// changed, 4 the call's details changed), each guarded by rowUnchanged.
// Built once: they are also the keys of the writer's prepared statements.
var (
	planPageSQL   = `UPDATE faxes SET pages = ?, pages_sent = ?, updated_at = ? WHERE ` + rowUnchanged
	planStatusSQL = func() (q [8]string) {
		for v := range q {
			set := "status = ?, pages = ?, pages_sent = ?, failure = ?, updated_at = ?, completed_at = ?"
			if v&2 != 0 {
				set = "provider_fax_id = ?, " + set
			}
			if v&4 != 0 {
				set += ", station_id = ?, caller_id = ?, duration_seconds = ?, bit_rate = ?"
			}
			if v&1 != 0 {
				set += ", dispatch_state = 'done', lease_until = NULL"
			}
			q[v] = "UPDATE faxes SET " + set + " WHERE " + rowUnchanged
		}
		return q
	}()
)

// applyPlanned writes a planned update if the fax is still as planned; ok
// is false, with nothing written, when it is not.
func (s *Store) applyPlanned(tx *wtx, p *applyPlan) (res fax.ApplyResult, ok bool, err error) {
	f := &p.after
	args := make([]any, 0, 12+1+len(p.guard))
	var q string
	switch {
	case p.narrow:
		// A page or a retry: only the counts and the time move.
		q = planPageSQL
		args = append(args, f.Pages, f.PagesSent, ms(f.UpdatedAt))
	default:
		// A column in the SET clause rewrites every index on it, even to
		// the same value: the carrier's id is set only when it changed.
		v := 0
		if f.Status.Final() {
			v |= 1
		}
		if p.newID {
			v |= 2
			args = append(args, f.ProviderFaxID)
		}
		args = append(args, f.Status, f.Pages, f.PagesSent, failureJSON(f.Failure), ms(f.UpdatedAt), msPtr(f.CompletedAt))
		if p.newDetails {
			v |= 4
			args = append(args, nullString(f.Details.StationID), nullString(f.Details.CallerID),
				nullInt(f.Details.DurationSeconds), nullInt(f.Details.BitRate))
		}
		q = planStatusSQL[v]
	}
	args = append(args, p.rowid)
	args = append(args, p.guard...)
	r, err := tx.Exec(q, args...)
	if err != nil {
		return res, false, fmt.Errorf("sqlite: save fax: %w", err)
	}
	if n, _ := r.RowsAffected(); n != 1 {
		return res, false, nil
	}
	if err := s.insertEvents(tx, f, p.events, p.now); err != nil {
		return res, false, err
	}
	s.faxes.put(p.rowid, f)
	return fax.ApplyResult{FaxID: f.ID, Applied: true, Events: p.ids}, true, nil
}
