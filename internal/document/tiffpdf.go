package document

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"io"

	"golang.org/x/image/ccitt"
	"golang.org/x/image/tiff"

	"github.com/faxgate/faxgate/internal/fax"
)

// maxPagePoints is the largest page side PDF readers accept (200 inches).
const maxPagePoints = 14400

// TIFFToPDF converts a TIFF, typically a multi-page black-and-white fax
// (CCITT G3 or G4, or uncompressed), to a PDF with one page per TIFF page,
// so that received and uploaded faxes are stored and served in one format.
// Each page keeps its physical size: fax resolutions have non-square pixels
// (204×196 or 204×98 dpi), so XResolution and YResolution both count. Pages
// are embedded losslessly: bilevel ones as 1-bit images, anything else in
// grey. It also returns the page count. Errors meant for the user are
// *fax.Error values with code unprocessable (or unsupported_type when b is
// not a TIFF at all).
func TIFFToPDF(b []byte) (pdf []byte, pages int, err error) {
	return tiffToPDF(b, defaultTIFFLimits())
}

func tiffToPDF(b []byte, lim tiffLimits) ([]byte, int, error) {
	ps, err := parseTIFF(b, lim)
	if err != nil {
		return nil, 0, err
	}
	c := tiffDecoder{b: b}
	d := newPDFDoc()
	for i, p := range ps {
		w, h, err := p.pageSize()
		if err != nil {
			return nil, 0, err
		}
		r, err := c.raster(p)
		if err != nil {
			return nil, 0, pageError(i+1, err)
		}
		content := fmt.Sprintf("q %s 0 0 %s 0 0 cm /Im0 Do Q\n", pdfNum(w), pdfNum(h))
		if err := d.addPage(w, h, []byte(content), false, []pdfImage{r.pdfImage()}); err != nil {
			return nil, 0, err
		}
	}
	out, err := d.bytes()
	if err != nil {
		return nil, 0, err
	}
	return out, len(ps), nil
}

// pageError adds the page number to the internal part of err.
func pageError(page int, err error) error {
	return fmt.Errorf("document: tiff page %d: %w", page, err)
}

// raster is one decoded page: rows of packed bits, one for white (bpc 1),
// or of grey bytes (bpc 8).
type raster struct {
	w, h, bpc int
	data      []byte
}

// pdfImage embeds r as a DeviceGray image.
func (r raster) pdfImage() pdfImage {
	return pdfImage{
		dict: fmt.Sprintf("/Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent %d", r.w, r.h, r.bpc),
		data: r.data,
	}
}

// tiffDecoder decodes the pages of one TIFF file.
type tiffDecoder struct {
	b  []byte
	g3 *g3Tables // built on the first G3 page
}

// raster decodes page p: Group 4 strips with golang.org/x/image/ccitt
// straight into packed rows (several times faster than through an
// image.Gray), Group 3 with faxgate's own decoder, everything else with
// golang.org/x/image/tiff.
func (c *tiffDecoder) raster(p tiffPage) (raster, error) {
	if p.compression == compG4 && !p.tiled {
		return decodeG4Page(c.b, p)
	}
	if p.compression != compG3 {
		return decodeTIFFPage(c.b, p)
	}
	if c.g3 == nil {
		c.g3 = newG3Tables()
	}
	return decodeG3(c.g3, c.b, p)
}

// decodeG3 decodes the Group 3 page p with faxgate's decoder, which is
// fuzzed not to panic; the recover is there in case it ever does.
func decodeG3(t *g3Tables, b []byte, p tiffPage) (r raster, err error) {
	defer func() {
		if v := recover(); v != nil {
			r, err = raster{}, errCorruptTIFF(fmt.Errorf("document: g3 decoder panicked: %v", v))
		}
	}()
	bits, err := decodeG3Page(t, b, p)
	if err != nil {
		return raster{}, errCorruptTIFF(err)
	}
	return raster{w: int(p.width), h: int(p.height), bpc: 1, data: bits}, nil
}

