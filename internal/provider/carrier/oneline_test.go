package carrier

import "testing"

// TestOneLine: a carrier's words stay on one line whatever breaks them:
// control characters and the Unicode line and paragraph separators alike.
func TestOneLine(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"busy\u2028line", "busy\u2029line", "busy\nline", "busy\u0085line"} {
		if got := Clip(in, 100); got != "busy line" {
			t.Errorf("Clip(%q): got %q, want %q", in, got, "busy line")
		}
		if got := Clean(in, nil); got != "busy line" {
			t.Errorf("Clean(%q): got %q, want %q", in, got, "busy line")
		}
	}
}
