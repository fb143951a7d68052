package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/postgres"
	"github.com/faxgate/faxgate/internal/storetest"
)

// twoInstances opens two Stores on one fresh database, as two faxgate
// processes would, sharing a clock.
func twoInstances(t *testing.T, c *storetest.Clock) (*postgres.Store, *postgres.Store) {
	t.Helper()
	db := mustDatabase(t)
	return mustOpen(t, db, postgres.Options{Now: c.Now}), mustOpen(t, db, postgres.Options{Now: c.Now})
}

func createFaxes(t *testing.T, s *postgres.Store, n int) []*fax.Fax {
	t.Helper()
	out := make([]*fax.Fax, n)
	for i := range out {
		f, _, err := s.CreateFax(context.Background(), &fax.Fax{To: fmt.Sprintf("+1555%07d", i), Provider: "simulator", Pages: 1}, fax.CreateOptions{})
		if err != nil {
			t.Fatalf("CreateFax: %v", err)
		}
		out[i] = f
	}
	return out
}

// drain runs workers per store, each claiming with claim until a claim comes
// back empty, and returns every id claimed, in any order.
func drain(t *testing.T, stores []*postgres.Store, workers int, claim func(*postgres.Store) ([]string, error)) []string {
	t.Helper()
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for _, s := range stores {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := claim(s)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					ids = append(ids, got...)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	// Workers stop at their first empty claim, which may come while
	// another still holds rows; the last claim must find nothing left.
	for _, s := range stores {
		if rest, err := claim(s); err != nil || len(rest) != 0 {
			t.Fatalf("after draining: got %d more, %v; want none", len(rest), err)
		}
	}
	return ids
}

func exactlyOnce(t *testing.T, what string, got []string, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s %s claimed %d times, want once", what, id, n)
		}
	}
	for _, id := range want {
		if seen[id] == 0 {
			t.Errorf("%s %s never claimed", what, id)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d claims, want %d", len(got), len(want))
	}
}

func TestTwoInstancesClaimFaxesOnce(t *testing.T) {
	c := storetest.NewClock()
	a, b := twoInstances(t, c)
	faxes := createFaxes(t, a, 200)
	var want []string
	for _, f := range faxes {
		want = append(want, f.ID)
	}
	got := drain(t, []*postgres.Store{a, b}, 4, func(s *postgres.Store) ([]string, error) {
		jobs, err := s.ClaimFaxes(context.Background(), time.Minute, 7)
		var ids []string
		for _, j := range jobs {
			if j.Attempt != 1 || j.Resumed || j.Fax.Status != fax.StatusSending {
				return nil, fmt.Errorf("job %s: got attempt %d resumed %v status %s, want a first claim moving to sending", j.Fax.ID, j.Attempt, j.Resumed, j.Fax.Status)
			}
			ids = append(ids, j.Fax.ID)
		}
		return ids, err
	})
	exactlyOnce(t, "fax", got, want)
	for _, f := range faxes[:20] {
		evs, err := b.FindEventsByFax(context.Background(), f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 2 || evs[0].Type != fax.EventFaxQueued || evs[1].Type != fax.EventFaxSending {
			t.Errorf("%s: got %d events, want queued then sending once", f.ID, len(evs))
		}
	}
}

func TestTwoInstancesClaimDeliveriesOnce(t *testing.T) {
	c := storetest.NewClock()
	a, b := twoInstances(t, c)
	ctx := context.Background()
	// An inflight endpoint gets every fax.queued: one delivery per fax.
	if _, err := a.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://a.example/hook", Inflight: true, Format: fax.FormatJSON,
		APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"}); err != nil {
		t.Fatal(err)
	}
	createFaxes(t, b, 200)
	all, _, err := a.FindDeliveries(ctx, fax.DeliveryFilter{Limit: fax.MaxLimit})
	if err != nil || len(all) != 200 {
		t.Fatalf("got %d deliveries %v, want 200", len(all), err)
	}
	var want []string
	for _, d := range all {
		want = append(want, d.ID)
	}
	got := drain(t, []*postgres.Store{a, b}, 4, func(s *postgres.Store) ([]string, error) {
		jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 9)
		var ids []string
		for _, j := range jobs {
			ids = append(ids, j.Delivery.ID)
		}
		return ids, err
	})
	exactlyOnce(t, "delivery", got, want)
}

