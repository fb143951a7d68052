package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// testInboundJobsExcept: a carrier whose fetch slots are full is left out of
// a claim, so the other carriers' jobs queued behind its backlog are reached.
func testInboundJobsExcept(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	enqueue := func(provider string, id int) {
		t.Helper()
		u := fax.Update{Provider: provider, Kind: fax.UpdateInbound, ProviderFaxID: fmt.Sprint(id), Status: fax.StatusReceived,
			From: "+15551230000", To: "+15559870000", Document: &fax.InboundDocument{FetchID: fmt.Sprint(id)}}
		if r, err := s.EnqueueInbound(ctx, &u); err != nil || !r.Applied {
			t.Fatalf("enqueue: %+v %v", r, err)
		}
		c.Advance(time.Millisecond)
	}
	// GoFax's backlog is older than everything else.
	for i := range 5 {
		enqueue("gofax", 100+i)
	}
	enqueue("phaxio", 200)
	enqueue("sinch", 300)

	providers := func(jobs []*fax.InboundJob) []string {
		var ps []string
		for _, j := range jobs {
			ps = append(ps, j.Update.Provider)
		}
		sort.Strings(ps)
		return ps
	}
	jobs, err := s.ClaimInboundJobsExcept(ctx, time.Minute, 2, []string{"gofax"})
	if err != nil {
		t.Fatal(err)
	}
	if got := providers(jobs); fmt.Sprint(got) != "[phaxio sinch]" {
		t.Fatalf("claim except gofax: got %v, want [phaxio sinch]", got)
	}
	if jobs, _ := s.ClaimInboundJobsExcept(ctx, time.Minute, 10, []string{"gofax", "asterisk"}); len(jobs) != 0 {
		t.Errorf("got %v, want nothing: the other jobs are leased", providers(jobs))
	}
	// With nothing excluded, the oldest come first.
	jobs, err = s.ClaimInboundJobsExcept(ctx, time.Minute, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := providers(jobs); fmt.Sprint(got) != "[gofax gofax gofax]" {
		t.Errorf("claim: got %v, want three gofax", got)
	}
}
