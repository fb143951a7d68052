package bench

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandUsage: a bad command line is a UsageError naming the flag,
// found before any gateway is opened (open is nil here). A --dir that is
// not empty used to panic while undoing what prepare had made.
func TestCommandUsage(t *testing.T) {
	t.Parallel()
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--clients", "0"}, "--clients"},
		{[]string{"--pages", "1001"}, "--pages"},
		{[]string{"--ingest", "0"}, "--ingest"},
		{[]string{"--e2e-rate", "-1"}, "--e2e-rate"},
		{[]string{"--soak-rate", "0"}, "--soak"},
		{[]string{"extra"}, "no arguments"},
		{[]string{"--compare"}, "--database-url"},
		{[]string{"--instances", "2"}, "--database-url"},
		{[]string{"--instances", "-1"}, "--instances"},
		{[]string{"--instances", "2", "--database-url", "postgres://x/y", "--compare"}, "--instances"},
		{[]string{"--compare", "--database-url", "postgres://x/y", "--rounds", "0"}, "--rounds"},
		{[]string{"--dir", full}, "is not empty"},
	} {
		err := Command(context.Background(), tc.args, func(string) string { return "" }, io.Discard, io.Discard, nil)
		var ue UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want a usage error about %s", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(full, "keep")); err != nil {
		t.Errorf("the --dir's file: %v, want it left alone", err)
	}
}
