package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// testSearchByNumber checks that the list filters by the whole to and from
// numbers, alone and with direction and status, and that a cursor pages
// through a filtered list newest first.
func testSearchByNumber(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	const a, b, sender = "+15551110001", "+15551110002", "+15552220000"
	var toA, outbound []string // newest last
	for i := 0; i < 5; i++ {
		to := a
		if i%2 == 1 {
			to = b
		}
		f := mustCreate(t, s, to)
		outbound = append(outbound, f.ID)
		if to == a {
			toA = append(toA, f.ID)
		}
		c.Advance(time.Millisecond)
	}
	canceled, err := s.CancelFax(ctx, toA[0])
	if err != nil || canceled.Status != fax.StatusCanceled {
		t.Fatalf("cancel: got %v %v", canceled, err)
	}
	u := fax.Update{Provider: "phaxio", Kind: fax.UpdateInbound, ProviderFaxID: "search-1", Status: fax.StatusReceived,
		From: sender, To: a, Pages: 1, Document: &fax.InboundDocument{Key: "in/s.pdf", SHA256: "abc", Size: 10}}
	r, err := s.ApplyUpdate(ctx, &u)
	if err != nil || !r.Applied {
		t.Fatalf("receive: got %+v %v", r, err)
	}
	toA = append(toA, r.FaxID)

	ids := func(fl fax.FaxFilter) []string {
		t.Helper()
		got, _, err := s.FindFaxes(ctx, fl)
		if err != nil {
			t.Fatalf("FindFaxes(%+v): %v", fl, err)
		}
		var out []string
		for _, f := range got {
			out = append(out, f.ID)
		}
		return out
	}
	newestFirst := func(in []string) []string {
		out := make([]string, len(in))
		for i := range in {
			out[i] = in[len(in)-1-i]
		}
		return out
	}
	for _, tt := range []struct {
		name string
		fl   fax.FaxFilter
		want []string
	}{
		{"to", fax.FaxFilter{To: a}, newestFirst(toA)},
		{"to outbound", fax.FaxFilter{To: a, Direction: fax.Outbound}, newestFirst(toA[:3])},
		{"to inbound", fax.FaxFilter{To: a, Direction: fax.Inbound}, []string{r.FaxID}},
		{"to canceled", fax.FaxFilter{To: a, Status: fax.StatusCanceled}, []string{toA[0]}},
		{"to queued outbound", fax.FaxFilter{To: a, Status: fax.StatusQueued, Direction: fax.Outbound}, newestFirst(toA[1:3])},
		{"to b inbound", fax.FaxFilter{To: b, Direction: fax.Inbound}, nil},
		{"from", fax.FaxFilter{From: sender}, []string{r.FaxID}},
		{"from and to", fax.FaxFilter{From: sender, To: a}, []string{r.FaxID}},
		{"from and other to", fax.FaxFilter{From: sender, To: b}, nil},
		{"from outbound queued", fax.FaxFilter{From: "+15550000000", Direction: fax.Outbound, Status: fax.StatusQueued}, newestFirst(outbound[1:])},
		{"unknown", fax.FaxFilter{To: "+15559999999"}, nil},
		{"prefix is not a match", fax.FaxFilter{To: "+1555111000"}, nil},
	} {
		if got := ids(tt.fl); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}

	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		got, next, err := s.FindFaxes(ctx, fax.FaxFilter{To: a, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 2 {
			t.Fatalf("page %d: got %d faxes, want at most 2", page, len(got))
		}
		for _, f := range got {
			seen = append(seen, f.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := newestFirst(toA); !slices.Equal(seen, want) {
		t.Errorf("pages: got %v, want %v", seen, want)
	}
}

// testDeliveryEventFilter: deliveries are listed by their event's type,
// combined with the endpoint, across every page (the console's deliveries
// filter relies on it).
func testDeliveryEventFilter(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	infl := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/every", Inflight: true})
	other := mustEndpoint(t, s, &fax.Endpoint{URL: "https://a.example/other"})
	for range 3 {
		f := mustCreate(t, s, "+15551230000")
		if _, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: f.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent}); err != nil {
			t.Fatal(err)
		}
	}
	var got []*fax.Delivery
	fl := fax.DeliveryFilter{EndpointID: infl.ID, EventType: fax.EventFaxSent, Limit: 2}
	for {
		ds, next, err := s.FindDeliveries(ctx, fl)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ds...)
		if next == "" {
			break
		}
		fl.Cursor = next
	}
	if len(got) != 3 {
		t.Fatalf("fax.sent to the inflight endpoint: got %d deliveries, want 3", len(got))
	}
	for _, d := range got {
		if d.EventType != fax.EventFaxSent || d.EndpointID != infl.ID {
			t.Errorf("got %s to %s, want only fax.sent to %s", d.EventType, d.EndpointID, infl.ID)
		}
	}
	if ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EndpointID: other.ID, EventType: fax.EventFaxQueued}); len(ds) != 0 {
		t.Errorf("fax.queued to a postflight endpoint: got %d deliveries, want none", len(ds))
	}
	if ds, _, _ := s.FindDeliveries(ctx, fax.DeliveryFilter{EventType: fax.EventFaxQueued, Limit: fax.MaxLimit}); len(ds) != 3 {
		t.Errorf("fax.queued to any endpoint: got %d deliveries, want 3", len(ds))
	}
}
