package carrier

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestDecodeHex(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    string
		size int
		want string // hex of the result; "-" when refused
	}{
		{"", 4, ""},
		{"00ff", 4, "00ff"},
		{"00FF", 4, "00ff"},
		{"0a1", 4, "-"},
		{"zz", 4, "-"},
		{"0011223344", 4, "-"},
		{strings.Repeat("ab", 32), 32, strings.Repeat("ab", 32)},
	} {
		dst := make([]byte, tt.size)
		n, ok := DecodeHex(dst, tt.s)
		got := "-"
		if ok {
			got = hex.EncodeToString(dst[:n])
		}
		if got != tt.want {
			t.Errorf("DecodeHex(%q): got %s, want %s", tt.s, got, tt.want)
		}
	}
}

// TestDecodeHexAllocs: the signature check on every callback stays free of
// allocations.
func TestDecodeHexAllocs(t *testing.T) {
	s := strings.Repeat("0f", 32)
	var dst [32]byte
	if n := testing.AllocsPerRun(100, func() { DecodeHex(dst[:], s) }); n != 0 {
		t.Errorf("got %v allocations, want 0", n)
	}
}

func FuzzDecodeHex(f *testing.F) {
	f.Add("00ff", 4)
	f.Add("0A1", 2)
	f.Fuzz(func(t *testing.T, s string, size int) {
		if size < 0 || size > 128 {
			return
		}
		dst := make([]byte, size)
		n, ok := DecodeHex(dst, s)
		want, err := hex.DecodeString(s)
		if ok != (err == nil && len(want) <= size && len(s) <= maxHexSignature) {
			t.Fatalf("DecodeHex(%q, %d): ok %v, encoding/hex says %v", s, size, ok, err)
		}
		if ok && hex.EncodeToString(dst[:n]) != hex.EncodeToString(want) {
			t.Fatalf("DecodeHex(%q): got %x, want %x", s, dst[:n], want)
		}
	})
}
