package document

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/image/tiff"

	"github.com/faxgate/faxgate/internal/fax"
)

// TestTIFFDecodeSynthetic decodes libtiff's encodings of pictures the test
// drew itself and wants them back pixel for pixel: every run length of both
// colours in 1D and 2D Group 3, strips, both fill orders, Group 4 and
// uncompressed big-endian data.
func TestTIFFDecodeSynthetic(t *testing.T) {
	tests := []struct {
		file string
		want *bitmap
	}{
		{"runs-g3-1d-lsb.tif", runsBitmap(false)},
		{"runs-g3-2d-fill.tif", runsBitmap(true)},
		{"shapes-g3-2d-strips.tif", shapesBitmap()},
		{"shapes-g4.tif", shapesBitmap()},
		{"shapes-be-none.tif", shapesBitmap()},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rs := rasters(t, mustRead(t, tt.file))
			if len(rs) != 1 {
				t.Fatalf("got %d pages, want 1", len(rs))
			}
			if err := tt.want.equalRaster(rs[0]); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTIFFG3MatchesG4 decodes the same fax pages stored as Group 4 (by
// golang.org/x/image) and as the Group 3 variants fax software writes (by
// faxgate's decoder) and wants identical pages.
func TestTIFFG3MatchesG4(t *testing.T) {
	g4 := rasters(t, mustRead(t, "fax-g4-fine-2p.tif"))
	for _, file := range []string{"fax-g3-2d-fill-lsb-2p.tif", "fax-g3-1d-fill-strips.tif"} {
		t.Run(file, func(t *testing.T) {
			g3 := rasters(t, mustRead(t, file))
			for i, r := range g3 {
				n, err := rasterDiff(r, g4[i])
				if err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("page %d: got %d pixels different from the G4 page, want 0", i+1, n)
				}
			}
		})
	}
}

// TestTIFFToPDF converts the fixtures and checks the PDFs with poppler: the
// page count, and page sizes that honour non-square fax resolutions
// (1728×2156 pixels at 204×196 dpi is 609.9×792 points, US Letter).
func TestTIFFToPDF(t *testing.T) {
	tests := []struct {
		file  string
		pages int
		w, h  float64 // points
	}{
		{"fax-g4-fine-2p.tif", 2, 609.88, 792},
		{"fax-g4-normal.tif", 1, 609.88, 792},
		{"fax-g3-2d-fill-lsb-2p.tif", 2, 609.88, 792},
		{"fax-g3-1d-fill-strips.tif", 1, 609.88, 792},
		{"shapes-be-none.tif", 1, 612, 457.102}, // no resolution: 8.5 inches wide
		{"runs-g3-2d-fill.tif", 1, 612, 612.235},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			pdf, pages, err := TIFFToPDF(mustRead(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if pages != tt.pages {
				t.Fatalf("got %d pages, want %d", pages, tt.pages)
			}
			checkXref(t, pdf)
			if n, err := PageCount(pdf); err != nil || n != tt.pages {
				t.Fatalf("pdfcpu: got %d pages (%v), want %d", n, err, tt.pages)
			}
			info := pdfinfo(t, pdf)
			if info.pages != tt.pages {
				t.Fatalf("pdfinfo: got %d pages, want %d", info.pages, tt.pages)
			}
			for i, size := range info.sizes {
				if math.Abs(size[0]-tt.w) > 0.01 || math.Abs(size[1]-tt.h) > 0.01 {
					t.Errorf("page %d: got %v×%v pt, want %v×%v", i+1, size[0], size[1], tt.w, tt.h)
				}
			}
		})
	}
}

// TestTIFFToPDFRenders renders converted pages with poppler at their own
// size and compares them with the decoded TIFF, block by block: that
// catches inverted images, flipped rows and misplaced pages, which page
// counts cannot see, while forgiving the rasteriser's sub-pixel placement.
func TestTIFFToPDFRenders(t *testing.T) {
	for _, file := range []string{"fax-g3-2d-fill-lsb-2p.tif", "shapes-be-none.tif", "fax-g4-normal.tif"} {
		t.Run(file, func(t *testing.T) {
			b := mustRead(t, file)
			pdf, _, err := TIFFToPDF(b)
			if err != nil {
				t.Fatal(err)
			}
			want := rasters(t, b)[0]
			got := renderPage1(t, pdf, want.w, want.h)
			if d := blockDiff(got, want, 16); d > 0.1 {
				t.Errorf("got blocks up to %.0f%% greyer or lighter than the TIFF's, want under 10%%", d*100)
			}
			if d := blockDiff(got, flipped(want), 16); d < 0.15 {
				t.Errorf("the comparison cannot tell the page from its mirror image (%.2f)", d)
			}
		})
	}
}

// renderPage1 renders page 1 of pdf at w×h pixels with pdftoppm, in grey.
func renderPage1(t *testing.T, pdf []byte, w, h int) raster {
	t.Helper()
	path := requireTool(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "-gray", "-f", "1", "-l", "1", "-scale-to-x", strconv.Itoa(w),
		"-scale-to-y", strconv.Itoa(h), in, filepath.Join(dir, "out")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "out*.pgm"))
	if len(matches) != 1 {
		t.Fatalf("pdftoppm wrote %v, want one PGM", matches)
	}
	pgm, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var pw, ph, maxval int
	if _, err := fmt.Sscanf(string(pgm), "P5\n%d %d\n%d\n", &pw, &ph, &maxval); err != nil {
		t.Fatalf("pgm header: %v", err)
	}
	if pw != w || ph != h || maxval != 255 {
		t.Fatalf("got a %d×%d rendering of %d levels, want %d×%d of 255", pw, ph, maxval, w, h)
	}
	return raster{w: w, h: h, bpc: 8, data: pgm[len(pgm)-w*h:]}
}

// flipped returns the 1-bit raster r upside down.
func flipped(r raster) raster {
	rs := (r.w + 7) / 8
	out := raster{w: r.w, h: r.h, bpc: 1, data: make([]byte, len(r.data))}
	for y := 0; y < r.h; y++ {
		copy(out.data[y*rs:(y+1)*rs], r.data[(r.h-1-y)*rs:])
	}
	return out
}

// blockDiff compares a grey raster with a 1-bit one in n×n blocks and
// returns the largest difference in mean brightness, from 0 to 1.
func blockDiff(gray, bits raster, n int) float64 {
	rs := (bits.w + 7) / 8
	worst := 0.0
	for by := 0; by+n <= gray.h; by += n {
		for bx := 0; bx+n <= gray.w; bx += n {
			var g, b float64
			for y := by; y < by+n; y++ {
				for x := bx; x < bx+n; x++ {
					g += float64(gray.data[y*gray.w+x]) / 255
					if bits.data[y*rs+x/8]&(0x80>>(x%8)) != 0 {
						b++
					}
				}
			}
			worst = max(worst, math.Abs(g-b)/float64(n*n))
		}
	}
	return worst
}

// TestParseTIFF covers the IFD walk on files made to measure, broken ones
// included.
func TestParseTIFF(t *testing.T) {
	page := tiffSpec{w: 16, h: 8, data: make([]byte, 16), xres: 204, yres: 196, unit: 2}
	thumb := page
	thumb.subfile = 1
	le, be := binary.LittleEndian, binary.BigEndian
	loop := buildTIFF(le, page, page)
	// Point the second IFD's next-IFD offset back at the first IFD.
	first := int64(le.Uint32(loop[4:]))
	second := int64(le.Uint32(loop[first+2+12*int64(le.Uint16(loop[first:])):]))
	le.PutUint32(loop[second+2+12*int64(le.Uint16(loop[second:])):], uint32(first))
	selfLoop := buildTIFF(be, page)
	ifd := int64(be.Uint32(selfLoop[4:]))
	be.PutUint32(selfLoop[ifd+2+12*int64(be.Uint16(selfLoop[ifd:])):], uint32(ifd))
	outside := buildTIFF(le, page)
	le.PutUint32(outside[4:], uint32(len(outside)+100))
	truncated := buildTIFF(le, page)
	truncated = truncated[:len(truncated)-6]
	badValue := buildTIFF(be, page)
	// XResolution's value offset points past the end of the file.
	for i := ifd + 2; i < int64(len(badValue))-12; i += 12 {
		if be.Uint16(badValue[i:]) == tagXResolution {
			be.PutUint32(badValue[i+8:], 1<<30)
			break
		}
	}
	many := make([]tiffSpec, MaxPages+1)
	for i := range many {
		many[i] = tiffSpec{w: 8, h: 1, data: []byte{0}}
	}
	huge := page
	huge.w, huge.h = 100000, 100000
	jpeg := page
	jpeg.compression = 7
	g3Uncompressed := page
	g3Uncompressed.compression = compG3
	g3Uncompressed.extra = []tiffField{{tagT4Options, 4, t4Uncompressed}}
	fourBit := page
	fourBit.bps = 4
	zero := page
	zero.w = 0
	g4Gray := page
	g4Gray.compression, g4Gray.bps = compG4, 8
	rgb16 := page
	rgb16.w, rgb16.h, rgb16.bps, rgb16.spp, rgb16.photometric = 4000, 3000, 16, 3, 2
	long := page
	long.w, long.h = 10, 50000

	tests := []struct {
		name  string
		b     []byte
		pages int
		code  string
	}{
		{"little-endian", buildTIFF(le, page), 1, ""},
		{"big-endian three pages", buildTIFF(be, page, page, page), 3, ""},
		{"thumbnail is not a page", buildTIFF(le, page, thumb, page), 2, ""},
		{"max pages", buildTIFF(le, many[:MaxPages]...), MaxPages, ""},
		{"too many pages", buildTIFF(le, many...), 0, fax.ECodeUnprocessable},
		{"loop", loop, 0, fax.ECodeUnprocessable},
		{"self loop", selfLoop, 0, fax.ECodeUnprocessable},
		{"IFD outside the file", outside, 0, fax.ECodeUnprocessable},
		{"truncated IFD", truncated, 0, fax.ECodeUnprocessable},
		{"value outside the file", badValue, 0, fax.ECodeUnprocessable},
		{"only a thumbnail", buildTIFF(le, thumb), 0, fax.ECodeUnprocessable},
		{"header only", []byte("II*\x00\x00\x00\x00\x00"), 0, fax.ECodeUnprocessable},
		{"short header", []byte("II*\x00"), 0, fax.ECodeUnprocessable},
		{"not a tiff", []byte("GIF89a\x00\x00"), 0, fax.ECodeUnsupportedType},
		{"huge page", buildTIFF(le, huge), 0, fax.ECodeUnprocessable},
		{"zero width", buildTIFF(le, zero), 0, fax.ECodeUnprocessable},
		{"jpeg", buildTIFF(le, jpeg), 0, fax.ECodeUnprocessable},
		{"g3 uncompressed mode", buildTIFF(le, g3Uncompressed), 0, fax.ECodeUnprocessable},
		{"4 bits per sample", buildTIFF(le, fourBit), 0, fax.ECodeUnprocessable},
		{"g4 in grey", buildTIFF(le, g4Gray), 0, fax.ECodeUnprocessable},
		{"deep colour page too large", buildTIFF(le, rgb16), 0, fax.ECodeUnprocessable},
		{"page too long", buildTIFF(le, long), 0, fax.ECodeUnprocessable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages, err := parseTIFF(tt.b, defaultTIFFLimits())
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(pages) != tt.pages {
				t.Fatalf("got %d pages, want %d", len(pages), tt.pages)
			}
		})
	}
}

