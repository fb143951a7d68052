package document

import (
	"errors"
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pdfcpu/pdfcpu/pkg/font"
	"golang.org/x/image/draw"

	"github.com/faxgate/faxgate/internal/fax"
)

// Cover pages are US Letter with the text pages' one-inch margins, set in
// Helvetica: 11 pt on a 14 pt leading, labels in bold, headings in 28 pt
// bold. A logo is drawn at the top, at most an inch tall.
const (
	coverWidth          = textPageWidth - 2*textMargin // 468 pt
	coverTop            = textPageHeight - textMargin
	coverBodySize       = 11.0
	coverBodyLeading    = 14.0
	coverHeadingSize    = 28.0
	coverHeadingLeading = 34.0
	// coverLabelColumn is where a value starts after its label.
	coverLabelColumn = 90.0
	coverRuleSpace   = 12.0
	coverLogoHeight  = 72.0
	coverLogoGap     = 18.0
	// coverLogoMaxPixels bounds the decoded logo; a logo needs far fewer.
	coverLogoMaxPixels = 25_000_000
)

// Bounds of a cover.
const (
	// MaxCoverPages is how many pages a cover may run to when its message
	// does not fit on one.
	MaxCoverPages = 5
	// MaxCoverTemplate is the largest cover template, in bytes.
	MaxCoverTemplate = 16 << 10
	// MaxCoverTemplateLines is the most lines a cover template may have.
	MaxCoverTemplateLines = 200
	// MaxCoverLogo is the largest logo file, in bytes.
	MaxCoverLogo = 5 << 20
)

// DefaultCoverTemplate is the cover used when FAXGATE_COVER_TEMPLATE is not
// set, written in the template language it documents: "# " starts a
// heading, a line of "---" is a rule, text before a tab is a bold label
// whose value starts at a fixed column, and a line whose placeholders all
// came out empty is left out.
const DefaultCoverTemplate = `# FAX
---
Date:	{{date}}
To:	{{to}}
From:	{{from}}
Subject:	{{subject}}
Pages:	{{pages}} (including this cover page)
---

{{message}}

{{confidential_notice}}
`

// ConfidentialNotice is what {{confidential_notice}} says when a send asks
// for it (cover_confidential): the notice health-care senders put on faxes.
const ConfidentialNotice = "CONFIDENTIALITY NOTICE: This fax may contain confidential health information that is " +
	"privileged and protected by law. It is intended only for the use of the recipient named " +
	"above. If you are not the intended recipient, any review, disclosure, copying, distribution or use of its " +
	"contents is prohibited. If you have received this fax in error, please notify the sender immediately and " +
	"destroy all pages."

// coverField is a template placeholder; coverText is literal text.
type coverField int

const (
	coverText coverField = iota
	coverTo
	coverFrom
	coverSubject
	coverMessage
	coverPages
	coverDate
	coverNotice
	numCoverFields
)

// coverFieldNamed returns the placeholder called name, or coverText.
func coverFieldNamed(name string) coverField {
	switch name {
	case "to":
		return coverTo
	case "from":
		return coverFrom
	case "subject":
		return coverSubject
	case "message":
		return coverMessage
	case "pages":
		return coverPages
	case "date":
		return coverDate
	case "confidential_notice":
		return coverNotice
	}
	return coverText
}

// coverSegment is literal text or a placeholder.
type coverSegment struct {
	text  string
	field coverField
}

type coverLineKind int

const (
	coverLineText coverLineKind = iota
	coverLineHeading
	coverLineRule
)

// coverLine is one line of a parsed template. A text line with a tab has a
// label; one without has only a value.
type coverLine struct {
	kind         coverLineKind
	label, value []coverSegment
	hasLabel     bool
}

// CoverOptions are the operator's cover settings.
type CoverOptions struct {
	// Logo is a PNG or JPEG drawn at the top of every cover
	// (FAXGATE_COVER_LOGO); nil for none.
	Logo []byte
	// Template is the cover's text (FAXGATE_COVER_TEMPLATE); "" takes
	// DefaultCoverTemplate.
	Template string
}

