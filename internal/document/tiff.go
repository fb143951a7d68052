package document

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/faxgate/faxgate/internal/fax"
)

// TIFF tags, types and values this package reads (TIFF 6.0 and TIFF-F).
const (
	tagNewSubfileType  = 254
	tagSubfileType     = 255
	tagImageWidth      = 256
	tagImageLength     = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagPhotometric     = 262
	tagFillOrder       = 266
	tagStripOffsets    = 273
	tagSamplesPerPixel = 277
	tagRowsPerStrip    = 278
	tagStripByteCounts = 279
	tagXResolution     = 282
	tagYResolution     = 283
	tagT4Options       = 292
	tagResolutionUnit  = 296
	tagTileWidth       = 322

	compNone      = 1
	compG3        = 3
	compG4        = 4
	compLZW       = 5
	compDeflate   = 8
	compPackBits  = 32773
	compDeflateOl = 32946

	// T4Options bits.
	t4TwoD         = 1 << 0
	t4Uncompressed = 1 << 1

	photoWhiteIsZero = 0
	photoBlackIsZero = 1
)

// tiffPage is what faxgate needs to know about one page (one IFD) of a TIFF.
type tiffPage struct {
	ifd             int64 // offset of the page's IFD
	width, height   int64
	bitsPerSample   int64
	samplesPerPixel int64
	compression     int64
	photometric     int64
	fillOrder       int64
	t4Options       int64
	rowsPerStrip    int64
	stripOffsets    []int64
	stripCounts     []int64
	tiled           bool
	// xdpi and ydpi are dots per inch, 0 when the file does not say; aspect
	// is ydpi/xdpi when the file gives only unit-less resolutions, else 0.
	xdpi, ydpi, aspect float64
}

// tiffLimits bound the work a TIFF may cost; fuzz tests use smaller ones.
type tiffLimits struct {
	pagePixels  int64 // pixels on one page
	totalPixels int64 // pixels on all pages together
}

// defaultTIFFLimits allow any fax resolution up to A3 at 400 dpi on a page
// (a superfine fax page has 15 million pixels) and a thousand fine pages in
// a file, while keeping a decompression bomb to seconds of work.
func defaultTIFFLimits() tiffLimits {
	return tiffLimits{pagePixels: 40 << 20, totalPixels: 4 << 30}
}

