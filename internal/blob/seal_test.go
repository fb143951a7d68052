package blob

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var _ Store = (*Sealed)(nil)

// testKey returns a document key as FAXGATE_DOCUMENT_KEY spells it, the
// same for the same seed.
func testKey(seed byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{seed}, 32))
}

// MustSealedDir returns a Sealed store over a Dir at root with keys.
func MustSealedDir(t *testing.T, root string, keys ...string) *Sealed {
	t.Helper()
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSealed(d, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// samplePDF is a small PDF with a text that must never appear on disk.
const secretText = "Patient: Jane Roe, diagnosis confidential"

var samplePDF = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\nBT (" + secretText + ") Tj ET\n%%EOF\n")

func TestSealedStore(t *testing.T) {
	t.Parallel()
	t.Run("WithKey", func(t *testing.T) {
		testStore(t, func(t *testing.T) Store { return MustSealedDir(t, t.TempDir(), testKey(1), testKey(2)) })
	})
	t.Run("WithoutKey", func(t *testing.T) {
		testStore(t, func(t *testing.T) Store { return MustSealedDir(t, t.TempDir()) })
	})
}

// TestSealedDiskHoldsNoPlaintext reads the directory's bytes: neither the
// PDF signature nor the document's text may appear in any file.
func TestSealedDiskHoldsNoPlaintext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	s := MustSealedDir(t, root, testKey(1))
	info, err := s.Put(ctx, "in/fax_1.pdf", samplePDF)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != int64(len(samplePDF)) || info.SHA256 != sha256Hex(samplePDF) {
		t.Errorf("Put: got %+v, want the plaintext's size %d and sha256 %s", info, len(samplePDF), sha256Hex(samplePDF))
	}
	files := 0
	err = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, needle := range []string{"%PDF", secretText, "Jane Roe", "/Catalog"} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s holds %q in clear", p, needle)
			}
		}
		if !bytes.HasPrefix(b, []byte(sealMagic)) {
			t.Errorf("%s starts %q, want the sealed format's magic", p, b[:min(len(b), 8)])
		}
		return nil
	})
	if err != nil || files != 1 {
		t.Fatalf("walk: %d files, %v; want 1 file", files, err)
	}
	got, err := s.Get(ctx, "in/fax_1.pdf")
	if err != nil || !bytes.Equal(got, samplePDF) {
		t.Errorf("Get: got %q, %v, want the PDF", got, err)
	}

	// Two writes of the same document differ: each has its own nonce.
	a, _ := s.inner.Get(ctx, "in/fax_1.pdf")
	if _, err := s.Put(ctx, "in/fax_1.pdf", samplePDF); err != nil {
		t.Fatal(err)
	}
	b, _ := s.inner.Get(ctx, "in/fax_1.pdf")
	if bytes.Equal(a[sealHeaderLen-sealNonceLen:sealHeaderLen], b[sealHeaderLen-sealNonceLen:sealHeaderLen]) || bytes.Equal(a, b) {
		t.Errorf("two writes of one document share a nonce or ciphertext")
	}
}

// TestSealedKeyErrors: a wrong or missing key is a clear error naming the
// setting, never the ciphertext returned as a document.
func TestSealedKeyErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	if _, err := MustSealedDir(t, root, testKey(1)).Put(ctx, "in/a.pdf", samplePDF); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		keys []string
		want error
	}{
		{"missing", nil, ErrNoDocumentKey},
		{"wrong", []string{testKey(2)}, ErrWrongDocumentKey},
	} {
		s := MustSealedDir(t, root, c.keys...)
		_, err := s.Get(ctx, "in/a.pdf")
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), "FAXGATE_DOCUMENT_KEY") || !strings.Contains(err.Error(), "in/a.pdf") {
			t.Errorf("%s key: Get: got %v, want %v naming the document and the setting", c.name, err, c.want)
		}
		rc, _, err := s.Open(ctx, "in/a.pdf")
		if rc != nil {
			rc.Close()
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s key: Open: got %v, want %v", c.name, err, c.want)
		}
	}
}

