package document

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// mustRead returns the contents of testdata/name.
func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("read fixture: %v (regenerate with: go test ./internal/document -run TestFixtures -update)", err)
	}
	return b
}

// wantCode fails the test unless err carries the fax error code want.
func wantCode(t testing.TB, err error, want string) {
	t.Helper()
	if got := fax.ErrorCode(err); got != want {
		t.Fatalf("got error code %q (%v), want %q", got, err, want)
	}
	var fe *fax.Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %T %v, want a *fax.Error in the chain", err, err)
	}
}

// popplerInfo is what pdfinfo says about a PDF.
type popplerInfo struct {
	pages int
	sizes [][2]float64 // points, per page
}

// requireTool returns the path of a command-line tool the cross-checks
// need. Without it the test is skipped, except on CI (CI=true), which
// installs poppler-utils and must not silently skip the cross-checks.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not on PATH; CI must install poppler-utils", name)
	}
	t.Skipf("%s is not on PATH; install poppler-utils to cross-check generated PDFs", name)
	return ""
}

// pdfinfo runs poppler's pdfinfo on pdf and fails the test on any syntax
// error or warning, which is how poppler reports broken xref offsets.
func pdfinfo(t testing.TB, pdf []byte) popplerInfo {
	t.Helper()
	path := requireTool(t, "pdfinfo")
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(path, "-f", "1", "-l", "100000", f)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdfinfo: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Fatalf("pdfinfo complained: %s", stderr.String())
	}
	var info popplerInfo
	for _, line := range strings.Split(stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("pdfinfo: bad Pages line %q", line)
			}
			info.pages = n
		}
	}
	pageSize := regexp.MustCompile(`(?m)^Page\s+(\d+) size:\s+([0-9.]+) x ([0-9.]+) pts`)
	for _, m := range pageSize.FindAllStringSubmatch(stdout.String(), -1) {
		w, _ := strconv.ParseFloat(m[2], 64)
		h, _ := strconv.ParseFloat(m[3], 64)
		info.sizes = append(info.sizes, [2]float64{w, h})
	}
	return info
}

// checkXref checks that every in-use xref entry of a PDF written by pdfDoc
// points at the start of its object and that startxref points at the table.
func checkXref(t testing.TB, pdf []byte) {
	t.Helper()
	i := bytes.LastIndex(pdf, []byte("startxref\n"))
	if i < 0 {
		t.Fatal("no startxref")
	}
	var xref int
	if _, err := fmt.Sscanf(string(pdf[i+len("startxref\n"):]), "%d", &xref); err != nil {
		t.Fatalf("startxref: %v", err)
	}
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	var n int
	if _, err := fmt.Sscanf(string(pdf[xref+len("xref\n0 "):]), "%d", &n); err != nil {
		t.Fatalf("xref size: %v", err)
	}
	entries := pdf[bytes.IndexByte(pdf[xref+5:], '\n')+xref+6:]
	for obj := 1; obj < n; obj++ {
		e := entries[obj*20 : obj*20+20]
		off, err := strconv.Atoi(string(e[:10]))
		if err != nil || e[17] != 'n' || string(e[18:]) != "\r\n" {
			t.Fatalf("xref entry %d is %q", obj, e)
		}
		want := fmt.Sprintf("%d 0 obj\n", obj)
		if !bytes.HasPrefix(pdf[off:], []byte(want)) {
			t.Fatalf("xref entry %d points at %q, want %q", obj, pdf[off:min(len(pdf), off+12)], want)
		}
	}
}

// bitmap is a bilevel test image, one bool a pixel, true for black.
type bitmap struct {
	w, h  int
	black []bool
}

func newBitmap(w, h int) *bitmap { return &bitmap{w: w, h: h, black: make([]bool, w*h)} }

func (m *bitmap) set(x, y int) {
	if x >= 0 && x < m.w && y >= 0 && y < m.h {
		m.black[y*m.w+x] = true
	}
}

// packed returns m as packed TIFF rows, one bit a pixel, 1 for black
// (PhotometricInterpretation WhiteIsZero).
func (m *bitmap) packed() []byte {
	rs := (m.w + 7) / 8
	out := make([]byte, rs*m.h)
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			if m.black[y*m.w+x] {
				out[y*rs+x/8] |= 0x80 >> (x % 8)
			}
		}
	}
	return out
}

// equalRaster reports the first pixel where r, a 1-bit raster with one
// for white, differs from m.
func (m *bitmap) equalRaster(r raster) error {
	if r.w != m.w || r.h != m.h || r.bpc != 1 {
		return fmt.Errorf("got %d×%d raster of %d bits, want %d×%d of 1", r.w, r.h, r.bpc, m.w, m.h)
	}
	rs := (m.w + 7) / 8
	for y := 0; y < m.h; y++ {
		for x := 0; x < m.w; x++ {
			white := r.data[y*rs+x/8]&(0x80>>(x%8)) != 0
			if white == m.black[y*m.w+x] {
				return fmt.Errorf("pixel (%d, %d): got black=%t, want %t", x, y, !white, m.black[y*m.w+x])
			}
		}
	}
	return nil
}

// rasterDiff counts the pixels where two 1-bit rasters differ, ignoring the
// padding bits at the ends of rows.
func rasterDiff(a, b raster) (int, error) {
	if a.w != b.w || a.h != b.h || a.bpc != 1 || b.bpc != 1 {
		return 0, fmt.Errorf("rasters differ in shape: %d×%d@%d and %d×%d@%d", a.w, a.h, a.bpc, b.w, b.h, b.bpc)
	}
	rs := (a.w + 7) / 8
	n := 0
	for y := 0; y < a.h; y++ {
		for x := 0; x < a.w; x++ {
			i, bit := y*rs+x/8, byte(0x80>>(x%8))
			if a.data[i]&bit != b.data[i]&bit {
				n++
			}
		}
	}
	return n, nil
}

