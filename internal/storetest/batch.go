package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// newBatch builds the faxes of one send to several numbers as the API
// does: ids made in order, one batch_id, the idempotency key on the first.
func newBatch(c *Clock, idem string, to ...string) []*fax.Fax {
	var ids fax.IDGen
	batch := ids.New(fax.PrefixBatch, c.Now())
	var out []*fax.Fax
	for i, n := range to {
		f := &fax.Fax{ID: ids.New(fax.PrefixFax, c.Now()), To: n, Provider: "simulator", Pages: 1, BatchID: batch,
			OwnerKeyID: "key_b", DocumentKey: "outbound/" + n + ".pdf", DocumentType: "application/pdf", CallbackToken: "tok"}
		if i == 0 {
			f.IdempotencyKey = idem
		}
		out = append(out, f)
	}
	return out
}

func faxIDs(fs []*fax.Fax) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

// testBatchCreate checks that the faxes of a batch are stored together,
// each with its own fax.queued event carrying batch_id, listed by batch_id,
// and that a repeat under the same Idempotency-Key returns the whole batch.
func testBatchCreate(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	in := newBatch(c, "idem-batch", "+15553330001", "+15553330002", "+15553330003")
	opts := fax.CreateOptions{RequestHash: "hb"}
	got, existed, err := s.CreateFaxes(ctx, in, opts)
	if err != nil || existed || len(got) != 3 {
		t.Fatalf("CreateFaxes: got %d faxes, existed %v, err %v; want 3 new", len(got), existed, err)
	}
	batch := in[0].BatchID
	for i, f := range got {
		if f.ID != in[i].ID || f.BatchID != batch || f.Status != fax.StatusQueued || f.To != in[i].To {
			t.Errorf("fax %d: got %+v, want %s queued to %s in %s", i, f, in[i].ID, in[i].To, batch)
		}
		stored, err := s.FindFaxByID(ctx, f.ID)
		if err != nil || stored.BatchID != batch {
			t.Errorf("FindFaxByID(%s): got batch %q, %v; want %q", f.ID, stored.BatchID, err, batch)
		}
		evs, err := s.FindEventsByFax(ctx, f.ID)
		if err != nil || len(evs) != 1 || evs[0].Type != fax.EventFaxQueued {
			t.Fatalf("events of %s: got %v, %v; want one fax.queued", f.ID, evs, err)
		}
		var data struct {
			BatchID string `json:"batch_id"`
		}
		if err := json.Unmarshal(evs[0].Data, &data); err != nil || data.BatchID != batch {
			t.Errorf("event data of %s: got batch_id %q (%v), want %q", f.ID, data.BatchID, err, batch)
		}
	}
	alone := mustCreate(t, s, "+15553330009")
	if alone.BatchID != "" {
		t.Errorf("a fax sent alone: got batch_id %q, want none", alone.BatchID)
	}
	list, _, err := s.FindFaxes(ctx, fax.FaxFilter{BatchID: batch})
	if err != nil {
		t.Fatal(err)
	}
	want := faxIDs(got)
	slices.Reverse(want)
	if ids := faxIDs(list); !slices.Equal(ids, want) {
		t.Errorf("list by batch_id: got %v, want %v (newest first)", ids, want)
	}

	again, existed, err := s.CreateFaxes(ctx, newBatch(c, "idem-batch", "+15553330001", "+15553330002", "+15553330003"), opts)
	if err != nil || !existed || !slices.Equal(faxIDs(again), faxIDs(got)) {
		t.Errorf("repeat: got %v existed %v err %v; want the first batch %v", faxIDs(again), existed, err, faxIDs(got))
	}
	_, _, err = s.CreateFaxes(ctx, newBatch(c, "idem-batch", "+15553330001"), fax.CreateOptions{RequestHash: "other"})
	wantCode(t, err, fax.ECodeConflict)
	if list, _, _ := s.FindFaxes(ctx, fax.FaxFilter{}); len(list) != 4 {
		t.Errorf("after the repeats: got %d faxes, want 4", len(list))
	}
}

// testBatchAtomic checks that a batch the store cannot take whole leaves
// nothing behind: no fax, no event.
func testBatchAtomic(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	in := newBatch(c, "", "+15554440001", "+15554440002", "+15554440003")
	in[2].ID = in[0].ID // the third insert collides with the first
	if _, _, err := s.CreateFaxes(ctx, in, fax.CreateOptions{}); err == nil {
		t.Fatal("CreateFaxes with a repeated id: got nil error, want one")
	}
	if list, _, err := s.FindFaxes(ctx, fax.FaxFilter{}); err != nil || len(list) != 0 {
		t.Errorf("after a failed batch: got %d faxes (%v), want none", len(list), err)
	}
	if evs, _ := s.FindEventsByFax(ctx, in[1].ID); len(evs) != 0 {
		t.Errorf("after a failed batch: got %d events of its second fax, want none", len(evs))
	}
}

