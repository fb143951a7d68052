package retention_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/retention"
	"github.com/faxgate/faxgate/internal/sqlite"
	"github.com/faxgate/faxgate/internal/storetest"
)

// TestRetention: an expired document is gone from disk, its fax stays with
// document_purged set and an audit entry; a younger one and a fax of the
// other direction stay.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	blobs, _ := blob.NewDir(filepath.Join(dir, "docs"))
	receive := func(id string) *fax.Fax {
		t.Helper()
		key := "inbound/" + id + ".pdf"
		info, _ := blobs.Put(ctx, key, []byte("%PDF-1.4 "+id))
		r, err := st.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", Kind: fax.UpdateInbound, ProviderFaxID: id,
			Status: fax.StatusReceived, To: "+15550001111", From: "+15550002222", Pages: 1,
			Document: &fax.InboundDocument{Key: key, SHA256: info.SHA256, Size: info.Size}})
		if err != nil {
			t.Fatal(err)
		}
		f, _ := st.FindFaxByID(ctx, r.FaxID)
		return f
	}
	old := receive("old")
	clock.Advance(10 * 24 * time.Hour)
	young := receive("young")
	out, _, _ := st.CreateFax(ctx, &fax.Fax{To: "+15551234567", Provider: "simulator", DocumentKey: "outbound/x.pdf"}, fax.CreateOptions{})
	blobs.Put(ctx, "outbound/x.pdf", []byte("%PDF"))
	st.ApplyUpdate(ctx, &fax.Update{Provider: "simulator", FaxID: out.ID, Kind: fax.UpdateStatus, Status: fax.StatusSent})
	clock.Advance(time.Hour)

	r := retention.New(st, blobs, retention.Options{Inbound: 7 * 24 * time.Hour, Now: clock.Now})
	n, err := r.RunOnce(ctx)
	if err != nil || n != 1 {
		t.Fatalf("got %d %v, want 1 purged", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "docs", old.DocumentKey)); !os.IsNotExist(err) {
		t.Errorf("the expired document is still on disk: %v", err)
	}
	got, _ := st.FindFaxByID(ctx, old.ID)
	if !got.DocumentPurged || got.Status != fax.StatusReceived || got.Pages != 1 {
		t.Errorf("got %+v, want the fax kept with document_purged", got)
	}
	if _, err := blobs.Get(ctx, young.DocumentKey); err != nil {
		t.Errorf("a younger document was deleted: %v", err)
	}
	if _, err := blobs.Get(ctx, "outbound/x.pdf"); err != nil {
		t.Errorf("an outbound document was deleted without an outbound retention: %v", err)
	}
	es, _, _ := st.FindAudit(ctx, fax.AuditFilter{Action: "document.purge"})
	if len(es) != 1 || es[0].TargetID != old.ID {
		t.Errorf("audit: got %+v", es)
	}
	if n, _ := r.RunOnce(ctx); n != 0 {
		t.Errorf("second pass purged %d, want 0", n)
	}
}