// CoverRenderer renders the cover pages of sends. It checks the logo and
// the template once, when it is made, so that an operator's mistake stops
// the gateway at start-up instead of failing sends.
type CoverRenderer struct {
	lines []coverLine
	logo  *pdfImage
	// logoW and logoH are the logo's size on the page, in points.
	logoW, logoH float64
	// widths are Helvetica's and Helvetica-Bold's glyph widths (1/1000 em)
	// by WinAnsi code, for wrapping.
	widths [2][256]float64
}

// NewCoverRenderer checks opts and returns a renderer. Its errors say what
// is wrong with the logo or which template line is.
func NewCoverRenderer(opts CoverOptions) (*CoverRenderer, error) {
	tmpl := opts.Template
	if tmpl == "" {
		tmpl = DefaultCoverTemplate
	}
	lines, err := parseCoverTemplate(tmpl)
	if err != nil {
		return nil, err
	}
	r := &CoverRenderer{lines: lines}
	for i, name := range [2]string{"Helvetica", "Helvetica-Bold"} {
		for c := range 256 {
			w, err := font.CharWidth(name, rune(c))
			if err != nil {
				return nil, fmt.Errorf("document: %s metrics: %w", name, err)
			}
			r.widths[i][c] = float64(w)
		}
	}
	if opts.Logo != nil {
		img, w, h, err := coverLogo(opts.Logo)
		if err != nil {
			return nil, err
		}
		r.logo, r.logoW, r.logoH = &img, w, h
	}
	// The template's own text must leave the senders' fields room.
	if len(r.layout(&[numCoverFields]string{coverPages: "1", coverDate: "2006-01-02 15:04 UTC"})) > MaxCoverPages {
		return nil, fmt.Errorf("the cover template alone needs more than %d pages", MaxCoverPages)
	}
	return r, nil
}

// parseCoverTemplate reads a template: UTF-8 text, lines as
// DefaultCoverTemplate describes, placeholders from a fixed set. Values
// are put in where the placeholders stand and never read as template, so
// a value holding "{{message}}" prints as it is.
func parseCoverTemplate(t string) ([]coverLine, error) {
	if len(t) > MaxCoverTemplate {
		return nil, fmt.Errorf("the cover template is %d bytes; at most %d", len(t), MaxCoverTemplate)
	}
	if !utf8.ValidString(t) {
		return nil, errors.New("the cover template is not UTF-8 text")
	}
	t = strings.TrimPrefix(t, "\ufeff")
	t = strings.ReplaceAll(t, "\r\n", "\n")
	t = strings.TrimRight(t, "\n")
	raw := strings.Split(t, "\n")
	if len(raw) > MaxCoverTemplateLines {
		return nil, fmt.Errorf("the cover template has %d lines; at most %d", len(raw), MaxCoverTemplateLines)
	}
	lines := make([]coverLine, 0, len(raw))
	for i, l := range raw {
		n := i + 1
		for _, c := range l {
			if unicode.IsControl(c) && c != '\t' {
				return nil, fmt.Errorf("cover template line %d: control character U+%04X", n, c)
			}
		}
		var line coverLine
		var err error
		switch {
		case strings.TrimSpace(l) == "---":
			line.kind = coverLineRule
		case strings.HasPrefix(l, "# "):
			line.kind = coverLineHeading
			line.value, err = parseCoverSegments(strings.TrimSpace(strings.ReplaceAll(l[2:], "\t", " ")), n)
		default:
			label, value, tab := strings.Cut(l, "\t")
			if tab {
				line.hasLabel = true
				if line.label, err = parseCoverSegments(label, n); err == nil {
					line.value, err = parseCoverSegments(strings.TrimLeft(value, "\t"), n)
				}
			} else {
				line.value, err = parseCoverSegments(l, n)
			}
		}
		if err != nil {
			return nil, err
		}
		lines = append(lines, line)
	}
	return lines, nil
}

