package sqlite

import (
	"context"
	"github.com/faxgate/faxgate/internal/storetest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func planStore(t *testing.T) (*Store, *fax.Fax) {
	t.Helper()
	ctx := context.Background()
	clock := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "faxgate.db"), Options{Now: func() time.Time { clock = clock.Add(time.Millisecond); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.CreateEndpoint(ctx, &fax.Endpoint{URL: "https://a.example/hook", Format: fax.FormatJSON, APIVersion: fax.APIVersion,
		Secret: "whsec_c2VjcmV0", Inflight: true}); err != nil {
		t.Fatal(err)
	}
	f, _, err := s.CreateFax(ctx, &fax.Fax{To: "+15551230000", From: "+15559870000", Provider: "phaxio", Pages: 2, DocumentKey: "k",
		DocumentType: "application/pdf", DocumentSize: 1234, DocumentSHA256: "ab12", HeaderText: "ACME", OwnerKeyID: "key_1",
		IdempotencyKey: "idem-1", CallbackToken: "tok"}, fax.CreateOptions{RequestHash: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.MarkHanded(ctx, f.ID, "777", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return s, f
}

func page(f *fax.Fax, n int) *fax.Update {
	return &fax.Update{Provider: "phaxio", Kind: fax.UpdatePage, FaxID: f.ID, ProviderFaxID: "777", Page: n, Pages: 2,
		EventKey: "page:" + string(rune('0'+n))}
}

// applyWithPlan runs an update through the writer with a plan made earlier.
func applyWithPlan(t *testing.T, s *Store, u *fax.Update, p *applyPlan) fax.ApplyResult {
	t.Helper()
	var res fax.ApplyResult
	if err := s.writeNoUndo(context.Background(), func(tx *wtx) error {
		r, err := s.applyTx(tx, u, p)
		res = r
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return res
}

// firstPage applies page 1 (which the writer does in full, the fax being
// new to it) and plans page 2.
func firstPage(t *testing.T, s *Store, f *fax.Fax) *applyPlan {
	t.Helper()
	if r, err := s.ApplyUpdate(context.Background(), page(f, 1)); err != nil || !r.Applied {
		t.Fatalf("page 1: %+v %v", r, err)
	}
	p := s.planApply(page(f, 2))
	if p == nil {
		t.Fatal("no plan for page 2")
	}
	return p
}

// TestPlanOvertaken: an update planned against a fax that another update
// then made final is stale, as it would be without a plan.
func TestPlanOvertaken(t *testing.T) {
	s, f := planStore(t)
	ctx := context.Background()
	p := firstPage(t, s, f)
	sent := &fax.Update{Provider: "phaxio", Kind: fax.UpdateStatus, Status: fax.StatusSent, FaxID: f.ID, EventKey: "sent"}
	if r, err := s.ApplyUpdate(ctx, sent); err != nil || !r.Applied {
		t.Fatalf("sent: %+v %v", r, err)
	}
	if r := applyWithPlan(t, s, page(f, 2), p); !r.Stale || r.Applied {
		t.Errorf("planned page after the fax was sent: got %+v, want stale", r)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Status != fax.StatusSent || got.PagesSent != 2 {
		t.Errorf("fax: got %s with %d pages sent, want sent with 2", got.Status, got.PagesSent)
	}
	// The carrier event was recorded as the plan expected (applied) and
	// then corrected.
	var outcome, faxID string
	if err := s.rdb.QueryRowContext(ctx, `SELECT outcome, fax_id FROM carrier_events WHERE provider = 'phaxio' AND event_key = 'page:2'`).Scan(&outcome, &faxID); err != nil || outcome != "stale" || faxID != f.ID {
		t.Errorf("carrier event: %q %q %v, want stale for %s", outcome, faxID, err, f.ID)
	}
	evs, _ := s.FindEventsByFax(ctx, f.ID)
	for _, e := range evs {
		if e.Type == fax.EventFaxPageSent && strings.Contains(string(e.Data), `"page":2`) {
			t.Errorf("a page event was recorded from the overtaken plan: %s", e.Data)
		}
	}
}

// TestPlanAnyColumn: a change to any column of the row since it was read,
// even one the update does not look at, sends the writer down the full
// path, so the events carry the fax as it is at commit.
func TestPlanAnyColumn(t *testing.T) {
	s, f := planStore(t)
	ctx := context.Background()
	p := firstPage(t, s, f)
	if err := s.MarkDocumentPurged(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if r := applyWithPlan(t, s, page(f, 2), p); !r.Applied || len(r.Events) == 0 {
		t.Fatalf("got %+v, want applied", r)
	}
	evs, _ := s.FindEventsByFax(ctx, f.ID)
	last := evs[len(evs)-1]
	if last.Type != fax.EventFaxPageSent || !strings.Contains(string(last.Data), `"document_purged":true`) {
		t.Errorf("page event %s %s, want it to show the purged document", last.Type, last.Data)
	}
}

// TestPlanApplied: an unchanged fax takes the plan, with its event and
// delivery, and a repeat of the event is a duplicate.
func TestPlanApplied(t *testing.T) {
	s, f := planStore(t)
	ctx := context.Background()
	p := firstPage(t, s, f)
	r := applyWithPlan(t, s, page(f, 2), p)
	if !r.Applied || len(r.Events) != 1 || r.Events[0] != p.events[0].ID {
		t.Fatalf("got %+v, want the planned fax.page_sent applied", r)
	}
	ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{FaxID: f.ID})
	if len(ds) != 4 {
		t.Errorf("got %d deliveries, want 4 (fax.queued, fax.sending and two fax.page_sent)", len(ds))
	}
	if r, err := s.ApplyUpdate(ctx, page(f, 2)); err != nil || !r.Duplicate || r.FaxID != f.ID {
		t.Errorf("repeat: got %+v %v, want duplicate", r, err)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Status != fax.StatusSending || got.PagesSent != 2 {
		t.Errorf("fax: got %s with %d pages sent, want sending with 2", got.Status, got.PagesSent)
	}
}

// TestPlanColumnValues: the values a plan assumes for a row are those the
// row holds, so that an unchanged row passes the check (or every update
// would fall back to the writer doing it all).
func TestPlanColumnValues(t *testing.T) {
	s, f := planStore(t)
	ctx := context.Background()
	firstPage(t, s, f)
	c, ok := s.faxes.get(f.ID)
	if !ok {
		t.Fatal("fax not cached after its first update")
	}
	var n int
	args := append([]any{c.rowid}, guardValues(&c.f)...)
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM faxes WHERE `+rowUnchanged, args...).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows matching the cached values: %d, %v; want 1", n, err)
	}
}

// TestPlanDuplicate: a planned update whose carrier event was already
// recorded is a duplicate, though the plan would apply: it writes nothing.
func TestPlanDuplicate(t *testing.T) {
	s, f := planStore(t)
	ctx := context.Background()
	firstPage(t, s, f)
	again := page(f, 2)
	again.EventKey = page(f, 1).EventKey
	p := s.planApply(again)
	if p == nil {
		t.Fatal("no plan for page 2")
	}
	evsBefore, _ := s.FindEventsByFax(ctx, f.ID)
	if r := applyWithPlan(t, s, again, p); !r.Duplicate || r.Applied || r.FaxID != f.ID {
		t.Errorf("got %+v, want a duplicate of the page 1 callback", r)
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	evs, _ := s.FindEventsByFax(ctx, f.ID)
	if got.PagesSent != 1 || len(evs) != len(evsBefore) {
		t.Errorf("fax has %d pages sent and %d events, want 1 and %d: the duplicate changed it", got.PagesSent, len(evs), len(evsBefore))
	}
	// The plan did not reach the cache either: page 2 still applies.
	if r, err := s.ApplyUpdate(ctx, page(f, 2)); err != nil || !r.Applied {
		t.Errorf("page 2 after the duplicate: %+v %v, want applied", r, err)
	}
}

// TestPlanCarrierID: a planned change of status that also tells the
// carrier's id writes both (the statement that sets the id is another than
// the one that leaves it).
func TestPlanCarrierID(t *testing.T) {
	s, _ := planStore(t)
	ctx := context.Background()
	f, _, err := s.CreateFax(ctx, &fax.Fax{To: "+15551230001", Provider: "phaxio", DocumentKey: "k2", DocumentType: "application/pdf"}, fax.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first := &fax.Update{Provider: "phaxio", Kind: fax.UpdatePage, FaxID: f.ID, Page: 1, Pages: 2, EventKey: "p1"}
	if r, err := s.ApplyUpdate(ctx, first); err != nil || !r.Applied {
		t.Fatalf("page 1: %+v %v", r, err)
	}
	for i, u := range []*fax.Update{
		{Provider: "phaxio", Kind: fax.UpdatePage, FaxID: f.ID, ProviderFaxID: "888", Page: 2, Pages: 2, EventKey: "p2"},
		{Provider: "phaxio", Kind: fax.UpdateStatus, Status: fax.StatusSent, FaxID: f.ID, ProviderFaxID: "888", EventKey: "sent"},
	} {
		p := s.planApply(u)
		if p == nil {
			t.Fatalf("update %d: no plan", i)
		}
		if r := applyWithPlan(t, s, u, p); !r.Applied {
			t.Fatalf("update %d: %+v, want applied", i, r)
		}
	}
	got, _ := s.FindFaxByID(ctx, f.ID)
	if got.Status != fax.StatusSent || got.ProviderFaxID != "888" || got.PagesSent != 2 {
		t.Errorf("fax %s, carrier id %q, %d pages sent; want sent, 888, 2", got.Status, got.ProviderFaxID, got.PagesSent)
	}
	var n int
	s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM faxes WHERE provider = 'phaxio' AND provider_fax_id = '888'`).Scan(&n)
	if n != 1 {
		t.Errorf("the carrier's id index finds %d faxes, want 1", n)
	}
}

// unguardedColumns are the faxes columns a plan does not check.
func unguardedColumns() []string {
	guarded := map[string]bool{}
	for _, c := range strings.Split(guardColumns, ",") {
		guarded[strings.TrimSpace(c)] = true
	}
	var out []string
	for _, c := range strings.Split(faxColumns, ",") {
		if c = strings.TrimSpace(c); !guarded[c] {
			out = append(out, c)
		}
	}
	return out
}

// TestGuardColumns: no statement of the package updates a faxes column the
// plan's guard leaves out, or a plan could be written over a row that
// changed. Checked twice: in the source, every UPDATE of faxes (and the
// plan's own, which are built); and in use, the whole store conformance
// suite run on a database where a trigger refuses such an update.
func TestGuardColumns(t *testing.T) {
	unguarded := unguardedColumns()
	if len(unguarded) == 0 {
		t.Fatal("every column is guarded: the test would check nothing")
	}
	check := func(where, set string) {
		for _, assign := range strings.Split(set, ",") {
			col, _, ok := strings.Cut(assign, "=")
			col = strings.ToLower(strings.TrimSpace(col))
			if ok && slices.Contains(unguarded, col) {
				t.Errorf("%s: UPDATE faxes sets %s, which the plan's guard does not check", where, col)
			}
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	update := regexp.MustCompile("(?is)update\\s+faxes\\s+set\\s+(.*?)\\s+where\\s")
	found := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range update.FindAllSubmatch(src, -1) {
			found++
			check(name, string(m[1]))
		}
	}
	if found < 10 {
		t.Fatalf("found %d UPDATE statements of faxes in the source, want at least 10: is the pattern still right?", found)
	}
	for _, q := range append([]string{planPageSQL}, planStatusSQL[:]...) {
		m := update.FindStringSubmatch(q)
		if m == nil {
			t.Fatalf("no SET clause in %q", q)
		}
		check("plan", m[1])
	}
	// The same trigger catches a column being set, whatever its value.
	trigger := `CREATE TRIGGER unguarded BEFORE UPDATE OF ` + strings.Join(unguarded, ", ") + ` ON faxes
		BEGIN SELECT RAISE(ABORT, 'a column the plan does not guard was updated'); END`
	storetest.Run(t, func(t *testing.T, c *storetest.Clock) storetest.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "faxgate.db"), Options{Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.write(context.Background(), func(tx *wtx) error {
			_, err := tx.Exec(trigger)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return s
	})
}