func TestTwoInstancesApplySameEventOnce(t *testing.T) {
	c := storetest.NewClock()
	a, b := twoInstances(t, c)
	ctx := context.Background()
	if _, err := a.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://a.example/hook", Format: fax.FormatJSON,
		APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"}); err != nil {
		t.Fatal(err)
	}
	faxes := createFaxes(t, a, 30)
	for _, f := range faxes {
		u := fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent}
		results := make([]fax.ApplyResult, 4)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range results {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				u := u
				r, err := s.ApplyUpdate(ctx, &u)
				if err != nil {
					t.Error(err)
				}
				results[i] = r
			}()
		}
		close(start)
		wg.Wait()
		applied := 0
		for _, r := range results {
			if r.Applied {
				applied++
			} else if !r.Duplicate || r.FaxID != f.ID {
				t.Errorf("%s: got %+v, want applied or a duplicate naming the fax", f.ID, r)
			}
		}
		if applied != 1 {
			t.Errorf("%s: applied %d times, want once", f.ID, applied)
		}
		evs, _ := b.FindEventsByFax(ctx, f.ID)
		if len(evs) != 2 || evs[1].Type != fax.EventFaxSent {
			t.Errorf("%s: got %d events, want queued and one sent", f.ID, len(evs))
		}
		ds, _, _ := a.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: f.ID})
		if len(ds) != 1 {
			t.Errorf("%s: got %d deliveries, want 1", f.ID, len(ds))
		}
	}
}

// Two different final outcomes for one fax reach two instances at once:
// the fax's row lock makes one win and the other stale.
func TestTwoInstancesConflictingUpdatesSerialise(t *testing.T) {
	c := storetest.NewClock()
	a, b := twoInstances(t, c)
	ctx := context.Background()
	for _, f := range createFaxes(t, a, 30) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		res := make([]fax.ApplyResult, 2)
		for i, st := range []fax.Status{fax.StatusSent, fax.StatusFailed} {
			s := []*postgres.Store{a, b}[i]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: st})
				if err != nil {
					t.Error(err)
				}
				res[i] = r
			}()
		}
		close(start)
		wg.Wait()
		if res[0].Applied == res[1].Applied || res[0].Stale == res[1].Stale {
			t.Errorf("%s: got %+v and %+v, want one applied and one stale", f.ID, res[0], res[1])
		}
		evs, _ := a.FindEventsByFax(ctx, f.ID)
		if len(evs) != 2 {
			t.Errorf("%s: got %d events, want queued and one final", f.ID, len(evs))
		}
	}
}

func TestTwoInstancesIdempotencyKeyRace(t *testing.T) {
	c := storetest.NewClock()
	a, b := twoInstances(t, c)
	ctx := context.Background()
	for round := range 20 {
		key := fmt.Sprint("idem-", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		ids := make([]string, 6)
		created := make([]bool, 6)
		for i := range ids {
			s := []*postgres.Store{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				f, existed, err := s.CreateFax(ctx, &fax.Fax{To: "+15551230000", Provider: "simulator", OwnerKeyID: "key_a", IdempotencyKey: key},
					fax.CreateOptions{RequestHash: "h"})
				if err != nil {
					t.Errorf("CreateFax: %v", err)
					return
				}
				ids[i], created[i] = f.ID, !existed
			}()
		}
		close(start)
		wg.Wait()
		n := 0
		for i := range ids {
			if ids[i] != ids[0] {
				t.Errorf("round %d: got faxes %v, want one", round, ids)
				break
			}
			if created[i] {
				n++
			}
		}
		if n != 1 {
			t.Errorf("round %d: %d callers created the fax, want 1", round, n)
		}
	}
}

func TestTwoInstancesSettingRace(t *testing.T) {
	c := storetest.NewClock()
	a, b := twoInstances(t, c)
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		s := []*postgres.Store{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Setting(context.Background(), "signing", func() string { return fmt.Sprint("value-", i) })
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	wg.Wait()
	for _, v := range got {
		if v != got[0] {
			t.Fatalf("got %v, want every caller to see one value", got)
		}
	}
}

// workLog collects OnWork calls.
type workLog chan string

func (w workLog) onWork(kind string) {
	select {
	case w <- kind:
	default:
	}
}

// await waits for kind, skipping others.
func (w workLog) await(t *testing.T, kind string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case k := <-w:
			if k == kind {
				return
			}
		case <-timeout:
			t.Fatalf("no OnWork(%q) within 10s", kind)
		}
	}
}

func (w workLog) drain() {
	for {
		select {
		case <-w:
		default:
			return
		}
	}
}

func TestNotifyWakesOtherInstances(t *testing.T) {
	ctx := context.Background()
	db := mustDatabase(t)
	aLog, bLog := make(workLog, 100), make(workLog, 100)
	a := mustOpen(t, db, postgres.Options{OnWork: aLog.onWork})
	b := mustOpen(t, db, postgres.Options{OnWork: bLog.onWork})

	f := createFaxes(t, a, 1)[0]
	bLog.await(t, "fax")
	aLog.await(t, "fax") // an instance hears its own work too

	if _, err := b.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://a.example/hook", Format: fax.FormatJSON,
		APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent}); err != nil {
		t.Fatal(err)
	}
	aLog.await(t, "delivery")

	if _, err := a.EnqueueInbound(ctx, &fax.Update{Provider: "phaxio", Kind: fax.UpdateInbound, ProviderFaxID: "1", Status: fax.StatusReceived,
		To: "+15559870000", Document: &fax.InboundDocument{URL: "https://files.example/1"}}); err != nil {
		t.Fatal(err)
	}
	bLog.await(t, "inbound")
}

