package fax

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestOneLineWordsTruncate(t *testing.T) {
	if got := OneLine("a\r\nb\x00c\u2028d\xff"); got != "a  b c d\uFFFD" {
		t.Errorf("OneLine = %q", got)
	}
	if got := Words("  a\t\tb \n c  "); got != "a b c" {
		t.Errorf("Words = %q", got)
	}
	if got := Truncate("héllo", 2); got != "h" {
		t.Errorf("Truncate inside a character = %q, want %q", got, "h")
	}
}

// FuzzText checks what every caller relies on: one line of valid UTF-8,
// and a cut that never exceeds its bound or splits a character.
func FuzzText(f *testing.F) {
	f.Add("550 no such user\r\n\x1b[31m", 10)
	f.Add("\xe2\x82", 1)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		for _, out := range []string{OneLine(s), Words(s)} {
			if !utf8.ValidString(out) || strings.IndexFunc(out, unicode.IsControl) >= 0 {
				t.Fatalf("%q gave %q", s, out)
			}
		}
		v := strings.ToValidUTF8(s, "\uFFFD")
		if c := Truncate(v, n); len(c) > n || !utf8.ValidString(c) || !strings.HasPrefix(v, c) {
			t.Fatalf("Truncate(%q, %d) = %q", v, n, c)
		}
	})
}