// TestSealedKeySetting: malformed keys are refused at start-up without
// echoing them.
func TestSealedKeySetting(t *testing.T) {
	t.Parallel()
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	short := base64.StdEncoding.EncodeToString([]byte("only-sixteen-byt"))
	for _, keys := range [][]string{
		{"not base64!"},
		{short},
		{testKey(1), "c2VjcmV0LW5vdC1hLWtleQ=="},
		{testKey(1), testKey(1)},
	} {
		_, err := NewSealed(d, keys)
		if err == nil {
			t.Errorf("NewSealed(%q): got nil, want an error", keys)
			continue
		}
		if !strings.Contains(err.Error(), "FAXGATE_DOCUMENT_KEY") {
			t.Errorf("NewSealed: got %v, want it to name FAXGATE_DOCUMENT_KEY", err)
		}
		for _, k := range keys {
			if strings.Contains(err.Error(), k) {
				t.Errorf("NewSealed: error %q echoes a key", err)
			}
		}
	}
}

// TestSealedRotation: with the list "new,old", documents sealed with the old
// key still read, and new ones are sealed with the new key.
func TestSealedRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	old := MustSealedDir(t, root, testKey(1))
	if _, err := old.Put(ctx, "in/old.pdf", samplePDF); err != nil {
		t.Fatal(err)
	}
	rotated := MustSealedDir(t, root, testKey(2), testKey(1))
	if got, err := rotated.Get(ctx, "in/old.pdf"); err != nil || !bytes.Equal(got, samplePDF) {
		t.Errorf("old document with the rotated list: got %q, %v, want the PDF", got, err)
	}
	if _, err := rotated.Put(ctx, "in/new.pdf", samplePDF); err != nil {
		t.Fatal(err)
	}
	raw, _ := rotated.inner.Get(ctx, "in/new.pdf")
	if id, ok := sealedWith(raw); !ok || id != rotated.keys[0].id {
		t.Errorf("new document sealed with key id %x (sealed %t), want the first key's %x", id, ok, rotated.keys[0].id)
	}
	if _, err := old.Get(ctx, "in/new.pdf"); !errors.Is(err, ErrWrongDocumentKey) {
		t.Errorf("new document with the old key alone: got %v, want ErrWrongDocumentKey", err)
	}
}

// TestSealedReadsClearDocuments: documents stored before a key was set read
// as they are, through Get and Open.
func TestSealedReadsClearDocuments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{"in/clear.pdf": samplePDF, "in/short.txt": []byte("hi"), "in/empty.txt": nil, "in/tiff.tif": []byte("II*\x00rest")}
	for k, b := range docs {
		if _, err := d.Put(ctx, k, b); err != nil {
			t.Fatal(err)
		}
	}
	s := MustSealedDir(t, root, testKey(1))
	for k, want := range docs {
		if got, err := s.Get(ctx, k); err != nil || !bytes.Equal(got, want) {
			t.Errorf("Get(%s): got %q, %v, want %q", k, got, err, want)
		}
		rc, size, err := s.Open(ctx, k)
		if err != nil {
			t.Fatalf("Open(%s): %v", k, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || size != int64(len(want)) || !bytes.Equal(got, want) {
			t.Errorf("Open(%s): got %q (size %d), %v, want %q", k, got, size, err, want)
		}
	}
}

// TestSealedTampering: any changed byte, a truncation, or a sealed document
// moved under another key fails authentication.
func TestSealedTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	s := MustSealedDir(t, root, testKey(1))
	if _, err := s.Put(ctx, "in/a.pdf", samplePDF); err != nil {
		t.Fatal(err)
	}
	good, err := s.inner.Get(ctx, "in/a.pdf")
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, b []byte, key string, want error) {
		t.Helper()
		if _, err := s.inner.Put(ctx, key, b); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, key); !errors.Is(err, want) {
			t.Errorf("%s: Get: got %q, %v, want %v", name, got, err, want)
		}
		rc, _, err := s.Open(ctx, key)
		if rc != nil {
			rc.Close()
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: Open: got %v, want %v", name, err, want)
		}
	}
	for i := len(sealMagic) + 1 + sealKeyIDLen; i < len(good); i += 7 {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		check("flipped byte", b, "in/a.pdf", ErrDocumentTampered)
	}
	check("truncated", good[:len(good)-1], "in/a.pdf", ErrDocumentTampered)
	check("header only", good[:sealHeaderLen-3], "in/a.pdf", ErrDocumentTampered)
	check("moved", good, "in/b.pdf", ErrDocumentTampered)
	keyid := bytes.Clone(good)
	keyid[len(sealMagic)+1] ^= 0x01
	check("key id changed", keyid, "in/a.pdf", ErrWrongDocumentKey)
	version := bytes.Clone(good)
	version[len(sealMagic)] = 9
	if _, err := s.inner.Put(ctx, "in/a.pdf", version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "in/a.pdf"); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Errorf("unknown version: got %v, want an error naming version 9", err)
	}
}

