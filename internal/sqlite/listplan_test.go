package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// listFilterSetters set each filter of the fax list to a value, in the
// order of fax.FaxFilter.Conditions; the cursor is left out, as every page but the first
// has it.
var listFilterSetters = []struct {
	name string
	set  func(*fax.FaxFilter)
}{
	{"direction", func(f *fax.FaxFilter) { f.Direction = fax.Outbound }},
	{"status", func(f *fax.FaxFilter) { f.Status = fax.StatusSent }},
	{"to", func(f *fax.FaxFilter) { f.To = "+15551230000" }},
	{"from", func(f *fax.FaxFilter) { f.From = "+15551230001" }},
	{"provider", func(f *fax.FaxFilter) { f.Provider = "phaxio" }},
	{"batch_id", func(f *fax.FaxFilter) { f.BatchID = "bat_x" }},
	{"created_after", func(f *fax.FaxFilter) { f.CreatedAfter = time.Unix(1, 0) }},
	{"created_before", func(f *fax.FaxFilter) { f.CreatedBefore = time.Unix(2, 0) }},
}

// planOf returns SQLite's query plan of a list page, one step a line.
func planOf(t *testing.T, s *Store, fl fax.FaxFilter) string {
	t.Helper()
	q, args := faxListQuery(&fl, 50)
	rows, err := s.rdb.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n")
}

// TestListPlans: every combination of the list's filters, with and
// without a cursor, is served by an index, on an empty store (no
// statistics for the planner): a SEARCH through one, or, for a time bound
// alone, the id index read newest first, which stops at the page's limit
// and, since ids grow with creation, meets the newest matches first.
// Never a scan of the table itself.
func TestListPlans(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "plan.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if plan := planOf(t, s, fax.FaxFilter{}); !strings.Contains(plan, "USING INDEX") || strings.Contains(plan, "TEMP B-TREE") {
		t.Errorf("no filter: plan %q, want the id index read in order", plan)
	}
	for mask := 1; mask < 1<<len(listFilterSetters); mask++ {
		for _, cursor := range []string{"", "fax_01M8"} {
			fl := fax.FaxFilter{Cursor: cursor}
			var names []string
			for i, f := range listFilterSetters {
				if mask&(1<<i) != 0 {
					f.set(&fl)
					names = append(names, f.name)
				}
			}
			plan := planOf(t, s, fl)
			timeOnly := mask&^(1<<6|1<<7) == 0
			switch {
			case strings.Contains(plan, "SEARCH faxes USING"):
			case timeOnly && strings.Contains(plan, "SCAN faxes USING INDEX sqlite_autoindex_faxes_1") && !strings.Contains(plan, "TEMP B-TREE"):
			default:
				t.Errorf("filters %v (cursor %q): plan %q, want a SEARCH using an index", names, cursor, plan)
			}
		}
	}
}