// decodeG4Page decodes the Group 4 strips of page p in b.
func decodeG4Page(b []byte, p tiffPage) (r raster, err error) {
	defer func() {
		if v := recover(); v != nil {
			r, err = raster{}, errCorruptTIFF(fmt.Errorf("document: ccitt decoder panicked: %v", v))
		}
	}()
	w, h := int(p.width), int(p.height)
	rowSize := (w + 7) / 8
	out := make([]byte, rowSize*h)
	err = eachStrip(b, p, func(s, first, rows int, data []byte) error {
		order := ccitt.MSB
		if p.fillOrder == 2 {
			order = ccitt.LSB
		}
		// The reader's 1 bits are white runs; BlackIsZero shows them black.
		opts := &ccitt.Options{Invert: p.photometric == photoBlackIsZero}
		zr := ccitt.NewReader(bytes.NewReader(data), order, ccitt.Group4, w, rows, opts)
		if _, err := io.ReadFull(zr, out[first*rowSize:(first+rows)*rowSize]); err != nil {
			return fmt.Errorf("document: g4 strip %d: %w", s, err)
		}
		return nil
	})
	if err != nil {
		return raster{}, errCorruptTIFF(err)
	}
	return raster{w: w, h: h, bpc: 1, data: out}, nil
}

// eachStrip calls fn with each strip of page p: its index, first row,
// number of rows and bytes, all checked against b. A missing byte count
// means the strip runs to the end of the file.
func eachStrip(b []byte, p tiffPage, fn func(s, first, rows int, data []byte) error) error {
	height := int(p.height)
	rps := int(min(p.rowsPerStrip, p.height))
	if rps <= 0 {
		rps = height
	}
	strips := (height + rps - 1) / rps
	if len(p.stripOffsets) < strips {
		return fmt.Errorf("document: tiff page has %d strips, want %d", len(p.stripOffsets), strips)
	}
	for s := 0; s < strips; s++ {
		off := p.stripOffsets[s]
		n := int64(len(b)) - off
		if s < len(p.stripCounts) {
			n = p.stripCounts[s]
		}
		if off < 0 || off > int64(len(b)) || n < 0 || n > int64(len(b))-off {
			return fmt.Errorf("document: tiff strip %d at %d+%d out of range", s, off, n)
		}
		first := s * rps
		if err := fn(s, first, min(rps, height-first), b[off:off+n]); err != nil {
			return err
		}
	}
	return nil
}

// pageSize returns the physical size of p in points. A page that does not
// state a usable resolution is assumed to be as wide as a fax page
// (8.5 inches) with square pixels, or with the unit-less aspect ratio the
// file gives.
func (p tiffPage) pageSize() (w, h float64, err error) {
	usable := func(dpi float64) bool { return dpi >= 10 && dpi <= 10000 }
	xd, yd := p.xdpi, p.ydpi
	switch {
	case usable(xd) && usable(yd):
	case usable(xd):
		yd = xd
	case usable(yd):
		xd = yd
	default:
		xd, yd = 0, 0
	}
	if xd > 0 {
		w, h = float64(p.width)/xd*72, float64(p.height)/yd*72
		if w >= 1 && w <= maxPagePoints && h >= 1 && h <= maxPagePoints {
			return w, h, nil
		}
	}
	aspect := 1.0
	if p.aspect >= 0.25 && p.aspect <= 4 {
		aspect = p.aspect
	}
	w = 8.5 * 72
	h = w * float64(p.height) / float64(p.width) / aspect
	if h < 1 || h > maxPagePoints {
		return 0, 0, fax.Errorf(fax.ECodeUnprocessable, "a TIFF page of %d×%d pixels is too long to fax", p.width, p.height)
	}
	return w, h, nil
}