// TestSealedReseal moves documents in clear and under an older key to the
// first key; a second run finds nothing to do.
func TestSealedReseal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i, k := range []string{"in/a.pdf", "out/b.pdf", "out/c.tif"} {
		want[k] = append(bytes.Clone(samplePDF), byte(i))
	}
	if _, err := d.Put(ctx, "in/a.pdf", want["in/a.pdf"]); err != nil {
		t.Fatal(err)
	}
	if _, err := MustSealedDir(t, root, testKey(1)).Put(ctx, "out/b.pdf", want["out/b.pdf"]); err != nil {
		t.Fatal(err)
	}
	s := MustSealedDir(t, root, testKey(2), testKey(1))
	if _, err := s.Put(ctx, "out/c.tif", want["out/c.tif"]); err != nil {
		t.Fatal(err)
	}
	// A temporary file of an interrupted write is not a document.
	if err := os.WriteFile(filepath.Join(root, "in", ".tmp-123"), []byte("%PDF-half"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	if err := os.Chtimes(filepath.Join(root, "in", "a.pdf"), old, old); err != nil {
		t.Fatal(err)
	}
	var seen []string
	res, err := s.Reseal(ctx, func(key string) { seen = append(seen, key) })
	if err != nil {
		t.Fatal(err)
	}
	if res != (ResealResult{Resealed: 2, Current: 1}) || len(seen) != 2 {
		t.Errorf("first run: got %+v (%q), want 2 resealed, 1 current", res, seen)
	}
	if st, err := os.Stat(filepath.Join(root, "in", "a.pdf")); err != nil || !st.ModTime().Equal(old) {
		t.Errorf("in/a.pdf after Reseal: modified %v, %v, want its old time %v kept for the sweep", st.ModTime(), err, old)
	}
	next := MustSealedDir(t, root, testKey(2))
	for k, w := range want {
		if got, err := next.Get(ctx, k); err != nil || !bytes.Equal(got, w) {
			t.Errorf("%s with the new key alone: got %q, %v, want %q", k, got, err, w)
		}
	}
	if res, err := s.Reseal(ctx, nil); err != nil || res != (ResealResult{Current: 3}) {
		t.Errorf("second run: got %+v, %v, want 3 current", res, err)
	}
	// A document no configured key opens stops the run with its error.
	if _, err := MustSealedDir(t, root, testKey(7)).Put(ctx, "in/z.pdf", samplePDF); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reseal(ctx, nil); !errors.Is(err, ErrWrongDocumentKey) {
		t.Errorf("run over a foreign document: got %v, want ErrWrongDocumentKey", err)
	}
	if _, err := MustSealedDir(t, root).Reseal(ctx, nil); err == nil || !strings.Contains(err.Error(), "FAXGATE_DOCUMENT_KEY") {
		t.Errorf("run without a key: got %v, want an error naming FAXGATE_DOCUMENT_KEY", err)
	}
}

// TestSealedAsDir: the crash sweep still finds the directory under the
// sealing layer.
func TestSealedAsDir(t *testing.T) {
	t.Parallel()
	s := MustSealedDir(t, t.TempDir(), testKey(1))
	if d, ok := AsDir(s); !ok || d != s.inner {
		t.Errorf("AsDir(sealed dir): got %v, %t, want the inner Dir", d, ok)
	}
}

// TestSealedSegments: sizes around segment boundaries round-trip through
// Get and Open, and segments dropped, swapped or altered after the first
// fail, from Read when Open has already answered.
func TestSealedSegments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := MustSealedDir(t, t.TempDir(), testKey(1))
	for _, n := range []int{0, 1, sealSegment - 1, sealSegment, sealSegment + 1, 2 * sealSegment, 2*sealSegment + 17} {
		want := randomBytes(n)
		if _, err := s.Put(ctx, "in/doc.bin", want); err != nil {
			t.Fatal(err)
		}
		raw, _ := s.inner.Get(ctx, "in/doc.bin")
		if size, ok := plainSize(int64(len(raw) - sealHeaderLen)); !ok || size != int64(n) {
			t.Errorf("%d bytes: plainSize of %d sealed bytes: got %d, %t", n, len(raw), size, ok)
		}
		if got, err := s.Get(ctx, "in/doc.bin"); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%d bytes: Get: got %d bytes, %v", n, len(got), err)
		}
		rc, size, err := s.Open(ctx, "in/doc.bin")
		if err != nil {
			t.Fatalf("%d bytes: Open: %v", n, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || size != int64(n) || !bytes.Equal(got, want) {
			t.Errorf("%d bytes: Open: got %d bytes (size %d), %v", n, len(got), size, err)
		}
	}

	want := randomBytes(3*sealSegment + 100)
	if _, err := s.Put(ctx, "in/doc.bin", want); err != nil {
		t.Fatal(err)
	}
	good, _ := s.inner.Get(ctx, "in/doc.bin")
	full := sealSegment + sealTagLen
	seg := func(i int) []byte { return good[sealHeaderLen+i*full : min(sealHeaderLen+(i+1)*full, len(good))] }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	head := good[:sealHeaderLen]
	lateFlip := bytes.Clone(good)
	lateFlip[sealHeaderLen+2*full+5] ^= 0x80
	for name, b := range map[string][]byte{
		"last segment dropped":  join(head, seg(0), seg(1), seg(2)),
		"segments swapped":      join(head, seg(1), seg(0), seg(2), seg(3)),
		"third segment altered": lateFlip,
		"cut inside a segment":  good[:len(good)-50],
	} {
		if _, err := s.inner.Put(ctx, "in/doc.bin", b); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "in/doc.bin"); !errors.Is(err, ErrDocumentTampered) {
			t.Errorf("%s: Get: got %v, want ErrDocumentTampered", name, err)
		}
		rc, _, err := s.Open(ctx, "in/doc.bin")
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if !errors.Is(err, ErrDocumentTampered) {
			t.Errorf("%s: Open and read: got %v, want ErrDocumentTampered", name, err)
		}
	}
}

