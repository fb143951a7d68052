package document

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pageGray renders page n of pdf with poppler's pdftoppm at a low
// resolution and returns it in grey, so that tests look at what a reader
// (and a carrier's rasteriser) shows rather than at faxgate's own bytes.
func pageGray(t testing.TB, pdf []byte, n int) *image.Gray {
	t.Helper()
	path := requireTool(t, "pdftoppm")
	dir := t.TempDir()
	f := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "page")
	var stderr bytes.Buffer
	cmd := exec.Command(path, "-r", "24", "-gray", "-f", fmt.Sprint(n), "-l", fmt.Sprint(n), "-singlefile", f, out)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, stderr.String())
	}
	b, err := os.ReadFile(out + ".pgm")
	if err != nil {
		t.Fatal(err)
	}
	var w, h, maxv int
	var magic string
	r := bytes.NewReader(b)
	if _, err := fmt.Fscan(r, &magic, &w, &h, &maxv); err != nil || magic != "P5" || maxv != 255 {
		t.Fatalf("pdftoppm wrote an unexpected PGM header (%v)", err)
	}
	r.ReadByte() // the single white space after the header
	g := image.NewGray(image.Rect(0, 0, w, h))
	if _, err := r.Read(g.Pix); err != nil {
		t.Fatal(err)
	}
	return g
}

// quadrants returns how dark each quarter of g is (0 white, 1 black),
// measured on its middle half so that margins and edges do not count:
// top-left, top-right, bottom-left, bottom-right.
func quadrants(g *image.Gray) [4]float64 {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	var q [4]float64
	for i := range q {
		x0, y0 := (i%2)*w/2+w/8, (i/2)*h/2+h/8
		var sum, n float64
		for y := y0; y < y0+h/4; y++ {
			for x := x0; x < x0+w/4; x++ {
				sum += float64(255-g.Pix[y*g.Stride+x]) / 255
				n++
			}
		}
		q[i] = sum / n
	}
	return q
}

// wantDarkQuadrant fails the test unless quadrant want (0 top-left, 1
// top-right, 2 bottom-left, 3 bottom-right) of page n is dark and the
// others light.
func wantDarkQuadrant(t testing.TB, pdf []byte, n, want int) {
	t.Helper()
	q := quadrants(pageGray(t, pdf, n))
	for i, v := range q {
		if i == want && v < 0.6 || i != want && v > 0.3 {
			t.Fatalf("page %d: got darkness %.2f (top-left, top-right, bottom-left, bottom-right), want quadrant %d dark", n, q, want)
		}
	}
}

// quadrantImage draws a w×h picture, white but for quadrant q in black.
func quadrantImage(w, h, q int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{0xff, 0xff, 0xff, 0xff}
			if (x >= w/2) == (q%2 == 1) && (y >= h/2) == (q/2 == 1) {
				c = color.RGBA{0, 0, 0, 0xff}
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// withEXIFOrientation inserts an APP1 Exif segment with orientation o
// after the start-of-image marker of jpg.
func withEXIFOrientation(jpg []byte, o uint16, order binary.AppendByteOrder) []byte {
	var tiff bytes.Buffer
	if order == binary.BigEndian {
		tiff.WriteString("MM\x00*")
	} else {
		tiff.WriteString("II*\x00")
	}
	tiff.Write(order.AppendUint32(nil, 8))
	tiff.Write(order.AppendUint16(nil, 2))
	// An unrelated tag first (ImageDescription offset), then orientation.
	tiff.Write(order.AppendUint16(nil, 0x010e))
	tiff.Write(order.AppendUint16(nil, 2))
	tiff.Write(order.AppendUint32(nil, 0))
	tiff.Write(order.AppendUint32(nil, 0))
	tiff.Write(order.AppendUint16(nil, 0x0112))
	tiff.Write(order.AppendUint16(nil, 3))
	tiff.Write(order.AppendUint32(nil, 1))
	tiff.Write(order.AppendUint16(nil, o))
	tiff.Write([]byte{0, 0})
	tiff.Write(make([]byte, 4))
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xff, 0xe1})
	out.Write(binary.BigEndian.AppendUint16(nil, uint16(len(seg)+2)))
	out.Write(seg)
	out.Write(jpg[2:])
	return out.Bytes()
}

// bitWriter writes bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf  []byte
	bits uint
}

func (b *bitWriter) write(v uint32, n uint) {
	for i := uint(0); i < n; i++ {
		if b.bits%8 == 0 {
			b.buf = append(b.buf, 0)
		}
		if v>>i&1 != 0 {
			b.buf[len(b.buf)-1] |= 1 << (b.bits % 8)
		}
		b.bits++
	}
}

// losslessWebP encodes a black-and-white m as a lossless (VP8L) WebP: Go
// has no WebP encoder, and the format is simple enough for two colours.
// Every prefix code is a "simple" one: green, red and blue take 0 or 255
// with one bit each, alpha is always 255 and no back-references are used.
func losslessWebP(m image.Image) []byte {
	r := m.Bounds()
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint32(r.Dx()-1), 14)
	bw.write(uint32(r.Dy()-1), 14)
	bw.write(0, 1) // no alpha
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	twoSymbols := func() { bw.write(1, 1); bw.write(1, 1); bw.write(1, 1); bw.write(0, 8); bw.write(255, 8) }
	twoSymbols() // green
	twoSymbols() // red
	twoSymbols() // blue
	bw.write(1, 1)
	bw.write(0, 1)
	bw.write(1, 1)
	bw.write(255, 8) // alpha: 255 only
	bw.write(1, 1)
	bw.write(0, 1)
	bw.write(0, 1)
	bw.write(0, 1) // distance: 0 only
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			v := uint32(0)
			if color.GrayModel.Convert(m.At(x, y)).(color.Gray).Y >= 128 {
				v = 1
			}
			bw.write(v, 1) // green
			bw.write(v, 1) // red
			bw.write(v, 1) // blue
		}
	}
	data := bw.buf
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	var out bytes.Buffer
	out.WriteString("RIFF")
	out.Write(binary.LittleEndian.AppendUint32(nil, uint32(4+8+len(bw.buf)+len(bw.buf)%2)))
	out.WriteString("WEBPVP8L")
	out.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(bw.buf))))
	out.Write(data)
	return out.Bytes()
}

// tiffcp recompresses the TIFF in with libtiff's tiffcp (-c lzw, -c g4, …),
// so that tests get files written by the library most scanners use.
func tiffcp(t testing.TB, in []byte, compression string) []byte {
	t.Helper()
	path, err := exec.LookPath("tiffcp")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tiffcp is not on PATH; CI must install libtiff-tools")
		}
		t.Skip("tiffcp is not on PATH; install libtiff-tools")
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "in.tif"), filepath.Join(dir, "out.tif")
	if err := os.WriteFile(src, in, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(path, "-c", compression, src, dst).CombinedOutput(); err != nil {
		t.Fatalf("tiffcp -c %s: %v: %s", compression, err, strings.TrimSpace(string(out)))
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
