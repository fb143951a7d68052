package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// handedFax creates an outbound fax handed to the simulator as carrierID.
func handedFax(t *testing.T, s *Store, carrierID string) *fax.Fax {
	t.Helper()
	ctx := context.Background()
	f, _, err := s.CreateFax(ctx, &fax.Fax{To: "+15551230000", Provider: "simulator", Pages: 3}, fax.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkHanded(ctx, f.ID, carrierID, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return f
}

func pageOf(f *fax.Fax, carrierID string, byID bool, page int) *fax.Update {
	u := &fax.Update{Provider: "simulator", Kind: fax.UpdatePage, ProviderFaxID: carrierID, Page: page, Pages: 3,
		EventKey: carrierID + ":page:" + strconv.Itoa(page)}
	if byID {
		u.FaxID = f.ID
	}
	return u
}

func newOp(u *fax.Update) *applyOp {
	op := &applyOp{ctx: context.Background(), u: u, key: u.DedupeKey(), done: make(chan applyAnswer, 1)}
	if u.FaxID != "" {
		op.match = "i" + u.FaxID
	} else {
		op.match = "p" + u.Provider + "\x00" + u.ProviderFaxID
	}
	return op
}

// A batch takes one update per fax: a second one about the same fax, found
// by another id than the first (so the lane could not tell), and a repeat of
// a carrier event in the same batch are carried to the next batch, where they
// apply to the fax as the first left it and are seen as a repeat.
func TestApplyBatchOneUpdatePerFax(t *testing.T) {
	s := openListStore(t)
	ctx := context.Background()
	a, b := handedFax(t, s, "job-a"), handedFax(t, s, "job-b")
	ops := []*applyOp{
		newOp(pageOf(a, "job-a", true, 1)),
		newOp(pageOf(a, "job-a", false, 2)), // same fax, by the carrier's id
		newOp(pageOf(a, "job-a", true, 1)),  // the same carrier event again
		newOp(pageOf(b, "job-b", false, 1)),
		newOp(&fax.Update{Provider: "simulator", Kind: fax.UpdatePage, ProviderFaxID: "job-none", Page: 1}),
	}
	carry := s.applier.runBatch(ops)
	if len(carry) != 2 || carry[0] != ops[1] || carry[1] != ops[2] {
		t.Fatalf("carried %d updates, want the second about fax a and the repeat, in order", len(carry))
	}
	for i, want := range []string{"applied", "", "", "applied", "unknown"} {
		if want == "" {
			continue
		}
		ans := <-ops[i].done
		if ans.err != nil || outcome(ans.res) != want {
			t.Errorf("update %d: got %+v, %v; want %s", i, ans.res, ans.err, want)
		}
	}
	if rest := s.applier.runBatch(carry); len(rest) != 0 {
		t.Fatalf("carried %d updates again", len(rest))
	}
	if ans := <-ops[1].done; ans.err != nil || !ans.res.Applied || ans.res.FaxID != a.ID {
		t.Errorf("page 2 of a: got %+v, %v; want applied", ans.res, ans.err)
	}
	if ans := <-ops[2].done; ans.err != nil || !ans.res.Duplicate || ans.res.FaxID != a.ID {
		t.Errorf("repeat of page 1 of a: got %+v, %v; want a duplicate naming the fax", ans.res, ans.err)
	}
	got, err := s.FindFaxByID(ctx, a.ID)
	if err != nil || got.PagesSent != 2 || got.Status != fax.StatusSending {
		t.Fatalf("fax a: got %+v, %v; want sending with 2 pages sent", got, err)
	}
	// The event that matched nothing is not recorded; the others are, once.
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM carrier_events`).Scan(&n); err != nil || n != 3 {
		t.Errorf("carrier events recorded: %d, %v; want 3", n, err)
	}
}

func outcome(r fax.ApplyResult) string {
	switch {
	case r.Applied:
		return "applied"
	case r.Stale:
		return "stale"
	case r.Unknown:
		return "unknown"
	case r.Duplicate:
		return "duplicate"
	}
	return "?"
}

// Many callbacks at once, each delivered twice, about many faxes, found
// by either id: each carrier event applies once (the other delivery is a
// duplicate), every fax ends sent, and the events and deliveries recorded
// are exactly those the applied updates reported.
func TestApplyBatchConcurrentCallbacksOnce(t *testing.T) {
	s := openListStore(t)
	ctx := context.Background()
	if _, err := s.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://a.example/hook", Format: fax.FormatJSON,
		APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", Inflight: true}); err != nil {
		t.Fatal(err)
	}
	const faxes = 40
	type call struct {
		f   *fax.Fax
		u   fax.Update
		res fax.ApplyResult
		err error
	}
	var calls []*call
	all := make([]*fax.Fax, faxes)
	for i := range all {
		id := fmt.Sprintf("job-%d", i)
		f := handedFax(t, s, id)
		all[i] = f
		for page := 1; page <= 3; page++ {
			u := pageOf(f, id, page%2 == 0, page)
			calls = append(calls, &call{f: f, u: *u}, &call{f: f, u: *u})
		}
		done := fax.Update{Provider: "simulator", Kind: fax.UpdateStatus, Status: fax.StatusSent, ProviderFaxID: id, FaxID: f.ID,
			Pages: 3, EventKey: id + ":sent"}
		calls = append(calls, &call{f: f, u: done}, &call{f: f, u: done})
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c.res, c.err = s.ApplyUpdate(ctx, &c.u)
		}()
	}
	close(start)
	wg.Wait()
	events := map[string]int{}
	for i := 0; i < len(calls); i += 2 {
		a, b := calls[i], calls[i+1]
		if a.err != nil || b.err != nil {
			t.Fatalf("%s: errors %v, %v", a.u.EventKey, a.err, b.err)
		}
		if a.res.Duplicate == b.res.Duplicate {
			t.Errorf("%s: got %+v and %+v, want one duplicate", a.u.EventKey, a.res, b.res)
		}
		for _, r := range []fax.ApplyResult{a.res, b.res} {
			if r.FaxID != a.f.ID {
				t.Errorf("%s: result names fax %q, want %s", a.u.EventKey, r.FaxID, a.f.ID)
			}
			events[a.f.ID] += len(r.Events)
		}
	}
	for _, f := range all {
		got, err := s.FindFaxByID(ctx, f.ID)
		if err != nil || got.Status != fax.StatusSent {
			t.Errorf("%s: got %+v, %v; want sent", f.ID, got, err)
			continue
		}
		evs, _ := s.FindEventsByFax(ctx, f.ID)
		if len(evs) != events[f.ID]+1 || evs[0].Type != fax.EventFaxQueued || evs[len(evs)-1].Type != fax.EventFaxSent {
			t.Errorf("%s: %d events recorded, want queued, the %d the updates reported, sent last", f.ID, len(evs), events[f.ID])
		}
		ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: f.ID})
		if len(ds) != len(evs) {
			t.Errorf("%s: %d deliveries for %d events", f.ID, len(ds), len(evs))
		}
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM carrier_events`).Scan(&n); err != nil || n != len(calls)/2 {
		t.Errorf("carrier events recorded: %d, %v; want %d", n, err, len(calls)/2)
	}
}