// FuzzSealedOpen: whatever bytes a store holds, reading them whole or as a
// stream gives the same: those bytes (not sealed), the document, or an
// error; never a panic.
func FuzzSealedOpen(f *testing.F) {
	d, err := NewDir(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	s, err := NewSealed(d, []string{testKey(1)})
	if err != nil {
		f.Fatal(err)
	}
	doc := samplePDF[:20]
	sealed, err := seal(s.keys[0], "k", doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add(samplePDF)
	f.Add([]byte(sealMagic))
	f.Add([]byte(sealMagic + "\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := s.open("k", b)
		switch {
		case err != nil:
			if got != nil {
				t.Errorf("got bytes and an error")
			}
		case !isSealed(b):
			if !bytes.Equal(got, b) {
				t.Errorf("a document in clear changed")
			}
		case !bytes.Equal(got, doc):
			t.Errorf("a sealed document opened to %q", got)
		}
		rc, size, serr := s.reader("k", io.NopCloser(bytes.NewReader(b)), int64(len(b)))
		var streamed []byte
		if serr == nil {
			streamed, serr = io.ReadAll(rc)
			if serr == nil && int64(len(streamed)) != size {
				t.Errorf("stream: %d bytes, size said %d", len(streamed), size)
			}
		}
		if (err == nil) != (serr == nil) || (err == nil && !bytes.Equal(got, streamed)) {
			t.Errorf("whole: %q, %v; stream: %q, %v", got, err, streamed, serr)
		}
	})
}

// TestSealedResealInterrupted stops a run after its first document: every
// document still reads with the rotated list, and the next run finishes
// the rest.
func TestSealedResealInterrupted(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	old := MustSealedDir(t, root, testKey(1))
	for i := range 5 {
		if _, err := old.Put(context.Background(), "in/"+string(rune('a'+i))+".pdf", samplePDF); err != nil {
			t.Fatal(err)
		}
	}
	s := MustSealedDir(t, root, testKey(2), testKey(1))
	ctx, cancel := context.WithCancel(context.Background())
	res, err := s.Reseal(ctx, func(string) { cancel() })
	if !errors.Is(err, context.Canceled) || res.Resealed != 1 {
		t.Fatalf("interrupted run: got %+v, %v, want 1 resealed and context.Canceled", res, err)
	}
	for i := range 5 {
		if got, err := s.Get(context.Background(), "in/"+string(rune('a'+i))+".pdf"); err != nil || !bytes.Equal(got, samplePDF) {
			t.Errorf("document %d after the interruption: got %q, %v", i, got, err)
		}
	}
	res, err = s.Reseal(context.Background(), nil)
	if err != nil || res != (ResealResult{Resealed: 4, Current: 1}) {
		t.Errorf("next run: got %+v, %v, want 4 resealed, 1 current", res, err)
	}
}
