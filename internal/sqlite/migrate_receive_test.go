package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestMigrateDocumentStatus: received faxes stored before migration 11 get
// a document status (available; unavailable when purged or never fetched,
// with why), and outbound faxes none.
func TestMigrateDocumentStatus(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "faxgate.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		v, _ := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if v >= 11 {
			continue
		}
		body, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		exec(string(body))
		exec(`INSERT INTO schema_migrations VALUES (?, 0)`, v)
	}
	exec(`INSERT INTO faxes (id, direction, status, to_number, provider, document_key, document_purged, failure, created_at, updated_at) VALUES
		('fax_1', 'inbound', 'received', '+15559870000', 'gofax', 'inbound/a.pdf', 0, NULL, 1, 1),
		('fax_2', 'inbound', 'received', '+15559870000', 'gofax', 'inbound/b.pdf', 1, NULL, 2, 2),
		('fax_3', 'inbound', 'partial', '+15559870000', 'gofax', '', 0, '{"Code":"document_unavailable","Message":"GoFax refused"}', 3, 3),
		('fax_4', 'outbound', 'sent', '+15559870000', 'gofax', 'outbound/d.pdf', 0, NULL, 4, 4)`)
	db.Close()

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("open (migrating): %v", err)
	}
	defer s.Close()
	for _, want := range []struct {
		id, status, reason string
	}{
		{"fax_1", "available", ""},
		{"fax_2", "unavailable", "the document was deleted"},
		{"fax_3", "unavailable", "GoFax refused"},
		{"fax_4", "", ""},
	} {
		f, err := s.FindFaxByID(ctx, want.id)
		if err != nil {
			t.Fatal(err)
		}
		if string(f.DocumentStatus) != want.status || f.DocumentError != want.reason {
			t.Errorf("%s: got %q %q, want %q %q", want.id, f.DocumentStatus, f.DocumentError, want.status, want.reason)
		}
	}
	if fs, _, _ := s.FindFaxes(ctx, fax.FaxFilter{DocumentStatus: fax.DocumentUnavailable}); len(fs) != 2 {
		t.Errorf("document_status unavailable: got %d faxes, want 2", len(fs))
	}
}
