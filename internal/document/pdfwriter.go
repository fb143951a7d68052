package document

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
)

// pdfDoc writes a PDF 1.4 file front to back in memory: pages are added one
// at a time and only their object numbers are kept, so converting a long TIFF
// never holds more than one decoded page. The output uses a classic xref
// table and only standard fonts, which every reader and every carrier's
// rasteriser understands.
type pdfDoc struct {
	buf     bytes.Buffer
	offsets []int // offsets[n-1] is where object n starts; -1 until written
	catalog int
	pages   int
	// fonts[i] is the object of the standard font pageFont(i), 0 until a
	// page uses it.
	fonts [numPageFonts]int
	kids  []int
	// zw and zbuf compress every stream of the document: a zlib.Writer
	// costs far more to make than to reset.
	zw   *zlib.Writer
	zbuf bytes.Buffer
}

// pdfImage is an image XObject: dict holds its entries other than /Type,
// /Subtype, /Filter and /Length, and data its uncompressed samples.
type pdfImage struct {
	dict string
	data []byte
}

func newPDFDoc() *pdfDoc {
	d := &pdfDoc{}
	d.zw = zlib.NewWriter(&d.zbuf)
	// The second line's high bytes tell transfer programs the file is binary.
	d.buf.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	d.catalog = d.alloc()
	d.pages = d.alloc()
	return d
}

// alloc reserves the next object number.
func (d *pdfDoc) alloc() int {
	d.offsets = append(d.offsets, -1)
	return len(d.offsets)
}

func (d *pdfDoc) object(n int, body string) {
	d.offsets[n-1] = d.buf.Len()
	fmt.Fprintf(&d.buf, "%d 0 obj\n%s\nendobj\n", n, body)
}

// stream writes object n as a stream; dict holds its dictionary entries
// other than /Length.
func (d *pdfDoc) stream(n int, dict string, data []byte) {
	d.offsets[n-1] = d.buf.Len()
	fmt.Fprintf(&d.buf, "%d 0 obj\n<< %s /Length %d >>\nstream\n", n, dict, len(data))
	d.buf.Write(data)
	d.buf.WriteString("\nendstream\nendobj\n")
}

// Font sets for addPageFonts: bit i is pageFont(i), shown as /F(i+1).
const (
	fontCourier       = 1 << 0
	fontHelvetica     = 1 << 1
	fontHelveticaBold = 1 << 2
	numPageFonts      = 3
)

// pageFont names the standard fonts pages may use: Courier for text pages,
// Helvetica and its bold for cover pages. Standard fonts need nothing
// embedded and every reader and rasteriser has them.
func pageFont(i int) string {
	return [numPageFonts]string{"Courier", "Helvetica", "Helvetica-Bold"}[i]
}

// addPage adds a page of width×height points drawn by content, which may use
// the font /F1 (Courier) when text is true and the images as /Im0, /Im1, ….
func (d *pdfDoc) addPage(width, height float64, content []byte, text bool, images []pdfImage) error {
	fonts := 0
	if text {
		fonts = fontCourier
	}
	return d.addPageFonts(width, height, content, fonts, images)
}

// addPageFonts is addPage with the set of fonts content uses.
func (d *pdfDoc) addPageFonts(width, height float64, content []byte, fonts int, images []pdfImage) error {
	page := d.alloc()
	contents := d.alloc()
	var res strings.Builder
	res.WriteString("<<")
	if fonts != 0 {
		res.WriteString(" /Font <<")
		for i := range numPageFonts {
			if fonts&(1<<i) == 0 {
				continue
			}
			if d.fonts[i] == 0 {
				d.fonts[i] = d.alloc()
				d.object(d.fonts[i], "<< /Type /Font /Subtype /Type1 /BaseFont /"+pageFont(i)+" /Encoding /WinAnsiEncoding >>")
			}
			fmt.Fprintf(&res, " /F%d %d 0 R", i+1, d.fonts[i])
		}
		res.WriteString(" >>")
	}
	if len(images) > 0 {
		res.WriteString(" /XObject <<")
		for i, img := range images {
			n := d.alloc()
			z, err := d.deflate(img.data)
			if err != nil {
				return err
			}
			d.stream(n, "/Type /XObject /Subtype /Image "+img.dict+" /Filter /FlateDecode", z)
			fmt.Fprintf(&res, " /Im%d %d 0 R", i, n)
		}
		res.WriteString(" >>")
	}
	res.WriteString(" >>")
	z, err := d.deflate(content)
	if err != nil {
		return err
	}
	d.stream(contents, "/Filter /FlateDecode", z)
	d.object(page, fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources %s /Contents %d 0 R >>",
		d.pages, pdfNum(width), pdfNum(height), res.String(), contents))
	d.kids = append(d.kids, page)
	return nil
}

// bytes finishes the file: page tree, catalog, info, xref table and trailer.
func (d *pdfDoc) bytes() ([]byte, error) {
	if len(d.kids) == 0 {
		return nil, fmt.Errorf("document: pdf has no pages")
	}
	var kids strings.Builder
	for i, k := range d.kids {
		if i > 0 {
			kids.WriteByte(' ')
		}
		fmt.Fprintf(&kids, "%d 0 R", k)
	}
	d.object(d.pages, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), len(d.kids)))
	d.object(d.catalog, fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", d.pages))
	info := d.alloc()
	d.object(info, "<< /Producer (faxgate) >>")
	for i, off := range d.offsets {
		if off < 0 {
			return nil, fmt.Errorf("document: pdf object %d was never written", i+1)
		}
	}
	// The file identifier is a digest of the content, so equal documents are
	// equal byte for byte.
	id := sha256.Sum256(d.buf.Bytes())
	xref := d.buf.Len()
	fmt.Fprintf(&d.buf, "xref\n0 %d\n0000000000 65535 f\r\n", len(d.offsets)+1)
	for _, off := range d.offsets {
		fmt.Fprintf(&d.buf, "%010d 00000 n\r\n", off)
	}
	fmt.Fprintf(&d.buf, "trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%x> <%x>] >>\nstartxref\n%d\n%%%%EOF\n",
		len(d.offsets)+1, d.catalog, info, id[:16], id[:16], xref)
	return d.buf.Bytes(), nil
}

// deflate compresses b for a /FlateDecode stream. The result is valid
// until the next call.
func (d *pdfDoc) deflate(b []byte) ([]byte, error) {
	d.zbuf.Reset()
	d.zw.Reset(&d.zbuf)
	if _, err := d.zw.Write(b); err != nil {
		return nil, fmt.Errorf("document: deflate: %w", err)
	}
	if err := d.zw.Close(); err != nil {
		return nil, fmt.Errorf("document: deflate: %w", err)
	}
	return d.zbuf.Bytes(), nil
}

// pdfNum formats a number the way PDF wants it: no exponent, at most three
// decimals (a thousandth of a point is far below any printer's resolution).
func pdfNum(f float64) string {
	s := strconv.FormatFloat(f, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// pdfString returns s, a string of WinAnsi bytes, as a PDF literal string:
// parentheses and backslashes escaped, bytes outside printable ASCII written
// in octal so the content stream stays 7-bit clean.
func pdfString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('(')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
	return b.String()
}
