package document

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"github.com/faxgate/faxgate/internal/fax"
)

// The image types faxgate turns into fax pages.
const (
	PNG  Type = "image/png"
	JPEG Type = "image/jpeg"
	GIF  Type = "image/gif"
	BMP  Type = "image/bmp"
	WebP Type = "image/webp"
)

// Image pages are US Letter drawn at 200 dpi, about a fine fax's 204×196:
// finer would only be thrown away by the carrier, coarser would lose text.
const (
	imageDPI      = 200
	pageWidthPt   = 612
	pageHeightPt  = 792
	pageWidthDot  = pageWidthPt * imageDPI / 72  // 1700
	pageHeightDot = pageHeightPt * imageDPI / 72 // 2200
)

// DefaultMaxPixels is how many pixels an image (all frames of a GIF
// together) may have before it is refused: a 48-megapixel phone photo
// passes, a decompression bomb is refused before it is decoded.
const DefaultMaxPixels = 50_000_000

// MaxGIFFrames is the most frames a GIF may have: each becomes a page, so
// that a small animation of many frames cannot cost minutes of rendering.
const MaxGIFFrames = 20

// maxUpscale is how far a small picture is enlarged before dithering; the
// PDF scales it the rest of the way to the page. Dithering at a few times
// the picture's own resolution looks as good as at the page's, and a tiny
// frame then costs next to nothing.
const maxUpscale = 4

// sniffImage reports which image type b is, or "".
func sniffImage(b []byte) Type {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return JPEG
	case bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a")):
		return GIF
	case bytes.HasPrefix(b, []byte("BM")) && len(b) >= 26:
		return BMP
	case len(b) >= 16 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return WebP
	}
	return ""
}

func errImageTooLarge(w, h, frames int, max int64) error {
	if frames > 1 {
		return fax.Errorf(fax.ECodeUnprocessable, "the image has too many pixels to convert (%d frames of up to %d×%d, more than %d pixels in all); send a smaller image", frames, w, h, max)
	}
	return fax.Errorf(fax.ECodeUnprocessable, "the image has too many pixels to convert (%d×%d, more than %d); send a smaller image", w, h, max)
}

func errCorruptImage(t Type, cause error) error {
	return userError(fax.ECodeUnprocessable, fmt.Sprintf("the %s image could not be read: it is damaged or incomplete", t.short()), cause)
}

// imageToPDF turns an image into fax pages: one page per GIF frame, one
// otherwise. The size is checked from the header before anything is
// decoded, so that a small file claiming a huge picture costs nothing.
func imageToPDF(t Type, b []byte, maxPixels int64) (pdf []byte, pages int, err error) {
	defer func() {
		if v := recover(); v != nil {
			pdf, pages, err = nil, 0, errCorruptImage(t, fmt.Errorf("document: image decoder panicked: %v", v))
		}
	}()
	frames, err := decodeImage(t, b, maxPixels)
	if err != nil {
		return nil, 0, err
	}
	d := newPDFDoc()
	for _, f := range frames {
		r := fitPage(f.img, f.orientation)
		// The picture fills the page's width or height, whatever its
		// resolution, centred on the other.
		s := min(pageWidthPt/float64(r.w), pageHeightPt/float64(r.h))
		w, h := float64(r.w)*s, float64(r.h)*s
		content := fmt.Sprintf("q %s 0 0 %s %s %s cm /Im0 Do Q\n", pdfNum(w), pdfNum(h),
			pdfNum((pageWidthPt-w)/2), pdfNum((pageHeightPt-h)/2))
		if err := d.addPage(pageWidthPt, pageHeightPt, []byte(content), false, []pdfImage{r.pdfImage()}); err != nil {
			return nil, 0, err
		}
	}
	out, err := d.bytes()
	if err != nil {
		return nil, 0, err
	}
	return out, len(frames), nil
}

// frame is one page's picture and the EXIF orientation it is stored in.
type frame struct {
	img         image.Image
	orientation int
}