// parseTIFF walks the chain of IFDs in b and returns its pages, skipping
// reduced-resolution images (thumbnails), which are not pages. It checks
// every offset against the file size, refuses loops and stops at MaxPages,
// so any input costs at most a few passes over b.
func parseTIFF(b []byte, lim tiffLimits) ([]tiffPage, error) {
	var pages []tiffPage
	var total int64
	err := walkTIFF(b, func(p tiffPage) error {
		if err := p.check(lim); err != nil {
			return err
		}
		if _, _, err := p.pageSize(); err != nil {
			return err
		}
		total += p.width * p.height
		if total > lim.totalPixels {
			return fax.Errorf(fax.ECodeUnprocessable, "the TIFF has too many pixels to convert; send fewer or smaller pages")
		}
		pages = append(pages, p)
		if len(pages) > MaxPages {
			return errTooManyPages(len(pages))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(pages) == 0 {
		return nil, errCorruptTIFF(errors.New("document: tiff has no pages"))
	}
	return pages, nil
}

// walkTIFF calls page for each page of the TIFF b in order, skipping
// reduced-resolution images, and stops at page's first error. It is the
// one walk over a TIFF's directories: loops, offsets outside b and more
// than twice MaxPages directories are errors.
func walkTIFF(b []byte, page func(tiffPage) error) error {
	if len(b) < 8 {
		return errCorruptTIFF(errors.New("document: tiff header truncated"))
	}
	var order binary.ByteOrder
	switch string(b[:4]) {
	case "II*\x00":
		order = binary.LittleEndian
	case "MM\x00*":
		order = binary.BigEndian
	default:
		return errUnsupported()
	}
	t := tiffReader{b: b, order: order}
	seen := make(map[int64]bool)
	for off := int64(order.Uint32(b[4:8])); off != 0; {
		if seen[off] {
			return errCorruptTIFF(fmt.Errorf("document: tiff IFD chain loops at offset %d", off))
		}
		seen[off] = true
		if len(seen) > 2*MaxPages {
			return errTooManyPages(len(seen))
		}
		p, next, err := t.page(off)
		if err != nil {
			return errCorruptTIFF(err)
		}
		off = next
		if p.reduced() {
			continue
		}
		if err := page(p); err != nil {
			return err
		}
	}
	return nil
}

// tiffPageCount returns the number of pages in the TIFF b.
func tiffPageCount(b []byte) (int, error) {
	pages, err := parseTIFF(b, defaultTIFFLimits())
	if err != nil {
		return 0, err
	}
	return len(pages), nil
}

type tiffReader struct {
	b     []byte
	order binary.ByteOrder
}

// tiffEntry is one IFD entry with its value bytes located and bounds-checked.
type tiffEntry struct {
	typ   uint16
	count int64
	data  []byte
}

// page parses the IFD at off and returns it with the offset of the next IFD.
func (t tiffReader) page(off int64) (tiffPage, int64, error) {
	b := t.b
	if off < 8 || off > int64(len(b))-2 {
		return tiffPage{}, 0, fmt.Errorf("document: tiff IFD offset %d out of range", off)
	}
	n := int64(t.order.Uint16(b[off:]))
	end := off + 2 + 12*n
	if end+4 > int64(len(b)) {
		return tiffPage{}, 0, fmt.Errorf("document: tiff IFD at %d truncated", off)
	}
	p := tiffPage{
		ifd:             off,
		bitsPerSample:   1,
		samplesPerPixel: 1,
		compression:     compNone,
		photometric:     photoWhiteIsZero,
		fillOrder:       1,
		rowsPerStrip:    math.MaxUint32,
	}
	var xres, yres float64
	unit := int64(2) // inch
	for i := int64(0); i < n; i++ {
		e := off + 2 + 12*i
		tag := t.order.Uint16(b[e:])
		entry, err := t.entry(b[e : e+12])
		if err != nil {
			return tiffPage{}, 0, fmt.Errorf("document: tiff tag %d: %w", tag, err)
		}
		switch tag {
		case tagNewSubfileType, tagSubfileType, tagImageWidth, tagImageLength, tagBitsPerSample,
			tagCompression, tagPhotometric, tagFillOrder, tagSamplesPerPixel, tagRowsPerStrip,
			tagT4Options, tagResolutionUnit, tagTileWidth:
			v, err := t.first(entry)
			if err != nil {
				return tiffPage{}, 0, fmt.Errorf("document: tiff tag %d: %w", tag, err)
			}
			switch tag {
			case tagNewSubfileType:
				if v&1 != 0 {
					p.width = -1 // reduced-resolution image, see reduced
				}
			case tagSubfileType:
				if v == 2 {
					p.width = -1
				}
			case tagImageWidth:
				if p.width >= 0 {
					p.width = v
				}
			case tagImageLength:
				p.height = v
			case tagBitsPerSample:
				p.bitsPerSample = v
			case tagCompression:
				p.compression = v
			case tagPhotometric:
				p.photometric = v
			case tagFillOrder:
				p.fillOrder = v
			case tagSamplesPerPixel:
				p.samplesPerPixel = v
			case tagRowsPerStrip:
				p.rowsPerStrip = v
			case tagT4Options:
				p.t4Options = v
			case tagResolutionUnit:
				unit = v
			case tagTileWidth:
				p.tiled = true
			}
		case tagStripOffsets, tagStripByteCounts:
			vs, err := t.values(entry)
			if err != nil {
				return tiffPage{}, 0, fmt.Errorf("document: tiff tag %d: %w", tag, err)
			}
			if tag == tagStripOffsets {
				p.stripOffsets = vs
			} else {
				p.stripCounts = vs
			}
		case tagXResolution, tagYResolution:
			r, err := t.rational(entry)
			if err != nil {
				return tiffPage{}, 0, fmt.Errorf("document: tiff tag %d: %w", tag, err)
			}
			if tag == tagXResolution {
				xres = r
			} else {
				yres = r
			}
		}
	}
	switch unit {
	case 2:
		p.xdpi, p.ydpi = xres, yres
	case 3:
		p.xdpi, p.ydpi = xres*2.54, yres*2.54
	case 1:
		if xres > 0 && yres > 0 {
			p.aspect = yres / xres
		}
	}
	return p, int64(t.order.Uint32(b[end:])), nil
}

// reduced reports whether p is a reduced-resolution copy of another page.
func (p tiffPage) reduced() bool { return p.width < 0 }

// check refuses pages faxgate cannot convert, with a message for the user.
func (p tiffPage) check(lim tiffLimits) error {
	if p.width <= 0 || p.height <= 0 {
		return errCorruptTIFF(fmt.Errorf("document: tiff page is %d×%d pixels", p.width, p.height))
	}
	// Pages deeper than 8 bits a pixel decode (in golang.org/x/image/tiff)
	// to up to 8 bytes a pixel; they get a quarter of the pixels.
	maxPixels := lim.pagePixels
	if p.bitsPerSample*p.samplesPerPixel > 8 {
		maxPixels /= 4
	}
	if p.width > maxPixels || p.height > maxPixels || p.width*p.height > maxPixels {
		return fax.Errorf(fax.ECodeUnprocessable, "a TIFF page of %d×%d pixels is too large to convert", p.width, p.height)
	}
	switch p.bitsPerSample {
	case 1, 8, 16:
	default:
		return errUnsupportedTIFF(fmt.Sprintf("%d bits per sample", p.bitsPerSample))
	}
	switch p.photometric {
	case photoWhiteIsZero, photoBlackIsZero, 2, 3, 5: // also RGB, palette, CMYK
	default:
		return errUnsupportedTIFF(fmt.Sprintf("photometric interpretation %d", p.photometric))
	}
	switch p.compression {
	case compNone, compLZW, compDeflate, compDeflateOl, compPackBits:
	case compG3, compG4:
		// CCITT data is black and white by definition.
		if p.bitsPerSample != 1 || p.samplesPerPixel != 1 ||
			(p.photometric != photoWhiteIsZero && p.photometric != photoBlackIsZero) {
			return errCorruptTIFF(errors.New("document: tiff CCITT page is not bilevel"))
		}
		if p.compression == compG4 {
			break
		}
		if p.t4Options&t4Uncompressed != 0 {
			return errUnsupportedTIFF("CCITT G3 with uncompressed mode")
		}
		if p.tiled {
			return errUnsupportedTIFF("tiled CCITT G3")
		}
	case 6, 7:
		return errUnsupportedTIFF("JPEG compression")
	default:
		return errUnsupportedTIFF(fmt.Sprintf("compression type %d", p.compression))
	}
	return nil
}

func errUnsupportedTIFF(what string) error {
	return fax.Errorf(fax.ECodeUnprocessable,
		"the TIFF uses %s, which faxgate cannot convert; send a PDF or a CCITT G3/G4 TIFF", what)
}

// entry locates the value of the 12-byte IFD entry e.
func (t tiffReader) entry(e []byte) (tiffEntry, error) {
	typ := t.order.Uint16(e[2:])
	count := int64(t.order.Uint32(e[4:]))
	size := int64(0)
	switch typ {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		size = 1
	case 3, 8: // SHORT, SSHORT
		size = 2
	case 4, 9, 11, 13: // LONG, SLONG, FLOAT, IFD
		size = 4
	case 5, 10, 12: // RATIONAL, SRATIONAL, DOUBLE
		size = 8
	default:
		// Unknown types are skipped by readers (TIFF 6.0, section 2).
		return tiffEntry{typ: typ}, nil
	}
	n := count * size // count < 2^32 and size ≤ 8: no overflow in int64
	if n <= 4 {
		return tiffEntry{typ: typ, count: count, data: e[8 : 8+n]}, nil
	}
	off := int64(t.order.Uint32(e[8:]))
	if off > int64(len(t.b)) || n > int64(len(t.b))-off {
		return tiffEntry{}, fmt.Errorf("value at %d+%d out of range", off, n)
	}
	return tiffEntry{typ: typ, count: count, data: t.b[off : off+n]}, nil
}

// values returns the unsigned integer values of e.
func (t tiffReader) values(e tiffEntry) ([]int64, error) {
	vs := make([]int64, 0, e.count)
	for i := int64(0); i < e.count; i++ {
		switch e.typ {
		case 1:
			vs = append(vs, int64(e.data[i]))
		case 3:
			vs = append(vs, int64(t.order.Uint16(e.data[2*i:])))
		case 4, 13:
			vs = append(vs, int64(t.order.Uint32(e.data[4*i:])))
		default:
			return nil, fmt.Errorf("type %d is not an unsigned integer", e.typ)
		}
	}
	return vs, nil
}

// first returns the first unsigned integer value of e.
func (t tiffReader) first(e tiffEntry) (int64, error) {
	if e.count < 1 {
		return 0, errors.New("no value")
	}
	vs, err := t.values(tiffEntry{typ: e.typ, count: 1, data: e.data})
	if err != nil {
		return 0, err
	}
	return vs[0], nil
}

// rational returns the first value of e as a float; 0 when it is not a
// positive number.
func (t tiffReader) rational(e tiffEntry) (float64, error) {
	if e.count < 1 {
		return 0, errors.New("no value")
	}
	var v float64
	switch e.typ {
	case 5:
		num, den := t.order.Uint32(e.data), t.order.Uint32(e.data[4:])
		if den != 0 {
			v = float64(num) / float64(den)
		}
	case 3, 4:
		u, err := t.first(e)
		if err != nil {
			return 0, err
		}
		v = float64(u)
	default:
		return 0, fmt.Errorf("type %d is not a rational", e.typ)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, nil
	}
	return v, nil
}