// decodeTIFFPage decodes page p of b with golang.org/x/image/tiff, which
// reads only a file's first IFD: it is shown a view of b whose header points
// at p's IFD instead. Every other offset in a TIFF is absolute, so nothing
// else needs to move.
func decodeTIFFPage(b []byte, p tiffPage) (r raster, err error) {
	defer func() {
		if v := recover(); v != nil {
			r, err = raster{}, errCorruptTIFF(fmt.Errorf("document: tiff decoder panicked: %v", v))
		}
	}()
	v := &ifdView{b: b}
	copy(v.hdr[:4], b[:4])
	if b[0] == 'I' {
		binary.LittleEndian.PutUint32(v.hdr[4:], uint32(p.ifd))
	} else {
		binary.BigEndian.PutUint32(v.hdr[4:], uint32(p.ifd))
	}
	m, err := tiff.Decode(io.NewSectionReader(v, 0, int64(len(b))))
	if err != nil {
		if _, ok := err.(tiff.UnsupportedError); ok {
			return raster{}, userError(fax.ECodeUnprocessable,
				"the TIFF uses a feature faxgate cannot convert; send a PDF or a CCITT G3/G4 TIFF", err)
		}
		return raster{}, errCorruptTIFF(fmt.Errorf("document: decode tiff: %w", err))
	}
	if b := m.Bounds(); int64(b.Dx()) != p.width || int64(b.Dy()) != p.height {
		return raster{}, errCorruptTIFF(fmt.Errorf("document: tiff page decoded as %v, want %d×%d", b, p.width, p.height))
	}
	return imageRaster(m), nil
}

// ifdView is b with its 8-byte header replaced by hdr.
type ifdView struct {
	b   []byte
	hdr [8]byte
}

func (v *ifdView) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("document: negative offset %d", off)
	}
	if off >= int64(len(v.b)) {
		return 0, io.EOF
	}
	n := copy(p, v.b[off:])
	for i := off; i < int64(len(v.hdr)) && i < off+int64(n); i++ {
		p[i-off] = v.hdr[i]
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// imageRaster turns m into 1-bit rows when every pixel is black or white
// and into 8-bit grey otherwise; faxes have no colour, and grey leaves the
// carrier's rasteriser free to dither it well.
func imageRaster(m image.Image) raster {
	r := m.Bounds()
	w, h := r.Dx(), r.Dy()
	var gray []byte
	stride := w
	if g, ok := m.(*image.Gray); ok {
		gray, stride = g.Pix[g.PixOffset(r.Min.X, r.Min.Y):], g.Stride
	} else {
		gray = make([]byte, w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				gray[y*w+x] = grayOver(m, r.Min.X+x, r.Min.Y+y)
			}
		}
	}
	bilevel := true
	for y := 0; y < h && bilevel; y++ {
		for _, v := range gray[y*stride : y*stride+w] {
			if v != 0 && v != 0xff {
				bilevel = false
				break
			}
		}
	}
	if !bilevel {
		out := make([]byte, w*h)
		for y := 0; y < h; y++ {
			copy(out[y*w:(y+1)*w], gray[y*stride:])
		}
		return raster{w: w, h: h, bpc: 8, data: out}
	}
	rowSize := (w + 7) / 8
	bits := make([]byte, rowSize*h)
	for y := 0; y < h; y++ {
		row := bits[y*rowSize:]
		for x, v := range gray[y*stride : y*stride+w] {
			if v != 0 {
				row[x>>3] |= 0x80 >> (x & 7)
			}
		}
	}
	return raster{w: w, h: h, bpc: 1, data: bits}
}

// grayOver returns the grey level of m at (x, y) laid over white paper.
func grayOver(m image.Image, x, y int) byte {
	r, g, b, a := m.At(x, y).RGBA() // alpha-premultiplied, 16 bits
	lum := (19595*r + 38470*g + 7471*b + 1<<15) >> 16
	return byte((lum + (0xffff - a)) >> 8)
}
