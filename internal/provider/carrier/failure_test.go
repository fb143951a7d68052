package carrier

import (
	"strings"
	"testing"
)

func TestClip(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	got := Clip(long, MaxMessageLen)
	if len(got) > MaxMessageLen || !strings.HasPrefix(long, got) {
		t.Errorf("Clip: got %d bytes, want at most %d on a rune boundary", len(got), MaxMessageLen)
	}
	if got := Clip("line1\r\nline2\x00", 100); got != "line1  line2" {
		t.Errorf("Clip control characters: got %q, want %q", got, "line1  line2")
	}
}
