package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestDocumentKeyFile: FAXGATE_DOCUMENT_KEY is a secret rotation list that
// FAXGATE_DOCUMENT_KEY_FILE can hold, and config check never prints it.
func TestDocumentKeyFile(t *testing.T) {
	const newKey, oldKey = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleSE=", "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleSE="
	file := filepath.Join(t.TempDir(), "document.key")
	if err := os.WriteFile(file, []byte(newKey+", "+oldKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{"FAXGATE_DOCUMENT_KEY_FILE": file})
	c, err := Load(getenv, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{newKey, oldKey}; !slices.Equal(c.DocumentKeys, want) {
		t.Errorf("DocumentKeys: got %q, want %q", c.DocumentKeys, want)
	}
	for _, kv := range c.Redacted(getenv, "") {
		if kv[0] == "FAXGATE_DOCUMENT_KEY" && kv[1] != "(set)" {
			t.Errorf("config check shows FAXGATE_DOCUMENT_KEY=%q, want (set)", kv[1])
		}
	}
}
