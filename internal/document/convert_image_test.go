package document

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/faxgate/faxgate/internal/fax"
)

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeBMP(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := bmp.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// png16 is a 16-bit PNG with a transparent background: the black
// quadrant q is opaque, the rest is clear and must fax as paper.
func png16(t testing.TB, w, h, q int) []byte {
	m := image.NewNRGBA64(image.Rect(0, 0, w, h))
	src := quadrantImage(w, h, q)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if src.RGBAAt(x, y).R == 0 {
				m.SetNRGBA64(x, y, color.NRGBA64{0x0101, 0x0202, 0x0303, 0xffff})
			} else {
				m.SetNRGBA64(x, y, color.NRGBA64{0x1234, 0x1234, 0x1234, 0})
			}
		}
	}
	b := encodePNG(t, m)
	if b[24] != 16 { // IHDR bit depth
		t.Fatalf("got a PNG of bit depth %d, want 16", b[24])
	}
	return b
}

// threeFrameGIF is an animation whose frame i is black in quadrant i: the
// second frame is drawn over the first, the third after the second's area
// is restored to the background.
func threeFrameGIF(t testing.TB, w, h int) []byte {
	t.Helper()
	pal := color.Palette{color.White, color.Black, color.Transparent}
	g := &gif.GIF{Config: image.Config{Width: w, Height: h, ColorModel: pal}}
	full := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	draw.Draw(full, full.Rect, quadrantImage(w, h, 0), image.Point{}, draw.Src)
	g.Image = append(g.Image, full)
	g.Delay = append(g.Delay, 50)
	g.Disposal = append(g.Disposal, gif.DisposalNone)
	// Frame 2 covers the whole picture: white but quadrant 1 black.
	f2 := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	draw.Draw(f2, f2.Rect, quadrantImage(w, h, 1), image.Point{}, draw.Src)
	g.Image = append(g.Image, f2)
	g.Delay = append(g.Delay, 50)
	g.Disposal = append(g.Disposal, gif.DisposalNone)
	// Frame 3 is transparent but for quadrant 2, drawn over frame 2 whose
	// quadrant 1 then shows too: wanted, that is how a viewer shows it, so
	// the test paints quadrant 1 white in frame 3.
	f3 := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			switch {
			case x < w/2 && y >= h/2:
				f3.SetColorIndex(x, y, 1)
			case x >= w/2 && y < h/2:
				f3.SetColorIndex(x, y, 0)
			default:
				f3.SetColorIndex(x, y, 2)
			}
		}
	}
	g.Image = append(g.Image, f3)
	g.Delay = append(g.Delay, 50)
	g.Disposal = append(g.Disposal, gif.DisposalNone)
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func convertOne(t testing.TB, b []byte) Converted {
	t.Helper()
	out, err := NewConverter(ConverterOptions{}).Convert(context.Background(), [][]byte{b})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	return out
}

// checkPDF checks what poppler reads in doc: the page count Convert
// reported and Letter pages.
func checkPDF(t testing.TB, doc Converted, wantPages int) {
	t.Helper()
	if doc.MIME != "application/pdf" {
		t.Fatalf("got MIME %q, want application/pdf", doc.MIME)
	}
	if doc.Pages != wantPages {
		t.Fatalf("got %d pages, want %d", doc.Pages, wantPages)
	}
	info := pdfinfo(t, doc.Bytes)
	if info.pages != wantPages {
		t.Fatalf("poppler reads %d pages, want %d", info.pages, wantPages)
	}
	for i, s := range info.sizes {
		if math.Abs(s[0]-612) > 1 || math.Abs(s[1]-792) > 1 {
			t.Fatalf("page %d: got %.0f×%.0f pt, want US Letter 612×792", i+1, s[0], s[1])
		}
	}
}