// TestTIFFPageSize checks the physical page size for the ways TIFFs state
// (or fail to state) their resolution.
func TestTIFFPageSize(t *testing.T) {
	tests := []struct {
		name string
		p    tiffPage
		w, h float64
	}{
		{"fine", tiffPage{width: 1728, height: 2156, xdpi: 204, ydpi: 196}, 609.882, 792},
		{"normal", tiffPage{width: 1728, height: 1078, xdpi: 204, ydpi: 98}, 609.882, 792},
		{"superfine", tiffPage{width: 1728, height: 4312, xdpi: 204, ydpi: 392}, 609.882, 792},
		{"300 dpi A4", tiffPage{width: 2480, height: 3508, xdpi: 300, ydpi: 300}, 595.2, 841.92},
		{"x only", tiffPage{width: 1700, height: 2200, xdpi: 200}, 612, 792},
		{"y only", tiffPage{width: 1700, height: 2200, ydpi: 200}, 612, 792},
		{"none", tiffPage{width: 1700, height: 2200}, 612, 792},
		{"aspect only", tiffPage{width: 1728, height: 1078, aspect: 0.5}, 612, 763.583},
		{"absurd dpi", tiffPage{width: 1700, height: 2200, xdpi: 1, ydpi: 1}, 612, 792},
		{"too big at its dpi", tiffPage{width: 30000, height: 30000, xdpi: 100, ydpi: 100}, 612, 612},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h, err := tt.p.pageSize()
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(w-tt.w) > 0.001 || math.Abs(h-tt.h) > 0.001 {
				t.Fatalf("got %.3f×%.3f pt, want %.3f×%.3f", w, h, tt.w, tt.h)
			}
		})
	}
	_, _, err := tiffPage{width: 1, height: 100000}.pageSize()
	wantCode(t, err, fax.ECodeUnprocessable)
}

