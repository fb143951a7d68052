package document

import (
	"encoding/binary"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "regenerate testdata fixtures (needs Ghostscript and libtiff-tools)")

// faxText is the text of the fixture fax pages.
func faxText() string {
	var b strings.Builder
	b.WriteString("FAXGATE TEST FAX\n\nTo: +1 555 0100\nFrom: +1 555 0199\n\n")
	for i := 1; i <= 12; i++ {
		b.WriteString(strings.Repeat(" ", i))
		b.WriteString("The quick brown fox jumps over the lazy dog. 0123456789 ([{}])\n")
	}
	b.WriteString("\fPage two.\n\n")
	b.WriteString(strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 8))
	return b.String()
}

// TestFixtures checks the committed TIFF fixtures and, with -update,
// regenerates them: the fax pages with Ghostscript's fax devices, their G3
// variants with tiffcp, and the synthetic pictures from runsBitmap and
// shapesBitmap through tiffcp, so that libtiff, not faxgate, encodes what
// faxgate decodes.
func TestFixtures(t *testing.T) {
	if *update {
		generateFixtures(t)
	}
	tests := []struct {
		name          string
		pages         int
		width, height int64
		xdpi, ydpi    float64
		compression   int64
		t4Options     int64
		fillOrder     int64
		strips        int
	}{
		{"fax-g4-fine-2p.tif", 2, 1728, 2156, 204, 196, compG4, 0, 1, 1},
		{"fax-g4-normal.tif", 1, 1728, 1078, 204, 98, compG4, 0, 1, 1},
		{"fax-g3-2d-fill-lsb-2p.tif", 2, 1728, 2156, 204, 196, compG3, 5, 2, 1},
		{"fax-g3-1d-fill-strips.tif", 1, 1728, 2156, 204, 196, compG3, 4, 1, 0},
		{"runs-g3-1d-lsb.tif", 1, 2600, 2601, 0, 0, compG3, 0, 2, 0},
		{"runs-g3-2d-fill.tif", 1, 2600, 2601, 0, 0, compG3, 5, 1, 0},
		{"shapes-g3-2d-strips.tif", 1, 403, 301, 0, 0, compG3, 1, 1, 9},
		{"shapes-g4.tif", 1, 403, 301, 0, 0, compG4, 0, 1, 0},
		{"shapes-be-none.tif", 1, 403, 301, 0, 0, compNone, 0, 1, 0},
	}
	total := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustRead(t, tt.name)
			total += len(b)
			pages, err := parseTIFF(b, defaultTIFFLimits())
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != tt.pages {
				t.Fatalf("got %d pages, want %d", len(pages), tt.pages)
			}
			for i, p := range pages {
				if p.width != tt.width || p.height != tt.height {
					t.Errorf("page %d: got %d×%d pixels, want %d×%d", i+1, p.width, p.height, tt.width, tt.height)
				}
				if tt.xdpi != 0 && (p.xdpi != tt.xdpi || p.ydpi != tt.ydpi) {
					t.Errorf("page %d: got %v×%v dpi, want %v×%v", i+1, p.xdpi, p.ydpi, tt.xdpi, tt.ydpi)
				}
				if p.compression != tt.compression || p.t4Options != tt.t4Options || p.fillOrder != tt.fillOrder {
					t.Errorf("page %d: got compression %d, T4Options %d, FillOrder %d, want %d, %d, %d",
						i+1, p.compression, p.t4Options, p.fillOrder, tt.compression, tt.t4Options, tt.fillOrder)
				}
				if tt.strips == 1 && len(p.stripOffsets) != 1 || tt.strips > 1 && len(p.stripOffsets) < tt.strips || tt.strips == 0 && len(p.stripOffsets) < 1 {
					t.Errorf("page %d: got %d strips, want %d (0: any)", i+1, len(p.stripOffsets), tt.strips)
				}
			}
		})
	}
	if total > 200<<10 {
		t.Errorf("got %d bytes of TIFF fixtures, want at most 200 KB", total)
	}
}

func generateFixtures(t *testing.T) {
	t.Helper()
	gs := requireTool(t, "gs")
	tiffcp := requireTool(t, "tiffcp")
	tmp := t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	td := func(name string) string { return filepath.Join("testdata", name) }

	pdf, err := TextToPDF(faxText())
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(tmp, "fax.pdf")
	write(src, pdf)
	run(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=tiffg4", "-r204x196",
		"-sOutputFile="+td("fax-g4-fine-2p.tif"), src)
	run(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=tiffg4", "-r204x98",
		"-dFirstPage=1", "-dLastPage=1", "-sOutputFile="+td("fax-g4-normal.tif"), src)
	// What spandsp (Asterisk's ReceiveFAX) writes: 2D, fill bits, LSB first,
	// one strip a page.
	run(tiffcp, "-c", "g3:2d:fill", "-f", "lsb2msb", "-r", "100000",
		td("fax-g4-fine-2p.tif"), td("fax-g3-2d-fill-lsb-2p.tif"))
	run(tiffcp, "-c", "g3:1d:fill", td("fax-g4-fine-2p.tif")+",0", td("fax-g3-1d-fill-strips.tif"))

	raw := filepath.Join(tmp, "raw.tif")
	write(raw, bitmapTIFF(runsBitmap(false)))
	run(tiffcp, "-c", "g3:1d", "-f", "lsb2msb", raw, td("runs-g3-1d-lsb.tif"))
	write(raw, bitmapTIFF(runsBitmap(true)))
	run(tiffcp, "-c", "g3:2d:fill", raw, td("runs-g3-2d-fill.tif"))
	write(raw, bitmapTIFF(shapesBitmap()))
	run(tiffcp, "-c", "g3:2d", "-r", "37", raw, td("shapes-g3-2d-strips.tif"))
	run(tiffcp, "-c", "g4", raw, td("shapes-g4.tif"))
	run(tiffcp, "-B", "-c", "none", raw, td("shapes-be-none.tif"))
}

// bitmapTIFF writes m as an uncompressed little-endian bilevel TIFF.
func bitmapTIFF(m *bitmap) []byte {
	return buildTIFF(binary.LittleEndian, tiffSpec{w: m.w, h: m.h, data: m.packed(), rowsPerStrip: m.h})
}