// runsBitmap has, on row r, a white run of r pixels and then black to the
// end of the row, so its rows use every run length from 0 to w of both
// colours, and so every T.4 terminating and make-up code. shuffled
// scrambles the row order so that 2D coding has to use horizontal mode.
func runsBitmap(shuffled bool) *bitmap {
	const w = 2600
	m := newBitmap(w, w+1)
	for r := 0; r <= w; r++ {
		y := r
		if shuffled {
			y = (r * 1024) % (w + 1) // 1024 is coprime to 2601: a permutation
		}
		for x := r; x < w; x++ {
			m.set(x, y)
		}
	}
	return m
}

// shapesBitmap is a small drawing with diagonal lines, a filled circle,
// a checkerboard and one-pixel details: every 2D mode, in little space.
func shapesBitmap() *bitmap {
	const w, h = 403, 301 // odd sizes: rows end mid-byte
	m := newBitmap(w, h)
	for i := 0; i < h; i++ {
		m.set(i, i)
		m.set(w-1-i, i)
		m.set(i/3+20, i)
	}
	for y := -60; y <= 60; y++ {
		for x := -60; x <= 60; x++ {
			if x*x+y*y <= 3600 && (x*x+y*y > 1600 || (x+y)%7 == 0) {
				m.set(200+x, 150+y)
			}
		}
	}
	for y := 220; y < 290; y++ {
		for x := 20; x < 380; x++ {
			if (x/5+y/5)%2 == 0 {
				m.set(x, y)
			}
		}
	}
	for x := 0; x < w; x += 3 {
		m.set(x, 0)
		m.set(x, h-1)
	}
	return m
}

// byteOrder is binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiffSpec describes one IFD for buildTIFF.
type tiffSpec struct {
	w, h         int
	data         []byte // one strip
	bps, spp     int    // default 1, 1
	compression  int    // default 1 (none)
	photometric  int
	xres, yres   uint32 // dots per inch; 0 leaves the tag out
	unit         int    // ResolutionUnit; 0 leaves the tag out
	subfile      int    // NewSubfileType; 0 leaves the tag out
	rowsPerStrip int    // 0 leaves the tag out
	extra        []tiffField
}

// tiffField is an IFD entry with an inline value of one SHORT or LONG.
type tiffField struct {
	tag, typ uint16
	val      uint32
}

// buildTIFF writes a TIFF with one IFD a spec, chained in order, so tests
// can make exactly the files they need, broken ones included.
func buildTIFF(order byteOrder, specs ...tiffSpec) []byte {
	var buf bytes.Buffer
	if order.String() == binary.BigEndian.String() {
		buf.WriteString("MM\x00*")
	} else {
		buf.WriteString("II*\x00")
	}
	buf.Write(make([]byte, 4))
	link := 4
	u16 := func(v uint16) { buf.Write(order.AppendUint16(nil, v)) }
	u32 := func(v uint32) { buf.Write(order.AppendUint32(nil, v)) }
	for _, s := range specs {
		strip := buf.Len()
		buf.Write(s.data)
		if buf.Len()%2 == 1 {
			buf.WriteByte(0)
		}
		rat := buf.Len()
		u32(s.xres)
		u32(1)
		u32(s.yres)
		u32(1)
		fields := []tiffField{
			{tagImageWidth, 4, uint32(s.w)},
			{tagImageLength, 4, uint32(s.h)},
			{tagBitsPerSample, 3, uint32(cmpOr(s.bps, 1))},
			{tagCompression, 3, uint32(cmpOr(s.compression, 1))},
			{tagPhotometric, 3, uint32(s.photometric)},
			{tagStripOffsets, 4, uint32(strip)},
			{tagSamplesPerPixel, 3, uint32(cmpOr(s.spp, 1))},
			{tagStripByteCounts, 4, uint32(len(s.data))},
		}
		if s.subfile != 0 {
			fields = append(fields, tiffField{tagNewSubfileType, 4, uint32(s.subfile)})
		}
		if s.rowsPerStrip != 0 {
			fields = append(fields, tiffField{tagRowsPerStrip, 4, uint32(s.rowsPerStrip)})
		}
		if s.xres != 0 {
			fields = append(fields, tiffField{tagXResolution, 5, uint32(rat)})
		}
		if s.yres != 0 {
			fields = append(fields, tiffField{tagYResolution, 5, uint32(rat + 8)})
		}
		if s.unit != 0 {
			fields = append(fields, tiffField{tagResolutionUnit, 3, uint32(s.unit)})
		}
		fields = append(fields, s.extra...)
		slices.SortFunc(fields, func(a, b tiffField) int { return int(a.tag) - int(b.tag) })
		ifd := buf.Len()
		order.PutUint32(buf.Bytes()[link:], uint32(ifd))
		u16(uint16(len(fields)))
		for _, f := range fields {
			u16(f.tag)
			u16(f.typ)
			u32(1)
			if f.typ == 3 {
				u16(uint16(f.val))
				u16(0)
			} else {
				u32(f.val)
			}
		}
		link = buf.Len()
		u32(0)
	}
	return buf.Bytes()
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// rasters decodes every page of the TIFF b.
func rasters(t testing.TB, b []byte) []raster {
	t.Helper()
	pages, err := parseTIFF(b, defaultTIFFLimits())
	if err != nil {
		t.Fatalf("parse tiff: %v", err)
	}
	c := tiffDecoder{b: b}
	var out []raster
	for i, p := range pages {
		r, err := c.raster(p)
		if err != nil {
			t.Fatalf("page %d: %v", i+1, err)
		}
		out = append(out, r)
	}
	return out
}
