package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func testCreateAndFindFax(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000", func(f *fax.Fax) { f.HeaderText = "ACME" })
	if f.ID == "" || f.Status != fax.StatusQueued || f.Direction != fax.Outbound {
		t.Fatalf("got %+v, want a queued outbound fax with an id", f)
	}
	got, err := s.FindFaxByID(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.To != "+15551230000" || got.HeaderText != "ACME" || got.Pages != 2 || !got.CreatedAt.Equal(c.Now()) {
		t.Errorf("got %+v", got)
	}
	if tok, err := s.FindCallbackToken(ctx, f.ID); err != nil || tok != "tok" {
		t.Errorf("FindCallbackToken: got %q, %v", tok, err)
	}
	if got := eventTypes(t, s, f.ID); !equalTypes(got, []fax.EventType{fax.EventFaxQueued}) {
		t.Errorf("events: got %v, want [fax.queued]", got)
	}
	_, err = s.FindFaxByID(ctx, "fax_nope")
	wantCode(t, err, fax.ECodeNotFound)
}

func testIdempotency(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := &fax.Fax{To: "+15551230000", Provider: "simulator", OwnerKeyID: "key_a", IdempotencyKey: "idem-1"}
	a, existed, err := s.CreateFax(ctx, f, fax.CreateOptions{RequestHash: "h1"})
	if err != nil || existed {
		t.Fatalf("first: %v %v", existed, err)
	}
	b, existed, err := s.CreateFax(ctx, f, fax.CreateOptions{RequestHash: "h1"})
	if err != nil || !existed || b.ID != a.ID {
		t.Fatalf("repeat: got %v %v %v, want the same fax", b, existed, err)
	}
	_, _, err = s.CreateFax(ctx, f, fax.CreateOptions{RequestHash: "h2"})
	wantCode(t, err, fax.ECodeConflict)
	// Another owner may use the same key.
	g := *f
	g.OwnerKeyID = "key_b"
	d, existed, err := s.CreateFax(ctx, &g, fax.CreateOptions{RequestHash: "h1"})
	if err != nil || existed || d.ID == a.ID {
		t.Fatalf("other owner: got %v %v %v", d, existed, err)
	}
	list, _, _ := s.FindFaxes(ctx, fax.FaxFilter{})
	if len(list) != 2 {
		t.Errorf("got %d faxes, want 2", len(list))
	}
}

func testListPagination(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, mustCreate(t, s, fmt.Sprintf("+1555123%04d", i)).ID)
		c.Advance(time.Millisecond)
	}
	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		got, next, err := s.FindFaxes(ctx, fax.FaxFilter{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			seen = append(seen, f.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 7 {
		t.Fatalf("got %d faxes over pages, want 7", len(seen))
	}
	for i := range seen {
		if seen[i] != ids[len(ids)-1-i] {
			t.Fatalf("page order: got %v, want newest first %v", seen, ids)
		}
	}
	got, _, _ := s.FindFaxes(ctx, fax.FaxFilter{Status: fax.StatusSent})
	if len(got) != 0 {
		t.Errorf("status filter: got %d, want 0", len(got))
	}
	got, _, _ = s.FindFaxes(ctx, fax.FaxFilter{Direction: fax.Inbound})
	if len(got) != 0 {
		t.Errorf("direction filter: got %d, want 0", len(got))
	}
}

func testCancel(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	f := mustCreate(t, s, "+15551230000")
	got, err := s.CancelFax(ctx, f.ID)
	if err != nil || got.Status != fax.StatusCanceled {
		t.Fatalf("got %+v %v", got, err)
	}
	_, err = s.CancelFax(ctx, f.ID)
	wantCode(t, err, fax.ECodeConflict)
	_, err = s.CancelFax(ctx, "fax_nope")
	wantCode(t, err, fax.ECodeNotFound)
	jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10)
	if len(jobs) != 0 {
		t.Errorf("a canceled fax was claimed for sending")
	}
}
