package document

import (
	"bytes"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

var coverTime = time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)

func newCover(t testing.TB, opts CoverOptions) *CoverRenderer {
	t.Helper()
	r, err := NewCoverRenderer(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// coverText is the text poppler reads on page n, rows kept as laid out
// (-layout) and spaces squashed, so that a label and its value read as one.
func coverPageText(t testing.TB, pdf []byte, n int) string {
	t.Helper()
	path := requireTool(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "-layout", "-enc", "UTF-8", "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// TestCoverRender: the default cover carries the title, the date, every
// field, the page count with the cover, the message and the confidential
// notice, on one page that poppler reads.
func TestCoverRender(t *testing.T) {
	t.Parallel()
	c := fax.Cover{To: "Dr. Ana Smith, Cardiology", From: "Riverside Clinic", Subject: "Referral (urgent) \\ review",
		Message: "Please find the referral attached.\n\nCall us back at the clinic.", Confidential: true}
	pdf, n, err := newCover(t, CoverOptions{}).Render(c, 2, coverTime)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("got %d cover pages, want 1", n)
	}
	if info := pdfinfo(t, pdf); info.pages != 1 {
		t.Fatalf("pdfinfo: got %d pages, want 1", info.pages)
	}
	checkXref(t, pdf)
	got := coverPageText(t, pdf, 1)
	for _, want := range []string{"FAX", "Date: 2026-12-06 09:30 UTC", "To: Dr. Ana Smith, Cardiology", "From: Riverside Clinic",
		"Subject: Referral (urgent) \\ review", "Pages: 3 (including this cover page)", "Please find the referral attached.",
		"Call us back at the clinic.", "confidential health information", "privileged and protected by law.",
		"intended only for the use of the recipient named above", "received this fax in error, please notify the sender immediately and destroy all pages"} {
		if !strings.Contains(got, want) {
			t.Errorf("cover reads %q; want %q in it", got, want)
		}
	}
}

// TestCoverLeavesOutEmptyFields: only the fields given are shown, and
// without cover_confidential there is no notice.
func TestCoverLeavesOutEmptyFields(t *testing.T) {
	t.Parallel()
	pdf, _, err := newCover(t, CoverOptions{}).Render(fax.Cover{Subject: "Lab results"}, 1, coverTime)
	if err != nil {
		t.Fatal(err)
	}
	got := coverPageText(t, pdf, 1)
	if !strings.Contains(got, "Subject: Lab results") || !strings.Contains(got, "Pages: 2") {
		t.Fatalf("cover reads %q", got)
	}
	for _, absent := range []string{"To:", "From:", "CONFIDENTIALITY", "confidential"} {
		if strings.Contains(got, absent) {
			t.Errorf("cover reads %q; want no %q", got, absent)
		}
	}
}

// TestCoverNonLatin1: characters outside Windows-1252 print as '?', the
// accented Latin ones as themselves, and nothing panics.
func TestCoverNonLatin1(t *testing.T) {
	t.Parallel()
	c := fax.Cover{To: "José Müller", From: "患者 Клиника", Subject: "emoji 😀 “quoted” – €5", Message: "\u202eevil\u200b"}
	pdf, _, err := newCover(t, CoverOptions{}).Render(c, 1, coverTime)
	if err != nil {
		t.Fatal(err)
	}
	got := coverPageText(t, pdf, 1)
	for _, want := range []string{"To: José Müller", "From: ?? ???????", "Subject: emoji ? “quoted” – €5", "?evil?"} {
		if !strings.Contains(got, want) {
			t.Errorf("cover reads %q; want %q in it", got, want)
		}
	}
}

// TestCoverWrapsWithinMargins: long words and long lines wrap inside the
// one-inch margins, measured on what poppler reads.
func TestCoverWrapsWithinMargins(t *testing.T) {
	t.Parallel()
	c := fax.Cover{To: strings.Repeat("W", 100), Subject: strings.Repeat("wide words ", 18),
		Message: strings.Repeat("M", 300) + "\n" + strings.Repeat("Lorem ipsum dolor sit amet, consectetur. ", 60)}
	pdf, n, err := newCover(t, CoverOptions{}).Render(c, 1, coverTime)
	if err != nil {
		t.Fatal(err)
	}
	words := wordBoxes(t, pdf)
	if len(words) < 100 {
		t.Fatalf("poppler found %d words, want the whole message", len(words))
	}
	for _, w := range words {
		if w.xMin < textMargin-1 || w.xMax > textPageWidth-textMargin+1 || w.yMax > textPageHeight-textMargin+4 || w.yMin < textMargin-4 {
			t.Fatalf("word %q at x %.1f–%.1f, y %.1f–%.1f is outside the margins", w.text, w.xMin, w.xMax, w.yMin, w.yMax)
		}
	}
	// Page count in the text agrees with the pages made.
	if got := coverPageText(t, pdf, 1); !strings.Contains(got, "Pages: "+strconv.Itoa(1+n)) {
		t.Fatalf("cover of %d pages reads %q; want Pages: %d", n, got, 1+n)
	}
}

// TestCoverMessageRunsOver: a message too long for one page continues on
// a second, and the page count says so.
func TestCoverMessageRunsOver(t *testing.T) {
	t.Parallel()
	lines := make([]string, fax.MaxCoverMessageLines)
	for i := range lines {
		lines[i] = "line " + strconv.Itoa(i+1)
	}
	c := fax.Cover{Message: strings.Join(lines, "\n"), Confidential: true}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	pdf, n, err := newCover(t, CoverOptions{}).Render(c, 3, coverTime)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("got %d cover pages, want 3", n)
	}
	if info := pdfinfo(t, pdf); info.pages != n {
		t.Fatalf("pdfinfo: got %d pages, want %d", info.pages, n)
	}
	if got := coverPageText(t, pdf, 1); !strings.Contains(got, "Pages: 6") {
		t.Fatalf("first page reads %q; want Pages: 6", got)
	}
	last := coverPageText(t, pdf, n)
	if !strings.Contains(last, "line 100") || !strings.Contains(last, "destroy all pages") {
		t.Fatalf("last page reads %q; want the message's end and the notice", last)
	}
}

// TestCoverPrepend: the cover becomes page 1 of a PDF, text or TIFF
// document, and the pages are counted with it.
func TestCoverPrepend(t *testing.T) {
	t.Parallel()
	r := newCover(t, CoverOptions{})
	text, err := TextToPDF("BODY PAGE ONE\fBODY PAGE TWO")
	if err != nil {
		t.Fatal(err)
	}
	tiff := mustRead(t, "fax-g4-fine-2p.tif")
	for name, doc := range map[string]Converted{
		"pdf":  {Bytes: text, MIME: PDF.MIME(), Pages: 2},
		"tiff": {Bytes: tiff, MIME: TIFF.MIME(), Pages: 2},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := r.Prepend(fax.Cover{To: "Records desk"}, doc, coverTime)
			if err != nil {
				t.Fatal(err)
			}
			if out.Pages != 3 || out.MIME != "application/pdf" {
				t.Fatalf("got %d pages of %s, want 3 of application/pdf", out.Pages, out.MIME)
			}
			if info := pdfinfo(t, out.Bytes); info.pages != 3 {
				t.Fatalf("pdfinfo: got %d pages, want 3", info.pages)
			}
			if got := coverPageText(t, out.Bytes, 1); !strings.Contains(got, "FAX") || !strings.Contains(got, "To: Records desk") || !strings.Contains(got, "Pages: 3") {
				t.Fatalf("page 1 reads %q, want the cover", got)
			}
			if name == "pdf" {
				if got := pdfText(t, out.Bytes, 3); !strings.Contains(got, "BODY PAGE TWO") {
					t.Fatalf("page 3 reads %q, want the document's second page", got)
				}
			}
		})
	}
}