// TestTIFFResolutionUnits checks that centimetres and inches both give
// dots per inch.
func TestTIFFResolutionUnits(t *testing.T) {
	le := binary.LittleEndian
	tests := []struct {
		unit       int
		xres, yres uint32
		xdpi, ydpi float64
		aspect     float64
	}{
		{2, 204, 196, 204, 196, 0},
		{0, 204, 98, 204, 98, 0}, // inches by default
		{3, 80, 77, 203.2, 195.58, 0},
		{1, 2, 1, 0, 0, 0.5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.unit), func(t *testing.T) {
			b := buildTIFF(le, tiffSpec{w: 8, h: 8, data: make([]byte, 8), xres: tt.xres, yres: tt.yres, unit: tt.unit})
			pages, err := parseTIFF(b, defaultTIFFLimits())
			if err != nil {
				t.Fatal(err)
			}
			p := pages[0]
			if math.Abs(p.xdpi-tt.xdpi) > 0.01 || math.Abs(p.ydpi-tt.ydpi) > 0.01 || p.aspect != tt.aspect {
				t.Fatalf("got %v×%v dpi, aspect %v, want %v×%v, %v", p.xdpi, p.ydpi, p.aspect, tt.xdpi, tt.ydpi, tt.aspect)
			}
		})
	}
}

