package postgres

import (
	"slices"
	"strings"
	"testing"
)

func TestStatements(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
	}{
		{"-- faxgate:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS a;\nCREATE INDEX CONCURRENTLY a ON t (x);\n",
			[]string{"-- faxgate:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS a;\n", "CREATE INDEX CONCURRENTLY a ON t (x);\n"}},
		{"CREATE INDEX CONCURRENTLY a\n  ON t (x);\n-- trailing comment\n", []string{"CREATE INDEX CONCURRENTLY a\n  ON t (x);\n"}},
		{"SELECT 1", []string{"SELECT 1"}},
		{"-- only a comment;\n\n", nil},
		{"", nil},
	} {
		if got := statements(tc.body); !slices.Equal(got, tc.want) {
			t.Errorf("statements(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}

// FuzzStatements: the statements are the body in order, cut only at line
// ends, each holding code; what is left out is comments and blank lines.
func FuzzStatements(f *testing.F) {
	f.Add("-- faxgate:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS a;\nCREATE INDEX CONCURRENTLY a ON t (x);\n")
	f.Add("SELECT 1;SELECT 2;\n-- x;\n  ;\n")
	f.Fuzz(func(t *testing.T, body string) {
		got := statements(body)
		joined := strings.Join(got, "")
		if !strings.HasPrefix(body, joined) {
			t.Fatalf("statements(%q) = %q: not the body in order", body, got)
		}
		for line := range strings.Lines(body[len(joined):]) {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
				t.Fatalf("statements(%q) left out code %q", body, line)
			}
		}
		for _, s := range got {
			code := false
			for line := range strings.Lines(s) {
				if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
					code = true
				}
			}
			if !code {
				t.Fatalf("statements(%q) has %q, which holds no code", body, s)
			}
		}
	})
}
