package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's settings table")

// settingsTable renders every setting as the README's Markdown table.
func settingsTable() string {
	var b strings.Builder
	b.WriteString("| setting | default | what |\n| --- | --- | --- |\n")
	for _, d := range Docs() {
		def := "—"
		if d.Default != "" {
			def = "`" + d.Default + "`"
		}
		what := d.Description
		if d.Secret {
			what += " (secret; `" + d.Name + "_FILE` reads it from a file)"
		}
		b.WriteString("| `" + d.Name + "` | " + def + " | " + strings.ReplaceAll(what, "|", "\\|") + " |\n")
	}
	return b.String()
}

// TestREADMESettingsTable keeps the README's table of settings equal to the
// settings faxgate reads; -update rewrites it.
func TestREADMESettingsTable(t *testing.T) {
	const path = "../../README.md"
	const start, end = "<!-- settings:start -->\n", "<!-- settings:end -->"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README has no settings markers")
	}
	want := settingsTable()
	got := s[i+len(start) : j]
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(s[:i+len(start)]+want+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the README's settings table is out of date; run go test ./internal/config -run README -update")
}