func TestListenerReconnects(t *testing.T) {
	ctx := context.Background()
	db := mustDatabase(t)
	bLog := make(workLog, 100)
	a := mustOpen(t, db, postgres.Options{})
	mustOpen(t, db, postgres.Options{OnWork: bLog.onWork})

	conn := mustConn(t, db)
	var killed int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'faxgate listener'`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d listener sessions, want 1", killed)
	}
	// Once reconnected, the listener wakes every kind of work: nothing
	// else makes inbound work here.
	bLog.await(t, "inbound")
	bLog.drain()
	createFaxes(t, a, 1)
	bLog.await(t, "fax")
}

func TestTryLead(t *testing.T) {
	ctx := context.Background()
	db := mustDatabase(t)
	a := mustOpen(t, db, postgres.Options{})
	b := mustOpen(t, db, postgres.Options{})

	releaseA, ok, err := a.TryLead(ctx, "sweep")
	if err != nil || !ok {
		t.Fatalf("a: got %v %v, want to lead", ok, err)
	}
	if _, ok, err := b.TryLead(ctx, "sweep"); err != nil || ok {
		t.Fatalf("b while a leads: got %v %v, want not to lead", ok, err)
	}
	if _, ok, err := a.TryLead(ctx, "sweep"); err != nil || ok {
		t.Fatalf("a again while leading: got %v %v, want not to lead (one lead per name)", ok, err)
	}
	releaseOther, ok, err := b.TryLead(ctx, "purge")
	if err != nil || !ok {
		t.Fatalf("b, another job: got %v %v, want to lead", ok, err)
	}
	releaseOther()

	releaseA()
	releaseA() // harmless
	releaseB, ok, err := b.TryLead(ctx, "sweep")
	if err != nil || !ok {
		t.Fatalf("b after a released: got %v %v, want to lead", ok, err)
	}
	defer releaseB()
	if _, ok, _ := a.TryLead(ctx, "sweep"); ok {
		t.Fatal("a while b leads: got to lead")
	}

	// Closing a store ends its leads.
	c := mustOpen(t, db, postgres.Options{})
	if _, ok, _ := c.TryLead(ctx, "nightly"); !ok {
		t.Fatal("c: want to lead")
	}
	c.Close()
	releaseN, ok, err := a.TryLead(ctx, "nightly")
	if err != nil || !ok {
		t.Fatalf("a after c closed: got %v %v, want to lead", ok, err)
	}
	releaseN()
}

// Attempts recorded, endpoints disabled and enabled, failed deliveries
// retried, all at once from two instances: the lock order (endpoint, then
// delivery) keeps every call from failing, and a disabled endpoint is left
// with no pending delivery.
func TestTwoInstancesEndpointContention(t *testing.T) {
	c := storetest.NewClock()
	a, b := twoInstances(t, c)
	ctx := context.Background()
	ep, err := a.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://a.example/hook", Inflight: true, Format: fax.FormatJSON,
		APIVersion: fax.APIVersion, Secret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0"})
	if err != nil {
		t.Fatal(err)
	}
	createFaxes(t, a, 150)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for _, s := range []*postgres.Store{a, b} {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					jobs, err := s.ClaimDeliveries(ctx, c.Now(), time.Minute, 5)
					if err != nil {
						t.Error(err)
						return
					}
					for i, j := range jobs {
						next := c.Now()
						st := fax.DeliveryPending
						if i%2 == 0 {
							st = fax.DeliveryFailed
						}
						if err := s.RecordAttempt(ctx, j.Delivery.ID, fax.Attempt{At: c.Now(), StatusCode: 500}, st, &next); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.UpdateEndpoint(ctx, ep.ID, func(e *fax.Endpoint) error { e.Enabled = i%2 == 1; return nil }); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.RetryFailedDeliveries(ctx, ep.ID, c.Now().Add(-time.Hour)); err != nil && fax.ErrorCode(err) != fax.ECodeConflict {
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	if _, err := a.UpdateEndpoint(ctx, ep.ID, func(e *fax.Endpoint) error { e.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	all, _, _ := b.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: ep.ID, Limit: fax.MaxLimit})
	attempts := 0
	for _, d := range all {
		attempts += d.AttemptCount
	}
	t.Logf("%d deliveries, %d attempts", len(all), attempts)
	if attempts == 0 {
		t.Fatal("no attempt was recorded")
	}
	// In-flight attempts finished before the final disable, so nothing
	// may be pending now.
	ds, _, err := b.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: ep.ID, Status: fax.DeliveryPending})
	if err != nil || len(ds) != 0 {
		t.Errorf("got %d pending deliveries to a disabled endpoint (%v), want 0", len(ds), err)
	}
}
