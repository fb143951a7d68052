package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

func testAudit(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	for i, a := range []string{"fax.send", "webhook.rejected", "fax.send"} {
		if err := s.RecordAudit(ctx, &fax.AuditEntry{Actor: "key_1", Action: a, TargetType: "fax", TargetID: fmt.Sprint("fax_", i), Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := s.FindAudit(ctx, fax.AuditFilter{Action: "fax.send"})
	if err != nil || len(got) != 2 || got[0].TargetID != "fax_2" || got[0].At.IsZero() {
		t.Fatalf("got %+v %v", got, err)
	}
	page, next, _ := s.FindAudit(ctx, fax.AuditFilter{Limit: 2})
	if len(page) != 2 || next == "" {
		t.Fatalf("page: %d %q", len(page), next)
	}
	rest, _, _ := s.FindAudit(ctx, fax.AuditFilter{Limit: 2, Cursor: next})
	if len(rest) != 1 {
		t.Errorf("second page: got %d, want 1", len(rest))
	}
}

func testRetentionAndStats(t *testing.T, s Store, c *Clock) {
	ctx := context.Background()
	r, err := s.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", Kind: fax.UpdateInbound, ProviderFaxID: "in-1",
		Status: fax.StatusReceived, To: "+15550001111", Pages: 1, Document: &fax.InboundDocument{Key: "inbound/in-1.pdf", Size: 3, SHA256: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	out := mustCreate(t, s, "+15551234567")
	c.Advance(48 * time.Hour)
	old, err := s.FindExpiredDocuments(ctx, fax.Inbound, c.Now().Add(-24*time.Hour), 10)
	if err != nil || len(old) != 1 || old[0].ID != r.FaxID {
		t.Fatalf("expired inbound: %+v %v", old, err)
	}
	if none, _ := s.FindExpiredDocuments(ctx, fax.Outbound, c.Now().Add(-24*time.Hour), 10); len(none) != 0 {
		t.Errorf("a queued outbound fax is not final, yet its document expired: %+v", none)
	}
	if err := s.MarkDocumentPurged(ctx, r.FaxID); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDocumentPurged(ctx, r.FaxID); err != nil {
		t.Fatal(err)
	}
	f, _ := s.FindFaxByID(ctx, r.FaxID)
	if !f.DocumentPurged {
		t.Error("not marked purged")
	}
	if again, _ := s.FindExpiredDocuments(ctx, fax.Inbound, c.Now(), 10); len(again) != 0 {
		t.Error("a purged document is listed again")
	}
	es, _, _ := s.FindAudit(ctx, fax.AuditFilter{Action: "document.purge"})
	if len(es) != 1 {
		t.Errorf("got %d purge audit entries, want 1", len(es))
	}
	c.Advance(time.Hour)
	n, err := s.PurgeAudit(ctx, c.Now())
	if err != nil || n < 1 {
		t.Errorf("purge audit: %d %v", n, err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, x := range st.Faxes {
		counts[string(x.Direction)+"/"+x.Status] += x.Count
	}
	if counts["inbound/received"] != 1 || counts["outbound/queued"] != 1 {
		t.Errorf("stats: %v", counts)
	}
	queues := map[string]fax.QueueStats{}
	for _, q := range st.Queues {
		queues[q.Name] = q
	}
	if q := queues["dispatch"]; q.Depth != 1 || q.OldestAge < 48*time.Hour {
		t.Errorf("dispatch queue: %+v (fax %s waits since creation)", q, out.ID)
	}
}