func parseCoverSegments(s string, line int) ([]coverSegment, error) {
	var segs []coverSegment
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			segs = append(segs, coverSegment{text: s})
			break
		}
		if i > 0 {
			segs = append(segs, coverSegment{text: s[:i]})
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("cover template line %d: {{ without }}", line)
		}
		name := strings.TrimSpace(s[i+2 : i+2+j])
		f := coverFieldNamed(name)
		if f == coverText {
			if len(name) > 40 {
				name = name[:40]
			}
			return nil, fmt.Errorf("cover template line %d: unknown placeholder {{%s}}; want {{to}}, {{from}}, {{subject}}, {{message}}, {{pages}}, {{date}} or {{confidential_notice}}", line, name)
		}
		segs = append(segs, coverSegment{field: f})
		s = s[i+2+j+2:]
	}
	return segs, nil
}

// coverLogo decodes a PNG or JPEG logo and dithers it for the top of the
// cover: as large as fits an inch tall and the text's width, turned as
// its EXIF orientation says.
func coverLogo(b []byte) (img pdfImage, w, h float64, err error) {
	t := sniffImage(b)
	if t != PNG && t != JPEG {
		return pdfImage{}, 0, 0, errors.New("the cover logo is not a PNG or JPEG image")
	}
	if len(b) > MaxCoverLogo {
		return pdfImage{}, 0, 0, fmt.Errorf("the cover logo is %d bytes; at most %d", len(b), MaxCoverLogo)
	}
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the cover logo could not be read: the image decoder panicked: %v", v)
		}
	}()
	frames, err := decodeImage(t, b, coverLogoMaxPixels)
	if err != nil {
		return pdfImage{}, 0, 0, fmt.Errorf("the cover logo: %s", fax.ErrorMessage(err))
	}
	m, o := frames[0].img, frames[0].orientation
	sb := m.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	swap := o >= 5 && o <= 8
	ow, oh := sw, sh
	if swap {
		ow, oh = sh, sw
	}
	s := min(coverWidth/float64(ow), coverLogoHeight/float64(oh))
	w, h = float64(ow)*s, float64(oh)*s
	// Drawn at the image pages' resolution, whatever the file's.
	tw, th := max(1, int(math.Round(w*imageDPI/72))), max(1, int(math.Round(h*imageDPI/72)))
	if swap {
		tw, th = th, tw
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), m, sb, draw.Over, nil)
	return dither(orient(grayOf(dst), o)).pdfImage(), w, h, nil
}

// Render returns the cover of a document of docPages pages sent at at, and
// how many pages the cover has: one, unless the message runs over.
// Characters outside Windows-1252 print as '?'. A cover longer than
// MaxCoverPages is a *fax.Error with code invalid.
func (r *CoverRenderer) Render(c fax.Cover, docPages int, at time.Time) ([]byte, int, error) {
	var vals [numCoverFields]string
	vals[coverTo], vals[coverFrom], vals[coverSubject], vals[coverMessage] = c.To, c.From, c.Subject, c.Message
	vals[coverDate] = at.UTC().Format("2006-01-02 15:04 UTC")
	if c.Confidential {
		vals[coverNotice] = ConfidentialNotice
	}
	// The page count is part of the text, and the text decides the page
	// count: lay out until they agree (a second pass at most, in practice).
	n := 1
	var pages []*coverPage
	for range 4 {
		vals[coverPages] = strconv.Itoa(docPages + n)
		pages = r.layout(&vals)
		if len(pages) == n || len(pages) > MaxCoverPages {
			break
		}
		n = len(pages)
	}
	if len(pages) > MaxCoverPages {
		return nil, 0, fax.Errorf(fax.ECodeInvalid, "the cover needs more than %d pages; shorten cover_message", MaxCoverPages)
	}
	d := newPDFDoc()
	for i, p := range pages {
		var images []pdfImage
		if i == 0 && r.logo != nil {
			images = []pdfImage{*r.logo}
		}
		if err := d.addPageFonts(textPageWidth, textPageHeight, []byte(p.b.String()), p.fonts, images); err != nil {
			return nil, 0, err
		}
	}
	b, err := d.bytes()
	if err != nil {
		return nil, 0, err
	}
	return b, len(pages), nil
}

