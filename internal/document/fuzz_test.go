package document

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// fuzzSeeds returns the fixtures in testdata plus small documents of every
// type, for the fuzz tests to start from.
func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	files, err := filepath.Glob(filepath.Join("testdata", "*.tif"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	pdf := mustTextPDF(f, 2)
	g3 := shapesBitmap()
	seeds = append(seeds,
		pdf,
		pdfcpuOptimized(f, pdf),
		pdfcpuEncrypted(f, pdf, "", "owner", true, 128),
		[]byte(noPagesPDF),
		[]byte("Dear Sir,\n\tplease find\fattached.\n"),
		buildTIFF(binary.BigEndian, tiffSpec{w: 9, h: 3, data: []byte{0xff, 0x80, 0, 0, 0xaa, 0x55}, xres: 204, yres: 98, unit: 2}),
		buildTIFF(binary.LittleEndian, tiffSpec{w: g3.w, h: g3.h, data: g3.packed()}, tiffSpec{w: 8, h: 1, data: []byte{1}, subfile: 1}),
	)
	return seeds
}

// errorIsForUsers fails the test unless err is nil or carries a *fax.Error
// that is not internal: bad input is the user's problem to fix, and must
// say so.
func errorIsForUsers(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if code := fax.ErrorCode(err); code == fax.ECodeInternal {
		t.Fatalf("got an internal error for bad input: %v", err)
	}
}

func FuzzSniff(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, err := Sniff(b)
		errorIsForUsers(t, err)
		if err == nil && typ != PDF && typ != TIFF && typ != Text {
			t.Fatalf("got type %q with no error", typ)
		}
	})
}

func FuzzInspect(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Inspect(b)
		errorIsForUsers(t, err)
		if err != nil {
			return
		}
		if info.Pages < 1 || info.Pages > MaxPages {
			t.Fatalf("got %d pages, want 1 to %d", info.Pages, MaxPages)
		}
		if info.MIME != info.Type.MIME() {
			t.Fatalf("got MIME %q for type %q", info.MIME, info.Type)
		}
	})
}

func FuzzTIFFToPDF(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		if bytes.HasPrefix(s, []byte("II")) || bytes.HasPrefix(s, []byte("MM")) {
			f.Add(s)
		}
	}
	// Small limits keep every input cheap; the code paths are the same.
	lim := tiffLimits{pagePixels: 1 << 20, totalPixels: 4 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		pdf, pages, err := tiffToPDF(b, lim)
		errorIsForUsers(t, err)
		if err != nil {
			return
		}
		want, err := parseTIFF(b, lim)
		if err != nil {
			t.Fatalf("converted, but parseTIFF fails: %v", err)
		}
		if pages != len(want) {
			t.Fatalf("got %d pages, want %d", pages, len(want))
		}
		if !bytes.HasSuffix(pdf, []byte("%%EOF\n")) || bytes.Count(pdf, []byte("/Type /Page ")) != pages {
			t.Fatalf("got a malformed PDF of %d bytes for %d pages", len(pdf), pages)
		}
	})
}

func FuzzTextToPDF(f *testing.F) {
	f.Add("Dear Sir,\n\tplease find\fattached.\n")
	f.Add(strings.Repeat("word ", 100) + "\r\n\f\f€ (x) \\")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		pdf, err := TextToPDF(s)
		errorIsForUsers(t, err)
		if err != nil {
			return
		}
		checkXref(t, pdf)
		if got, want := bytes.Count(pdf, []byte("/Type /Page ")), textPages(s); got != want {
			t.Fatalf("got %d pages, want %d", got, want)
		}
	})
}
