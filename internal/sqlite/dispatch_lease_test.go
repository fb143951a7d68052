package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// TestStartKeepsSendLeases: a restart that owns the database does not
// release the lease of a fax being sent, which may still be on the wire to
// its carrier; the fax is resumed only when the lease runs out.
func TestStartKeepsSendLeases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "faxgate.db")
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := sqlite.Open(ctx, path, sqlite.Options{Now: clock, ReleaseLeases: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateFax(ctx, &fax.Fax{To: "+15551230000", Provider: "phaxio", DocumentKey: "k", DocumentType: "application/pdf"}, fax.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs, err := s.ClaimFaxes(ctx, time.Minute, 10)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("got %d jobs %v, want 1", len(jobs), err)
	}
	if err := s.MarkOnWire(ctx, jobs[0].Fax.ID); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = sqlite.Open(ctx, path, sqlite.Options{Now: func() time.Time { return now }, ReleaseLeases: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(jobs) != 0 {
		t.Fatalf("got %d jobs right after the restart, want 0 while the lease runs", len(jobs))
	}
	now = now.Add(61 * time.Second)
	if jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(jobs) != 1 || !jobs[0].Resumed {
		t.Fatalf("got %+v after the lease ran out, want the fax resumed", jobs)
	}
}