// Prepend puts the cover in front of a converted document and counts the
// pages again. A lone TIFF, kept as it came without a cover, becomes PDF.
func (r *CoverRenderer) Prepend(c fax.Cover, doc Converted, at time.Time) (Converted, error) {
	pdf := doc.Bytes
	if doc.MIME != PDF.MIME() {
		var err error
		if pdf, _, err = TIFFToPDF(doc.Bytes); err != nil {
			return Converted{}, err
		}
	}
	cover, n, err := r.Render(c, doc.Pages, at)
	if err != nil {
		return Converted{}, err
	}
	if doc.Pages+n > MaxPages {
		return Converted{}, errTooManyPages(doc.Pages + n)
	}
	out, err := mergePDFs([][]byte{cover, pdf})
	if err != nil {
		return Converted{}, err
	}
	pages, err := pdfPageCount(out)
	if err != nil {
		return Converted{}, fmt.Errorf("document: count the pages with the cover: %w", err)
	}
	return Converted{Bytes: out, MIME: PDF.MIME(), Pages: pages}, nil
}

// coverPage is one cover page's content stream and the fonts it uses.
type coverPage struct {
	b     strings.Builder
	fonts int
}

// coverLayout places rows from the top of the first page down, starting
// a page when a row does not fit.
type coverLayout struct {
	r     *CoverRenderer
	pages []*coverPage
	y     float64 // top of the next row
}

// layout sets the template with vals on as many pages as it takes; it
// stops once there are more than MaxCoverPages.
func (r *CoverRenderer) layout(vals *[numCoverFields]string) []*coverPage {
	l := &coverLayout{r: r}
	l.newPage()
	if r.logo != nil {
		fmt.Fprintf(&l.page().b, "q %s 0 0 %s %s %s cm /Im0 Do Q\n",
			pdfNum(r.logoW), pdfNum(r.logoH), pdfNum(textMargin), pdfNum(coverTop-r.logoH))
		l.y -= r.logoH + coverLogoGap
	}
	lastBlank, dropped := true, false
	for _, line := range r.lines {
		if len(l.pages) > MaxCoverPages {
			break
		}
		label, value, fields, filled := expand(line, vals)
		if fields && !filled {
			dropped = true
			continue
		}
		blank := line.kind == coverLineText && strings.TrimSpace(label+value) == ""
		// A blank line after a left-out one is left out too when the line
		// before was blank, so that an empty message leaves no gap.
		if blank && dropped && lastBlank {
			continue
		}
		dropped, lastBlank = false, blank
		switch {
		case line.kind == coverLineRule:
			l.rule()
		case line.kind == coverLineHeading:
			l.paragraph(fontHelveticaBold, coverHeadingSize, coverHeadingLeading, textMargin, coverWidth, oneLine(value))
		case blank:
			l.blank()
		case line.hasLabel:
			l.labelled(oneLine(label), value)
		default:
			for _, p := range strings.Split(value, "\n") {
				l.paragraph(fontHelvetica, coverBodySize, coverBodyLeading, textMargin, coverWidth, p)
			}
		}
	}
	return l.pages
}

// expand puts vals in a line's placeholders. fields says whether the line
// has any, filled whether any of them came out non-empty.
func expand(line coverLine, vals *[numCoverFields]string) (label, value string, fields, filled bool) {
	join := func(segs []coverSegment) string {
		var b strings.Builder
		for _, s := range segs {
			if s.field == coverText {
				b.WriteString(s.text)
				continue
			}
			fields = true
			if v := vals[s.field]; v != "" {
				filled = true
				b.WriteString(v)
			}
		}
		return b.String()
	}
	return join(line.label), join(line.value), fields, filled
}

// oneLine joins the lines of s with spaces, for a label or a heading.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func (l *coverLayout) page() *coverPage { return l.pages[len(l.pages)-1] }

func (l *coverLayout) newPage() {
	l.pages = append(l.pages, &coverPage{})
	l.y = coverTop
}

// room starts a new page unless a row of height h fits on this one.
func (l *coverLayout) room(h float64) {
	if l.y-h < textMargin {
		l.newPage()
	}
}

