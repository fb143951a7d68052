package asterisk

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Bounds on the TIFF structures inspectTIFF walks.
const (
	maxTIFFPages   = maxPages
	maxIFDEntries  = 1024
	tiffHeaderSize = 8
)

// TIFF tags and types inspectTIFF reads.
const (
	tagImageWidth      = 256
	tagImageLength     = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagSamplesPerPixel = 277
	tagXResolution     = 282
	tagYResolution     = 283
	tagResolutionUnit  = 296

	typeShort    = 3
	typeLong     = 4
	typeRational = 5

	compressionG3 = 3 // CCITT T.4
	compressionG4 = 4 // CCITT T.6
)

// tiffPage is what inspectTIFF learns of one page (IFD). Resolutions are in
// dots per inch; 0 when absent.
type tiffPage struct {
	Width, Height   uint32
	Compression     uint16
	BitsPerSample   uint16
	SamplesPerPixel uint16
	XRes, YRes      float64
}

// inspectTIFF walks a classic (not Big) TIFF's chain of IFDs and reads the
// tags that say whether a page is a fax image. It never decodes image data.
// It is bounded against hostile files: IFD loops, more than maxTIFFPages
// pages, more than maxIFDEntries entries, and offsets outside the file are
// errors.
func inspectTIFF(r io.ReaderAt, size int64) ([]tiffPage, error) {
	var hdr [tiffHeaderSize]byte
	if size < tiffHeaderSize {
		return nil, fmt.Errorf("tiff: shorter than its header")
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("tiff: read header: %w", err)
	}
	var bo binary.ByteOrder
	switch string(hdr[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("tiff: not a TIFF file")
	}
	switch bo.Uint16(hdr[2:]) {
	case 42:
	case 43:
		return nil, fmt.Errorf("tiff: BigTIFF is not a fax format")
	default:
		return nil, fmt.Errorf("tiff: not a TIFF file")
	}
	off := int64(bo.Uint32(hdr[4:]))
	seen := map[int64]bool{}
	var pages []tiffPage
	for off != 0 {
		switch {
		case seen[off]:
			return nil, fmt.Errorf("tiff: IFD chain loops")
		case len(pages) >= maxTIFFPages:
			return nil, fmt.Errorf("tiff: more than %d pages", maxTIFFPages)
		case off < tiffHeaderSize || off+2 > size:
			return nil, fmt.Errorf("tiff: IFD offset %d outside the file", off)
		}
		seen[off] = true
		var cnt [2]byte
		if _, err := r.ReadAt(cnt[:], off); err != nil {
			return nil, fmt.Errorf("tiff: read IFD: %w", err)
		}
		n := int64(bo.Uint16(cnt[:]))
		if n == 0 || n > maxIFDEntries {
			return nil, fmt.Errorf("tiff: IFD with %d entries", n)
		}
		if off+2+n*12+4 > size {
			return nil, fmt.Errorf("tiff: IFD runs past the end of the file")
		}
		buf := make([]byte, n*12+4)
		if _, err := r.ReadAt(buf, off+2); err != nil {
			return nil, fmt.Errorf("tiff: read IFD: %w", err)
		}
		pg := tiffPage{Compression: 1, BitsPerSample: 1, SamplesPerPixel: 1}
		unit := uint16(2) // inch, TIFF's default
		var xres, yres float64
		for i := range n {
			e := buf[i*12 : i*12+12]
			tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), bo.Uint32(e[4:])
			switch tag {
			case tagImageWidth, tagImageLength, tagBitsPerSample, tagCompression, tagSamplesPerPixel, tagResolutionUnit:
				v, ok := scalar(bo, typ, count, e[8:])
				if !ok {
					return nil, fmt.Errorf("tiff: tag %d has an unexpected type", tag)
				}
				switch tag {
				case tagImageWidth:
					pg.Width = v
				case tagImageLength:
					pg.Height = v
				case tagBitsPerSample:
					pg.BitsPerSample = uint16(v)
				case tagCompression:
					pg.Compression = uint16(v)
				case tagSamplesPerPixel:
					pg.SamplesPerPixel = uint16(v)
				case tagResolutionUnit:
					unit = uint16(v)
				}
			case tagXResolution, tagYResolution:
				if typ != typeRational || count < 1 {
					continue
				}
				roff := int64(bo.Uint32(e[8:]))
				if roff < tiffHeaderSize || roff+8 > size {
					return nil, fmt.Errorf("tiff: resolution outside the file")
				}
				var rb [8]byte
				if _, err := r.ReadAt(rb[:], roff); err != nil {
					return nil, fmt.Errorf("tiff: read resolution: %w", err)
				}
				num, den := bo.Uint32(rb[:]), bo.Uint32(rb[4:])
				v := 0.0
				if den != 0 {
					v = float64(num) / float64(den)
				}
				if tag == tagXResolution {
					xres = v
				} else {
					yres = v
				}
			}
		}
		if unit == 3 { // centimetres
			xres, yres = xres*2.54, yres*2.54
		}
		if unit == 1 { // no unit: the numbers mean nothing
			xres, yres = 0, 0
		}
		pg.XRes, pg.YRes = xres, yres
		pages = append(pages, pg)
		off = int64(bo.Uint32(buf[n*12:]))
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("tiff: no pages")
	}
	return pages, nil
}

// scalar reads a single SHORT or LONG value stored in an entry.
func scalar(bo binary.ByteOrder, typ uint16, count uint32, v []byte) (uint32, bool) {
	if count != 1 {
		// BitsPerSample may repeat per sample; the first one is enough to
		// tell a 1-bit image, but only when it is stored inline.
		if typ == typeShort && count == 2 {
			return uint32(bo.Uint16(v)), true
		}
		return 0, false
	}
	switch typ {
	case typeShort:
		return uint32(bo.Uint16(v)), true
	case typeLong:
		return bo.Uint32(v), true
	}
	return 0, false
}

// faxReady reports whether every page is an image SendFAX takes as it is:
// CCITT G3 or G4, one bit per pixel, a fax line width (1728 dots, or 2048 /
// 2432 for B4 / A3) at about 204 dpi across and 98 to 400 lines per inch.
// Anything else is rendered again.
func faxReady(pages []tiffPage) bool {
	for _, p := range pages {
		switch {
		case p.Compression != compressionG3 && p.Compression != compressionG4:
			return false
		case p.BitsPerSample != 1 || p.SamplesPerPixel != 1:
			return false
		case p.Width != 1728 && p.Width != 2048 && p.Width != 2432:
			return false
		case p.XRes < 195 || p.XRes > 210:
			return false
		case p.YRes < 95 || p.YRes > 410:
			return false
		case p.Height == 0:
			return false
		}
	}
	return len(pages) > 0
}