// TestCoverPrependPageLimit: a cover never takes a document past
// MaxPages.
func TestCoverPrependPageLimit(t *testing.T) {
	t.Parallel()
	text, err := TextToPDF(strings.Repeat("\f", MaxPages-1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = newCover(t, CoverOptions{}).Prepend(fax.Cover{To: "x"}, Converted{Bytes: text, MIME: PDF.MIME(), Pages: MaxPages}, coverTime)
	wantCode(t, err, fax.ECodeUnprocessable)
}

// TestCoverTemplate: an operator's template sets the text; values are put
// in literally, never read as template.
func TestCoverTemplate(t *testing.T) {
	t.Parallel()
	tmpl := "# Riverside Clinic — {{ subject }}\r\nFor:\t{{to}}\nSheets:\t{{pages}}\n---\nNote: {{message}}\n{{confidential_notice}}\nPlain closing line\n"
	r := newCover(t, CoverOptions{Template: tmpl})
	pdf, _, err := r.Render(fax.Cover{To: "{{message}}", Subject: "Results", Message: "See attached"}, 4, coverTime)
	if err != nil {
		t.Fatal(err)
	}
	got := coverPageText(t, pdf, 1)
	for _, want := range []string{"Riverside Clinic — Results", "For: {{message}}", "Sheets: 5", "Note: See attached", "Plain closing line"} {
		if !strings.Contains(got, want) {
			t.Errorf("cover reads %q; want %q in it", got, want)
		}
	}
	if strings.Contains(got, "FAX") || strings.Contains(got, "CONFIDENTIALITY") {
		t.Errorf("cover reads %q; want only the template's text", got)
	}
}

func TestCoverTemplateRefused(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct{ tmpl, want string }{
		"unknown placeholder": {"To: {{recipient}}", "line 1: unknown placeholder {{recipient}}"},
		"code":                {"ok\n{{ .Exec \"rm\" }}", "line 2: unknown placeholder"},
		"unclosed":            {"# FAX\nTo: {{to", "line 2: {{ without }}"},
		"control character":   {"a\x1bb", "line 1: control character U+001B"},
		"not UTF-8":           {"a\xff", "not UTF-8"},
		"too long":            {strings.Repeat("a", MaxCoverTemplate+1), "at most 16384"},
		"too many lines":      {strings.Repeat("a\n", MaxCoverTemplateLines+1), "at most 200"},
		"too tall":            {strings.Repeat("# Heading\n", 150), "alone needs more than 5 pages"},
	} {
		_, err := NewCoverRenderer(CoverOptions{Template: tt.tmpl})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", name, err, tt.want)
		}
	}
}

// TestCoverLogo: a PNG or JPEG logo is drawn at the top of the first
// cover page, at most an inch tall; anything else is refused when the
// renderer is made.
func TestCoverLogo(t *testing.T) {
	t.Parallel()
	m := image.NewRGBA(image.Rect(0, 0, 400, 100))
	for y := range 100 {
		for x := range 400 {
			m.Set(x, y, color.Black)
		}
	}
	var pngLogo, jpgLogo bytes.Buffer
	png.Encode(&pngLogo, m)
	jpeg.Encode(&jpgLogo, m, nil)
	for name, logo := range map[string][]byte{"png": pngLogo.Bytes(), "jpeg": jpgLogo.Bytes()} {
		r := newCover(t, CoverOptions{Logo: logo})
		if r.logoH != coverLogoHeight || r.logoW != 4*coverLogoHeight {
			t.Fatalf("%s: logo is %v×%v pt, want 288×72", name, r.logoW, r.logoH)
		}
		pdf, n, err := r.Render(fax.Cover{Message: strings.Repeat("many lines\n", 99) + "end"}, 1, coverTime)
		if err != nil {
			t.Fatal(err)
		}
		if got := imagesByPage(t, pdf); len(got) != 1 || got[0] != 1 || n < 2 {
			t.Fatalf("%s: images on pages %v of %d, want one on page 1", name, got, n)
		}
		// The top inch of the text area is black where the logo is.
		g := pageGray(t, pdf, 1)
		scale := float64(g.Rect.Dx()) / textPageWidth
		x, y := int((textMargin+100)*scale), int((textMargin+30)*scale)
		if v := g.Pix[y*g.Stride+x]; v > 64 {
			t.Fatalf("%s: logo area has grey %d, want black", name, v)
		}
		if !strings.Contains(coverPageText(t, pdf, 1), "FAX") {
			t.Fatalf("%s: the cover lost its title under the logo", name)
		}
	}
	gifLogo := []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")
	for name, tt := range map[string]struct {
		logo []byte
		want string
	}{
		"text":    {[]byte("not an image"), "not a PNG or JPEG"},
		"gif":     {gifLogo, "not a PNG or JPEG"},
		"damaged": {pngLogo.Bytes()[:60], "the cover logo: the PNG image could not be read"},
		"huge":    {hugePNGHeader(t), "too many pixels"},
	} {
		if _, err := NewCoverRenderer(CoverOptions{Logo: tt.logo}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", name, err, tt.want)
		}
	}
}

// hugePNGHeader is a small PNG whose header claims 30000×30000 pixels.
func hugePNGHeader(t testing.TB) []byte {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1)))
	p := b.Bytes()
	// IHDR's width and height, then its CRC.
	copy(p[16:24], []byte{0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30})
	crc := crc32.ChecksumIEEE(p[12:29])
	copy(p[29:33], []byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return p
}

// wordBox is a word poppler found and where, in PDF points from the
// page's top-left.
type wordBox struct {
	text                   string
	xMin, yMin, xMax, yMax float64
}

// wordBoxes returns every word of pdf with its box, from pdftotext -bbox.
func wordBoxes(t testing.TB, pdf []byte) []wordBox {
	t.Helper()
	path := requireTool(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "-bbox", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext -bbox: %v", err)
	}
	re := regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">([^<]*)</word>`)
	var words []wordBox
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		var v [4]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(m[i+1], 64)
		}
		words = append(words, wordBox{m[5], v[0], v[1], v[2], v[3]})
	}
	return words
}

// imagesByPage returns the page of each image in pdf, from pdfimages.
func imagesByPage(t testing.TB, pdf []byte) []int {
	t.Helper()
	path := requireTool(t, "pdfimages")
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "-list", f).Output()
	if err != nil {
		t.Fatalf("pdfimages: %v", err)
	}
	var pages []int
	for _, line := range strings.Split(string(out), "\n")[2:] {
		if fs := strings.Fields(line); len(fs) > 0 {
			n, _ := strconv.Atoi(fs[0])
			pages = append(pages, n)
		}
	}
	return pages
}