// blank leaves a line's space, unless the page is full: a blank line
// never starts a page.
func (l *coverLayout) blank() {
	if l.y-coverBodyLeading >= textMargin {
		l.y -= coverBodyLeading
	}
}

func (l *coverLayout) rule() {
	if l.y-coverRuleSpace < textMargin {
		return
	}
	y := l.y - coverRuleSpace/2
	fmt.Fprintf(&l.page().b, "0.75 w %s %s m %s %s l S\n", pdfNum(textMargin), pdfNum(y), pdfNum(textMargin+coverWidth), pdfNum(y))
	l.y -= coverRuleSpace
}

// text draws one row of UTF-8 text s with its top at the current line.
func (l *coverLayout) text(fontBit int, size, x float64, s string) {
	p := l.page()
	p.fonts |= fontBit
	// The baseline sits a font size below the row's top, as on the text
	// pages.
	fmt.Fprintf(&p.b, "BT /F%d %s Tf %s %s Td %s Tj ET\n", fontNumber(fontBit), pdfNum(size), pdfNum(x), pdfNum(l.y-size), pdfString(s))
}

// fontNumber is the /F number of a font bit.
func fontNumber(bit int) int {
	n := 1
	for bit > 1 {
		bit >>= 1
		n++
	}
	return n
}

// paragraph wraps one paragraph of UTF-8 text to width and sets it from
// x down; an empty paragraph is a blank line.
func (l *coverLayout) paragraph(fontBit int, size, leading, x, width float64, s string) {
	if strings.TrimSpace(s) == "" {
		l.blank()
		return
	}
	for _, row := range wrapFit(coverWinAnsi(s), l.r.fit(fontBit, size, width)) {
		l.room(leading)
		l.text(fontBit, size, x, row)
		l.y -= leading
	}
}

// labelled sets a bold label and its value, the value's rows starting at
// the label column (or after a long label) and wrapping under themselves.
// A label too long to leave room for a value is set as plain text.
func (l *coverLayout) labelled(label, value string) {
	label = coverWinAnsi(label)
	lw := l.r.width(fontHelveticaBold, coverBodySize, label)
	if lw > coverWidth/2 {
		for _, p := range strings.Split(label+" "+value, "\n") {
			l.paragraph(fontHelvetica, coverBodySize, coverBodyLeading, textMargin, coverWidth, p)
		}
		return
	}
	x := textMargin + max(coverLabelColumn, lw+8)
	width := textMargin + coverWidth - x
	first := true
	for _, p := range strings.Split(value, "\n") {
		rows := wrapFit(coverWinAnsi(p), l.r.fit(fontHelvetica, coverBodySize, width))
		for _, row := range rows {
			l.room(coverBodyLeading)
			if first {
				l.text(fontHelveticaBold, coverBodySize, textMargin, label)
				first = false
			}
			if row != "" {
				l.text(fontHelvetica, coverBodySize, x, row)
			}
			l.y -= coverBodyLeading
		}
	}
}

// coverWinAnsi is s in WinAnsi with tabs as spaces: proportional text has
// no columns to expand them to.
func coverWinAnsi(s string) string {
	return encodeWinAnsi(strings.ReplaceAll(s, "\t", "    "))
}

// metrics returns the width table of a Helvetica font bit.
func (r *CoverRenderer) metrics(fontBit int) *[256]float64 {
	if fontBit == fontHelveticaBold {
		return &r.widths[1]
	}
	return &r.widths[0]
}

// width is how wide WinAnsi text s is set in a font at size, in points.
func (r *CoverRenderer) width(fontBit int, size float64, s string) float64 {
	w := r.metrics(fontBit)
	sum := 0.0
	for i := 0; i < len(s); i++ {
		sum += w[s[i]]
	}
	return sum * size / 1000
}

// fit returns wrapFit's measure for a row of width points.
func (r *CoverRenderer) fit(fontBit int, size, width float64) func(string) int {
	w := r.metrics(fontBit)
	limit := width * 1000 / size
	return func(s string) int {
		sum := 0.0
		for i := 0; i < len(s); i++ {
			if sum += w[s[i]]; sum > limit {
				return i
			}
		}
		return len(s)
	}
}
