package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/faxgate/faxgate/internal/sqlite"
	"github.com/faxgate/faxgate/internal/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, c *storetest.Clock) storetest.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "faxgate.db"), sqlite.Options{Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "faxgate.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Setting(ctx, "k", func() string { return "v1" })
	s.Close()
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, _ := s.Setting(ctx, "k", func() string { return "v2" })
	if got != v {
		t.Errorf("got %q, want %q", got, v)
	}
}