func TestConvertImageTypes(t *testing.T) {
	t.Parallel()
	portrait := quadrantImage(300, 400, 0)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"png", encodePNG(t, portrait)},
		{"png 16-bit with transparency", png16(t, 300, 400, 0)},
		{"png grey", encodePNG(t, func() image.Image {
			g := image.NewGray(portrait.Rect)
			draw.Draw(g, g.Rect, portrait, image.Point{}, draw.Src)
			return g
		}())},
		{"jpeg", encodeJPEG(t, portrait)},
		{"bmp", encodeBMP(t, portrait)},
		{"webp lossless", losslessWebP(portrait)},
		{"gif one frame", func() []byte {
			var b bytes.Buffer
			p := image.NewPaletted(portrait.Rect, palette.Plan9)
			draw.Draw(p, p.Rect, portrait, image.Point{}, draw.Src)
			if err := gif.Encode(&b, p, nil); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc := convertOne(t, tc.b)
			checkPDF(t, doc, 1)
			wantDarkQuadrant(t, doc.Bytes, 1, 0)
		})
	}
}

// A grey photo is dithered, not thresholded: a mid-grey picture faxes as
// about half black dots rather than all white or all black.
func TestConvertImageDithers(t *testing.T) {
	t.Parallel()
	m := image.NewGray(image.Rect(0, 0, 300, 400))
	for i := range m.Pix {
		m.Pix[i] = 0x80
	}
	doc := convertOne(t, encodePNG(t, m))
	checkPDF(t, doc, 1)
	for i, v := range quadrants(pageGray(t, doc.Bytes, 1)) {
		if v < 0.35 || v > 0.65 {
			t.Fatalf("quadrant %d: got darkness %.2f, want about 0.5", i, v)
		}
	}
}

// A landscape picture is turned a quarter anticlockwise to fill the
// portrait page: its top-left corner ends at the page's bottom left.
func TestConvertImageLandscapeRotated(t *testing.T) {
	t.Parallel()
	doc := convertOne(t, encodePNG(t, quadrantImage(400, 300, 0)))
	checkPDF(t, doc, 1)
	wantDarkQuadrant(t, doc.Bytes, 1, 2)
}

// A phone stores a photo as the sensor saw it and records the way up in
// EXIF; each stored picture here shows the top-left quadrant black once
// turned as its orientation says.
func TestConvertJPEGOrientation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		o      uint16
		stored *image.RGBA
	}{
		{"6 (turn clockwise)", 6, quadrantImage(400, 300, 2)},
		{"3 (half turn)", 3, quadrantImage(300, 400, 3)},
		{"8 (turn anticlockwise)", 8, quadrantImage(400, 300, 1)},
		{"1 (as stored)", 1, quadrantImage(300, 400, 0)},
	} {
		for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
			t.Run(tc.name+" "+order.String(), func(t *testing.T) {
				t.Parallel()
				b := withEXIFOrientation(encodeJPEG(t, tc.stored), tc.o, order)
				if got := jpegOrientation(b); got != int(tc.o) {
					t.Fatalf("got orientation %d, want %d", got, tc.o)
				}
				doc := convertOne(t, b)
				checkPDF(t, doc, 1)
				wantDarkQuadrant(t, doc.Bytes, 1, 0)
			})
		}
	}
}

func TestConvertGIFFrames(t *testing.T) {
	t.Parallel()
	doc := convertOne(t, threeFrameGIF(t, 300, 400))
	checkPDF(t, doc, 3)
	for i := range 3 {
		wantDarkQuadrant(t, doc.Bytes, i+1, i)
	}
}

// quadrantTIFF is a two-page bilevel TIFF, page i black in quadrant i, of
// Letter pages at 96 dpi.
func quadrantTIFF() []byte {
	var specs []tiffSpec
	for q := range 2 {
		m := newBitmap(816, 1056)
		for y := 0; y < m.h; y++ {
			for x := 0; x < m.w; x++ {
				if (x >= m.w/2) == (q%2 == 1) && (y >= m.h/2) == (q/2 == 1) {
					m.set(x, y)
				}
			}
		}
		specs = append(specs, tiffSpec{w: m.w, h: m.h, data: m.packed(), rowsPerStrip: m.h, xres: 96, yres: 96, unit: 2})
	}
	return buildTIFF(binary.LittleEndian, specs...)
}