func decodeImage(t Type, b []byte, maxPixels int64) ([]frame, error) {
	if t == GIF {
		return decodeGIF(b, maxPixels)
	}
	var cfg image.Config
	var err error
	switch t {
	case PNG:
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
	case JPEG:
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	case BMP:
		cfg, err = bmp.DecodeConfig(bytes.NewReader(b))
	case WebP:
		cfg, err = webp.DecodeConfig(bytes.NewReader(b))
	default:
		return nil, errUnsupported()
	}
	if err != nil {
		return nil, imageError(t, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, errCorruptImage(t, errors.New("document: image has no pixels"))
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, errImageTooLarge(cfg.Width, cfg.Height, 1, maxPixels)
	}
	var m image.Image
	switch t {
	case PNG:
		m, err = png.Decode(bytes.NewReader(b))
	case JPEG:
		m, err = jpeg.Decode(bytes.NewReader(b))
	case BMP:
		m, err = bmp.Decode(bytes.NewReader(b))
	case WebP:
		m, err = webp.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, imageError(t, err)
	}
	orientation := 1
	if t == JPEG {
		orientation = jpegOrientation(b)
	}
	return []frame{{img: m, orientation: orientation}}, nil
}

// imageError tells a format the decoder does not support (a 16-bit BMP,
// an animated WebP) from a damaged file.
func imageError(t Type, err error) error {
	unsupported := errors.Is(err, bmp.ErrUnsupported)
	switch err.(type) {
	case png.UnsupportedError, jpeg.UnsupportedError:
		unsupported = true
	}
	if unsupported {
		return userError(fax.ECodeUnprocessable, fmt.Sprintf("the %s image uses a feature faxgate cannot convert; send it as PNG, JPEG or PDF", t.short()), err)
	}
	return errCorruptImage(t, err)
}

// decodeGIF returns each frame of an animation as it is shown: frames are
// drawn over what the previous ones left, as their disposal says. The
// frames' sizes are added up from the file's structure before decoding,
// because the decoder holds every frame at once.
func decodeGIF(b []byte, maxPixels int64) ([]frame, error) {
	n, pixels, err := scanGIF(b)
	if err != nil {
		return nil, errCorruptImage(GIF, err)
	}
	cfg, err := gif.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, errCorruptImage(GIF, err)
	}
	screen := int64(cfg.Width) * int64(cfg.Height)
	if n > MaxGIFFrames {
		return nil, fax.Errorf(fax.ECodeUnprocessable, "the GIF has %d frames; faxgate faxes at most %d (one page each)", n, MaxGIFFrames)
	}
	if screen == 0 {
		return nil, errCorruptImage(GIF, errors.New("document: gif screen has no pixels"))
	}
	// Each frame is decoded at its own size and shown on the whole screen.
	if pixels+screen*int64(n) > maxPixels {
		return nil, errImageTooLarge(cfg.Width, cfg.Height, n, maxPixels)
	}
	g, err := gif.DecodeAll(bytes.NewReader(b))
	if err != nil {
		return nil, imageError(GIF, err)
	}
	bounds := image.Rect(0, 0, g.Config.Width, g.Config.Height)
	canvas := image.NewRGBA(bounds)
	frames := make([]frame, 0, len(g.Image))
	for i, p := range g.Image {
		disposal := byte(0)
		if i < len(g.Disposal) {
			disposal = g.Disposal[i]
		}
		var saved *image.RGBA
		if disposal == gif.DisposalPrevious {
			saved = image.NewRGBA(bounds)
			copy(saved.Pix, canvas.Pix)
		}
		draw.Draw(canvas, p.Bounds(), p, p.Bounds().Min, draw.Over)
		// Each page is a scaled copy made now, so that only the canvas and
		// the small page images are held, not a full-size copy per frame.
		frames = append(frames, frame{img: rasterImage{fitPage(canvas, 1)}, orientation: 0})
		switch disposal {
		case gif.DisposalBackground:
			draw.Draw(canvas, p.Bounds(), image.Transparent, image.Point{}, draw.Src)
		case gif.DisposalPrevious:
			canvas = saved
		}
	}
	return frames, nil
}