// TestTIFFToPDFGray converts TIFFs golang.org/x/image writes: grey and
// colour pages stay 8-bit grey, black-and-white ones become 1-bit.
func TestTIFFToPDFGray(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 64, 32))
	for i := range gray.Pix {
		gray.Pix[i] = byte(i)
	}
	bw := image.NewGray(image.Rect(0, 0, 33, 10))
	for i := range bw.Pix {
		if i%3 == 0 {
			bw.Pix[i] = 0xff
		}
	}
	rgba := image.NewNRGBA(image.Rect(0, 0, 20, 20))
	for i := range 20 {
		rgba.Set(i, i, color.NRGBA{R: 200, A: 0x80})
	}
	tests := []struct {
		name string
		m    image.Image
		bpc  int
	}{
		{"gray", gray, 8},
		{"black and white", bw, 1},
		{"translucent colour", rgba, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tiff.Encode(&buf, tt.m, &tiff.Options{Compression: tiff.Deflate}); err != nil {
				t.Fatal(err)
			}
			rs := rasters(t, buf.Bytes())
			if rs[0].bpc != tt.bpc {
				t.Fatalf("got %d bits per pixel, want %d", rs[0].bpc, tt.bpc)
			}
			pdf, pages, err := TIFFToPDF(buf.Bytes())
			if err != nil || pages != 1 {
				t.Fatalf("got %d pages, %v; want 1, nil", pages, err)
			}
			if info := pdfinfo(t, pdf); info.pages != 1 {
				t.Fatalf("pdfinfo: got %d pages, want 1", info.pages)
			}
		})
	}
	// A pixel over white paper: transparent is white, half-transparent red
	// is a light grey.
	if got := grayOver(rgba, 1, 0); got != 0xff {
		t.Errorf("transparent pixel: got grey %d, want 255", got)
	}
	if got := grayOver(rgba, 1, 1); got < 150 || got > 200 {
		t.Errorf("translucent red: got grey %d, want 150 to 200", got)
	}
}

// TestTIFFToPDFCorrupt wants damaged fax data refused, not rendered as
// garbage or a panic.
func TestTIFFToPDFCorrupt(t *testing.T) {
	g3 := mustRead(t, "fax-g3-2d-fill-lsb-2p.tif")
	pages, err := parseTIFF(g3, defaultTIFFLimits())
	if err != nil {
		t.Fatal(err)
	}
	garbled := bytes.Clone(g3)
	off := pages[0].stripOffsets[0]
	for i := off + 2000; i < off+2100; i++ {
		garbled[i] = 0x5a
	}
	_, _, err = TIFFToPDF(garbled)
	wantCode(t, err, fax.ECodeUnprocessable)

	// Data that stops early leaves the rest of the page white, as a fax
	// machine would print it.
	cut := bytes.Clone(g3)
	le := binary.LittleEndian
	for i := pages[0].ifd + 2; i < pages[0].ifd+2+12*int64(le.Uint16(cut[pages[0].ifd:])); i += 12 {
		if le.Uint16(cut[i:]) == tagStripByteCounts {
			le.PutUint32(cut[i+8:], 500)
		}
	}
	if _, n, err := TIFFToPDF(cut); err != nil || n != 2 {
		t.Fatalf("truncated strip: got %d pages, %v; want 2, nil", n, err)
	}

	g4 := bytes.Clone(mustRead(t, "shapes-g4.tif"))
	p4, err := parseTIFF(g4, defaultTIFFLimits())
	if err != nil {
		t.Fatal(err)
	}
	for i := p4[0].stripOffsets[0]; i < p4[0].stripOffsets[0]+200; i++ {
		g4[i] = 0
	}
	_, _, err = TIFFToPDF(g4)
	wantCode(t, err, fax.ECodeUnprocessable)
}