// A TIFF of any common compression, written by libtiff, is counted and
// converted page by page; alone it is kept as it came.
func TestConvertTIFFCompressions(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"none", "lzw", "g4", "g3:2d", "zip", "packbits"} {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			b := tiffcp(t, quadrantTIFF(), c)
			doc := convertOne(t, b)
			if doc.MIME != "image/tiff" || doc.Pages != 2 || !bytes.Equal(doc.Bytes, b) {
				t.Fatalf("got %s of %d pages (unchanged %v), want the TIFF unchanged with 2 pages", doc.MIME, doc.Pages, bytes.Equal(doc.Bytes, b))
			}
			pdf, n, err := TIFFToPDF(b)
			if err != nil || n != 2 {
				t.Fatalf("TIFFToPDF: %d pages, %v; want 2, nil", n, err)
			}
			checkPDF(t, Converted{Bytes: pdf, MIME: "application/pdf", Pages: n}, 2)
			wantDarkQuadrant(t, pdf, 1, 0)
			wantDarkQuadrant(t, pdf, 2, 1)
		})
	}
}

// Several files are joined in the order given and the count is the
// joined document's.
func TestConvertJoinsFilesInOrder(t *testing.T) {
	t.Parallel()
	g4 := tiffcp(t, quadrantTIFF(), "g4")
	files := [][]byte{
		g4,                         // quadrants 0, 1
		threeFrameGIF(t, 300, 400), // 0, 1, 2
		encodeJPEG(t, quadrantImage(300, 400, 3)),          // 3
		[]byte("Dear Doctor,\nplease see the enclosed.\n"), // text
	}
	doc, err := NewConverter(ConverterOptions{}).Convert(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	checkPDF(t, doc, 7)
	for i, q := range []int{0, 1, 0, 1, 2, 3} {
		wantDarkQuadrant(t, doc.Bytes, i+1, q)
	}
}

// setPNGSize rewrites the width and height in a PNG's IHDR and its CRC.
func setPNGSize(b []byte, w, h uint32) []byte {
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// Bad and hostile images are refused with a message for the user and
// before anything large is allocated.
func TestConvertImageRefusals(t *testing.T) {
	t.Parallel()
	small := encodePNG(t, quadrantImage(30, 40, 0))
	gifBomb := threeFrameGIF(t, 30, 40)
	binary.LittleEndian.PutUint16(gifBomb[6:], 60000) // logical screen
	binary.LittleEndian.PutUint16(gifBomb[8:], 60000)
	for _, tc := range []struct {
		name, code, msg string
		b               []byte
	}{
		{"png bomb", fax.ECodeUnprocessable, "too many pixels", setPNGSize(small, 1<<20, 1<<20)},
		{"gif screen bomb", fax.ECodeUnprocessable, "too many pixels", gifBomb},
		{"truncated png", fax.ECodeUnprocessable, "PNG image could not be read", small[:len(small)/2]},
		{"truncated jpeg", fax.ECodeUnprocessable, "JPEG image could not be read", encodeJPEG(t, quadrantImage(30, 40, 0))[:200]},
		{"gif without trailer", fax.ECodeUnprocessable, "GIF image could not be read", threeFrameGIF(t, 30, 40)[:100]},
		{"unknown binary", fax.ECodeUnsupportedType, "PNG, JPEG", []byte("\x00\x01\x02garbage")},
		{"gif of too many frames", fax.ECodeUnprocessable, "at most 20", manyFrameGIF(t, MaxGIFFrames+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewConverter(ConverterOptions{}).Convert(context.Background(), [][]byte{tc.b})
			wantCode(t, err, tc.code)
			if !strings.Contains(fax.ErrorMessage(err), tc.msg) {
				t.Fatalf("got message %q, want it to contain %q", fax.ErrorMessage(err), tc.msg)
			}
		})
	}
}

// manyFrameGIF is an animation of n one-pixel frames on a 4×4 screen.
func manyFrameGIF(t testing.TB, n int) []byte {
	g := &gif.GIF{Config: image.Config{Width: 4, Height: 4, ColorModel: color.Palette(palette.Plan9)}}
	for range n {
		g.Image = append(g.Image, image.NewPaletted(image.Rect(0, 0, 1, 1), palette.Plan9))
		g.Delay = append(g.Delay, 1)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The frame limit leaves a GIF of MaxGIFFrames frames alone.
func TestConvertGIFFrameLimit(t *testing.T) {
	t.Parallel()
	doc := convertOne(t, manyFrameGIF(t, MaxGIFFrames))
	checkPDF(t, doc, MaxGIFFrames)
}