// fitPage scales m to fit a Letter page at imageDPI (at most maxUpscale
// times its size), after turning it as
// its EXIF orientation says and then, when it is wider than tall, a quarter
// turn anticlockwise (the top of a landscape picture on the page's left
// edge, as printers do), and dithers it to black and white. A frame already
// fitted (orientation 0) is returned as it is.
func fitPage(m image.Image, orientation int) raster {
	if r, ok := m.(rasterImage); ok && orientation == 0 {
		return r.raster
	}
	sb := m.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	swap := orientation >= 5 && orientation <= 8
	ow, oh := sw, sh
	if swap {
		ow, oh = sh, sw
	}
	landscape := ow > oh
	fw, fh := ow, oh
	if landscape {
		fw, fh = oh, ow
	}
	scale := min(float64(pageWidthDot)/float64(fw), float64(pageHeightDot)/float64(fh), maxUpscale)
	tw, th := max(1, int(float64(sw)*scale+0.5)), max(1, int(float64(sh)*scale+0.5))
	// Drawn over white: transparent parts of a picture are paper.
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), m, sb, draw.Over, nil)
	g := grayOf(dst)
	g = orient(g, orientation)
	if landscape {
		g = orient(g, 8)
	}
	return rasterImage{raster: dither(g)}.raster
}

// rasterImage lets a fitted page travel as an image.Image in a frame.
type rasterImage struct{ raster }

func (rasterImage) ColorModel() color.Model { return color.GrayModel }
func (r rasterImage) Bounds() image.Rectangle {
	return image.Rect(0, 0, r.w, r.h)
}
func (r rasterImage) At(x, y int) color.Color {
	row := r.data[y*((r.w+7)/8):]
	if row[x>>3]&(0x80>>(x&7)) != 0 {
		return color.White
	}
	return color.Black
}

// grayOf returns the luminance of an opaque RGBA image.
func grayOf(m *image.RGBA) *image.Gray {
	b := m.Bounds()
	g := image.NewGray(b)
	for i, j := 0, 0; i+3 < len(m.Pix); i, j = i+4, j+1 {
		r, gg, bb := uint32(m.Pix[i]), uint32(m.Pix[i+1]), uint32(m.Pix[i+2])
		g.Pix[j] = byte((19595*r + 38470*gg + 7471*bb + 1<<15) >> 16)
	}
	return g
}

// orient returns g as EXIF orientation o says it is to be shown (1 or
// unknown: as stored; 2–4 mirrored or half-turned; 5–8 with sides swapped).
func orient(g *image.Gray, o int) *image.Gray {
	if o < 2 || o > 8 {
		return g
	}
	w, h := g.Rect.Dx(), g.Rect.Dy()
	fw, fh := w, h
	if o >= 5 {
		fw, fh = h, w
	}
	out := image.NewGray(image.Rect(0, 0, fw, fh))
	for y := 0; y < fh; y++ {
		for x := 0; x < fw; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			out.Pix[y*fw+x] = g.Pix[sy*g.Stride+sx]
		}
	}
	return out
}

// dither turns g into packed black-and-white rows (a set bit is white) by
// Floyd–Steinberg error diffusion, so that photos and grey scans keep their
// tones on a fax's two levels instead of going to blots.
func dither(g *image.Gray) raster {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	rowSize := (w + 7) / 8
	bits := make([]byte, rowSize*h)
	cur := make([]int32, w+2)
	next := make([]int32, w+2)
	for y := 0; y < h; y++ {
		src := g.Pix[y*g.Stride : y*g.Stride+w]
		for x := range src {
			cur[x+1] += int32(src[x])
		}
		row := bits[y*rowSize:]
		for x := 0; x < w; x++ {
			v := cur[x+1]
			out := int32(0)
			if v >= 128 {
				out = 255
				row[x>>3] |= 0x80 >> (x & 7)
			}
			e := v - out
			cur[x+2] += e * 7 / 16
			next[x] += e * 3 / 16
			next[x+1] += e * 5 / 16
			next[x+2] += e / 16
		}
		cur, next = next, cur
		clear(next)
	}
	return raster{w: w, h: h, bpc: 1, data: bits}
}