// testListFilters checks the filters provider, batch_id, created_after
// and created_before, alone and combined with the older ones.
func testListFilters(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	start := c.Now()
	var ids []string // oldest first
	for i, p := range []string{"simulator", "phaxio", "simulator", "gofax", "phaxio"} {
		to := "+15556660001"
		if i%2 == 1 {
			to = "+15556660002"
		}
		ids = append(ids, mustCreate(t, s, to, func(f *fax.Fax) { f.Provider = p }).ID)
		c.Advance(time.Second)
	}
	batch, _, err := s.CreateFaxes(ctx, newBatch(c, "", "+15556660001", "+15556660003"), fax.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, faxIDs(batch)...)
	if _, err := s.CancelFax(ctx, ids[2]); err != nil {
		t.Fatal(err)
	}
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
	pick := func(i ...int) []string {
		var out []string
		for j := len(i) - 1; j >= 0; j-- {
			out = append(out, ids[i[j]])
		}
		return out
	}
	for _, tc := range []struct {
		name string
		fl   fax.FaxFilter
		want []string
	}{
		{"provider", fax.FaxFilter{Provider: "phaxio"}, pick(1, 4)},
		{"provider none", fax.FaxFilter{Provider: "sinch"}, nil},
		{"batch_id", fax.FaxFilter{BatchID: batch[0].BatchID}, pick(5, 6)},
		{"batch_id unknown", fax.FaxFilter{BatchID: "bat_nope"}, nil},
		{"created_after is inclusive", fax.FaxFilter{CreatedAfter: at(3)}, pick(3, 4, 5, 6)},
		{"created_before is exclusive", fax.FaxFilter{CreatedBefore: at(2)}, pick(0, 1)},
		{"created range", fax.FaxFilter{CreatedAfter: at(1), CreatedBefore: at(4)}, pick(1, 2, 3)},
		{"provider and status", fax.FaxFilter{Provider: "simulator", Status: fax.StatusQueued}, pick(0, 5, 6)},
		{"provider, to and range", fax.FaxFilter{Provider: "simulator", To: "+15556660001", CreatedAfter: at(1)}, pick(2, 5)},
		{"batch_id and to", fax.FaxFilter{BatchID: batch[0].BatchID, To: "+15556660003"}, pick(6)},
		{"direction and provider", fax.FaxFilter{Direction: fax.Inbound, Provider: "phaxio"}, nil},
	} {
		got, _, err := s.FindFaxes(ctx, tc.fl)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ids := faxIDs(got); !slices.Equal(ids, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
		}
	}
	// A filtered list pages with its cursor, the filter kept.
	first, next, err := s.FindFaxes(ctx, fax.FaxFilter{Provider: "simulator", Limit: 2})
	if err != nil || next == "" || !slices.Equal(faxIDs(first), pick(5, 6)) {
		t.Fatalf("first page: got %v next %q err %v", faxIDs(first), next, err)
	}
	second, next, err := s.FindFaxes(ctx, fax.FaxFilter{Provider: "simulator", Limit: 2, Cursor: next})
	if err != nil || next != "" || !slices.Equal(faxIDs(second), pick(0, 2)) {
		t.Errorf("second page: got %v next %q err %v, want %v and no cursor", faxIDs(second), next, err, pick(0, 2))
	}
}

// testListStableUnderInserts pages through the list while faxes are added
// between pages: every fax that existed when paging began is seen exactly
// once.
func testListStableUnderInserts(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	var before []string
	for range 9 {
		before = append(before, mustCreate(t, s, "+15557770001").ID)
		c.Advance(time.Millisecond)
	}
	seen := map[string]int{}
	cursor := ""
	for page := 0; ; page++ {
		got, next, err := s.FindFaxes(ctx, fax.FaxFilter{Limit: 2, Cursor: cursor, Provider: "simulator"})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			seen[f.ID]++
		}
		// Two more arrive, one in the same millisecond as the page.
		mustCreate(t, s, "+15557770001")
		c.Advance(time.Millisecond)
		mustCreate(t, s, "+15557770001")
		if next == "" {
			break
		}
		if page > 20 {
			t.Fatal("paging does not end")
		}
		cursor = next
	}
	for _, id := range before {
		if seen[id] != 1 {
			t.Errorf("fax %s: seen %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("fax %s: seen %d times, want at most once", id, n)
		}
	}
}
