package document

import (
	"bytes"
	"context"
	"encoding/binary"
	"image/gif"
	"testing"
)

// imageSeeds are small images of every type, EXIF-rotated JPEGs included.
func imageSeeds(f *testing.F) [][]byte {
	m := quadrantImage(12, 16, 1)
	jpg := encodeJPEG(f, m)
	return [][]byte{
		encodePNG(f, m), png16(f, 6, 8, 2), jpg, withEXIFOrientation(jpg, 6, binary.BigEndian),
		withEXIFOrientation(jpg, 3, binary.LittleEndian), encodeBMP(f, m), losslessWebP(m),
		threeFrameGIF(f, 8, 6),
	}
}

// FuzzImageToPDF: any input that sniffs as an image converts or fails
// with an error for the user, never panics, and a success is a PDF whose
// page count pdfcpu agrees with.
func FuzzImageToPDF(f *testing.F) {
	for _, s := range imageSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ := sniffImage(b)
		if typ == "" {
			return
		}
		pdf, n, err := imageToPDF(typ, b, 1<<16)
		errorIsForUsers(t, err)
		if err != nil {
			return
		}
		got, err := pdfPageCount(pdf)
		if err != nil || got != n || n < 1 {
			t.Fatalf("imageToPDF said %d pages; pdfcpu reads %d (%v)", n, got, err)
		}
	})
}

// FuzzJPEGOrientation: the EXIF reader returns an orientation from 1 to 8
// for any input.
func FuzzJPEGOrientation(f *testing.F) {
	for _, s := range imageSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("got orientation %d, want 1 to 8", o)
		}
	})
}

// FuzzScanGIF: the block walker never panics, and where Go's decoder
// reads the file it counts the same frames.
func FuzzScanGIF(f *testing.F) {
	f.Add(threeFrameGIF(f, 8, 6))
	f.Add(threeFrameGIF(f, 1, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, _, err := scanGIF(b)
		g, gerr := gif.DecodeAll(bytes.NewReader(b))
		if gerr == nil && err == nil && len(g.Image) != n {
			t.Fatalf("scanGIF counts %d frames, the decoder %d", n, len(g.Image))
		}
	})
}

// FuzzSniffOffice: sniffing never panics and names only office types.
func FuzzSniffOffice(f *testing.F) {
	f.Add(docx(f))
	f.Add(odf(f, string(ODS), `<office:spreadsheet/>`))
	f.Add([]byte(`{\rtf1 hi}`))
	f.Add([]byte("<html><body>hi</body></html>"))
	f.Add([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		switch typ := sniffOffice(b); typ {
		case "", DOCX, DOC, ODT, RTF, XLSX, ODS, PPTX, ODP, HTML:
		default:
			t.Fatalf("sniffed %q", typ)
		}
	})
}

// FuzzConvert: the whole send conversion, office documents left out
// (LibreOffice is too slow to fuzz), never panics and fails only with
// errors for the user; a success's page count is its document's.
func FuzzConvert(f *testing.F) {
	for _, s := range imageSeeds(f) {
		f.Add(s, []byte("second file\n"))
	}
	f.Add([]byte("%PDF-1.4"), []byte("text"))
	c := NewConverter(ConverterOptions{MaxPixels: 1 << 16})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if sniffOffice(a) != "" || sniffOffice(b) != "" {
			return
		}
		doc, err := c.Convert(context.Background(), [][]byte{a, b})
		errorIsForUsers(t, err)
		if err != nil {
			return
		}
		if n, err := pdfPageCount(doc.Bytes); err != nil || n != doc.Pages {
			t.Fatalf("Convert said %d pages; pdfcpu reads %d (%v)", doc.Pages, n, err)
		}
	})
}
