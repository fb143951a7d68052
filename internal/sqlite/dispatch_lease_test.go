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
// its carrier; the fax is resumed only when the lease runs out. A claimed
// fax whose send had not started is released at once.
func TestStartKeepsSendLeases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "faxgate.db")
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := sqlite.Open(ctx, path, sqlite.Options{Now: clock, ReleaseLeases: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"+15551230000", "+15551230001"} {
		if _, _, err := s.CreateFax(ctx, &fax.Fax{To: to, Provider: "phaxio", DocumentKey: "k", DocumentType: "application/pdf"}, fax.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := s.ClaimFaxes(ctx, time.Minute, 10)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("got %d jobs %v, want 2", len(jobs), err)
	}
	onWire := jobs[0].Fax.ID
	if err := s.MarkOnWire(ctx, onWire); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = sqlite.Open(ctx, path, sqlite.Options{Now: func() time.Time { return now }, ReleaseLeases: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if jobs, _ := s.ClaimFaxes(ctx, time.Minute, 10); len(jobs) != 1 || jobs[0].Fax.ID == onWire || jobs[0].Resumed {
		t.Fatalf("got %+v right after the restart, want only the fax not on the wire, not resumed", jobs)
	}
	now = now.Add(61 * time.Second)
	resumed := false
	for _, j := range mustClaim(t, s) {
		resumed = resumed || (j.Fax.ID == onWire && j.Resumed)
	}
	if !resumed {
		t.Fatalf("the fax on the wire was not resumed after its lease ran out")
	}
}

func mustClaim(t *testing.T, s *sqlite.Store) []*fax.DispatchJob {
	t.Helper()
	jobs, err := s.ClaimFaxes(context.Background(), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	return jobs
}
