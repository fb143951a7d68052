package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// Both stores have Store's method set, so callers can swap them.
var (
	_ Store = (*Dir)(nil)
	_ Store = (*S3)(nil)
)

// testStore is the behaviour every store shares; newStore returns an empty
// store for each subtest.
func testStore(t *testing.T, newStore func(t *testing.T) Store) {
	ctx := context.Background()

	t.Run("RoundTrip", func(t *testing.T) {
		s := newStore(t)
		want := []byte("%PDF-1.4 hello")
		info, err := s.Put(ctx, "out/fax_1.pdf", want)
		if err != nil {
			t.Fatal(err)
		}
		if info.Key != "out/fax_1.pdf" || info.Size != int64(len(want)) || info.SHA256 != sha256Hex(want) {
			t.Errorf("Put: got %+v, want key out/fax_1.pdf, size %d, sha256 %s", info, len(want), sha256Hex(want))
		}
		got, err := s.Get(ctx, "out/fax_1.pdf")
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Get: got %q, %v, want %q", got, err, want)
		}
		r, size, err := s.Open(ctx, "out/fax_1.pdf")
		if err != nil {
			t.Fatal(err)
		}
		got, err = io.ReadAll(r)
		r.Close()
		if err != nil || size != int64(len(want)) || !bytes.Equal(got, want) {
			t.Errorf("Open: got %q (size %d), %v, want %q (size %d)", got, size, err, want, len(want))
		}

		// Put replaces.
		if _, err := s.Put(ctx, "out/fax_1.pdf", []byte("%PDF-1.7 again")); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, "out/fax_1.pdf"); err != nil || string(got) != "%PDF-1.7 again" {
			t.Errorf("Get after second Put: got %q, %v, want %q", got, err, "%PDF-1.7 again")
		}

		if err := s.Delete(ctx, "out/fax_1.pdf"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "out/fax_1.pdf"); fax.ErrorCode(err) != fax.ECodeNotFound {
			t.Errorf("Get after Delete: got %v, want not_found", err)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		s := newStore(t)
		info, err := s.Put(ctx, "empty.txt", nil)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != 0 || info.SHA256 != sha256Hex(nil) {
			t.Errorf("Put: got %+v, want size 0, sha256 %s", info, sha256Hex(nil))
		}
		got, err := s.Get(ctx, "empty.txt")
		if err != nil || len(got) != 0 {
			t.Errorf("Get: got %q, %v, want empty", got, err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Get(ctx, "in/missing.pdf"); fax.ErrorCode(err) != fax.ECodeNotFound {
			t.Errorf("Get: got %v, want not_found", err)
		}
		if r, _, err := s.Open(ctx, "in/missing.pdf"); fax.ErrorCode(err) != fax.ECodeNotFound {
			if r != nil {
				r.Close()
			}
			t.Errorf("Open: got %v, want not_found", err)
		}
		if err := s.Delete(ctx, "in/missing.pdf"); err != nil {
			t.Errorf("Delete of a missing key: got %v, want nil", err)
		}
	})

	t.Run("Large", func(t *testing.T) {
		s := newStore(t)
		want := randomBytes(5 << 20)
		info, err := s.Put(ctx, "in/large.tif", want)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != 5<<20 || info.SHA256 != sha256Hex(want) {
			t.Errorf("Put: got %+v, want size %d, sha256 %s", info, 5<<20, sha256Hex(want))
		}
		got, err := s.Get(ctx, "in/large.tif")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || sha256Hex(got) != info.SHA256 {
			t.Errorf("Get: got %d bytes, sha256 %s, want %d bytes, sha256 %s", len(got), sha256Hex(got), len(want), info.SHA256)
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"", "../x", "/etc/passwd", "a/../../b", "a\\b", "a\x00b", ".."} {
			if _, err := s.Put(ctx, k, []byte("x")); err == nil {
				t.Errorf("Put(%q): got nil error, want refusal", k)
			}
			if _, err := s.Get(ctx, k); err == nil || fax.ErrorCode(err) == fax.ECodeNotFound {
				t.Errorf("Get(%q): got %v, want refusal", k, err)
			}
			if _, _, err := s.Open(ctx, k); err == nil || fax.ErrorCode(err) == fax.ECodeNotFound {
				t.Errorf("Open(%q): got %v, want refusal", k, err)
			}
			if err := s.Delete(ctx, k); err == nil {
				t.Errorf("Delete(%q): got nil error, want refusal", k)
			}
		}
	})
}

func TestDirStore(t *testing.T) {
	testStore(t, func(t *testing.T) Store {
		d, err := NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// randomBytes returns n incompressible bytes, the same on every run.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{'f', 'a', 'x'})
	_, _ = r.Read(b)
	return b
}
