package ingest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// TestFetchAfterDocumentDeleted: a received fax's document, or the fax,
// deleted while its document is being fetched stays deleted: the fetch
// that ends afterwards attaches nothing and removes the file it stored.
func TestFetchAfterDocumentDeleted(t *testing.T) {
	t.Run("document", func(t *testing.T) { testFetchAfterDeleted(t, false) })
	t.Run("fax", func(t *testing.T) { testFetchAfterDeleted(t, true) })
}

func testFetchAfterDeleted(t *testing.T, wholeFax bool) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "faxgate.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blobs, err := blob.NewDir(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	resolve := func(_ context.Context, u *fax.Update) error {
		u.Document.Bytes = []byte("%PDF-1.4 test")
		return nil
	}
	in := New(Options{Store: s, Blobs: blobs, Resolve: resolve})
	u := fax.Update{Provider: "gofax", Kind: fax.UpdateInbound, EventKey: "gofax:in:1", ProviderFaxID: "1", Status: fax.StatusReceived,
		From: "+15551230000", To: "+15559870000", Pages: 1, Document: &fax.InboundDocument{FetchID: "1"}}
	r, err := in.Apply(ctx, &u)
	if err != nil || r.FaxID == "" {
		t.Fatalf("apply: %+v %v", r, err)
	}
	jobs, err := s.ClaimInboundJobsExcept(ctx, time.Minute, 1, nil)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %d %v", len(jobs), err)
	}
	// The fetch is under way when the document, or the fax, is deleted.
	if wholeFax {
		if _, err := s.DeleteFax(ctx, r.FaxID); err != nil {
			t.Fatal(err)
		}
	} else if err := s.MarkDocumentPurged(ctx, r.FaxID); err != nil {
		t.Fatal(err)
	}
	in.fetch(ctx, jobs[0])
	f, err := s.FindFaxByID(ctx, r.FaxID)
	switch {
	case wholeFax:
		if err == nil {
			t.Errorf("the deleted fax is back: %+v", f)
		}
	case err != nil:
		t.Fatal(err)
	case f.DocumentKey != "" || f.DocumentStatus != fax.DocumentUnavailable:
		t.Errorf("got document %q (%s), want none, unavailable", f.DocumentKey, f.DocumentStatus)
	}
	key := storedKey(&u)
	if rc, _, err := blobs.Open(ctx, key); err == nil {
		rc.Close()
		t.Errorf("the document fetched after the deletion is still stored at %s", key)
	}
}
