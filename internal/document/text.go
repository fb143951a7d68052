package document

import (
	"fmt"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// Text pages are US Letter with one-inch margins, set in 10 pt Courier on a
// 12 pt leading. A monospaced standard font needs no embedded font and no
// width tables, wraps exactly, stays legible at fax resolution and keeps
// the columns of plain-text tables lined up.
const (
	textPageWidth  = 612.0 // 8.5 in
	textPageHeight = 792.0 // 11 in
	textMargin     = 72.0  // 1 in
	textFontSize   = 10.0
	textLeading    = 12.0
	// textColumns is (612 - 2×72) / (0.6 × 10): Courier glyphs are 600/1000 em wide.
	textColumns = 78
	// textRows is (792 - 2×72) / 12.
	textRows = 54
	tabWidth = 8
)

// TextToPDF sets text on as many pages as it needs, so that plain-text faxes
// go through the same PDF path as everything else. Long lines wrap at a
// space where they can, a form feed starts a new page, and characters
// outside Windows-1252 (the Latin-1 range plus typographic quotes, dashes
// and the euro sign) print as '?'. Empty text makes one blank page. More than
// MaxPages pages is a *fax.Error with code unprocessable.
func TextToPDF(text string) ([]byte, error) {
	pages := layoutText(text)
	if len(pages) > MaxPages {
		return nil, errTooManyPages(len(pages))
	}
	d := newPDFDoc()
	for _, lines := range pages {
		if err := d.addPage(textPageWidth, textPageHeight, textContent(lines), true, nil); err != nil {
			return nil, err
		}
	}
	return d.bytes()
}

// SamplePDF returns a pages-page PDF standing in for a received fax, so that
// the simulator carrier delivers a real document that viewers, page counts
// and webhooks handle like any other. Each page is headed "Simulated fax —
// page i of N" and then shows lines, wrapped, cut off where the page ends.
func SamplePDF(pages int, lines []string) ([]byte, error) {
	if pages < 1 || pages > MaxPages {
		return nil, fax.Errorf(fax.ECodeInvalid, "a sample document has 1 to %d pages, not %d", MaxPages, pages)
	}
	d := newPDFDoc()
	for i := 1; i <= pages; i++ {
		rows := []string{encodeWinAnsi(fmt.Sprintf("Simulated fax \u2014 page %d of %d", i, pages)), ""}
		for _, l := range lines {
			rows = append(rows, wrapLine(expandTabs(encodeWinAnsi(l)))...)
		}
		if len(rows) > textRows {
			rows = rows[:textRows]
		}
		if err := d.addPage(textPageWidth, textPageHeight, textContent(rows), true, nil); err != nil {
			return nil, err
		}
	}
	return d.bytes()
}

// textPages returns the number of pages TextToPDF makes of text.
func textPages(text string) int { return len(layoutText(text)) }

func errTooManyPages(n int) error {
	return fax.Errorf(fax.ECodeUnprocessable, "the document has %d pages; faxgate sends at most %d", n, MaxPages)
}

// textContent draws lines of WinAnsi text from the top-left margin down.
func textContent(lines []string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "BT\n/F1 %s Tf\n%s TL\n%s %s Td\n",
		pdfNum(textFontSize), pdfNum(textLeading), pdfNum(textMargin), pdfNum(textPageHeight-textMargin-textFontSize))
	for i, l := range lines {
		if i > 0 {
			b.WriteString("T*\n")
		}
		if l != "" {
			b.WriteString(pdfString(l))
			b.WriteString(" Tj\n")
		}
	}
	b.WriteString("ET\n")
	return []byte(b.String())
}

// layoutText splits text into pages of at most textRows lines of at most
// textColumns WinAnsi bytes. Form feeds end pages; blank lines at the end of
// a page are dropped so they never spill onto an empty page, and a form feed
// at the very end does not add a blank page.
func layoutText(text string) [][]string {
	text = strings.TrimPrefix(text, "\ufeff")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	sections := strings.Split(text, "\f")
	var pages [][]string
	for i, section := range sections {
		var lines []string
		for _, l := range strings.Split(section, "\n") {
			lines = append(lines, wrapLine(expandTabs(encodeWinAnsi(l)))...)
		}
		for len(lines) > 0 && lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if len(lines) == 0 {
			// A blank section is a deliberate blank page, unless it is what
			// follows a trailing form feed.
			if i == len(sections)-1 && len(pages) > 0 {
				break
			}
			pages = append(pages, nil)
			continue
		}
		for len(lines) > 0 {
			n := min(len(lines), textRows)
			page := lines[:n]
			for len(page) > 0 && page[len(page)-1] == "" {
				page = page[:len(page)-1]
			}
			pages = append(pages, page)
			lines = lines[n:]
			// A page break inside a run of blank lines drops the run.
			for len(lines) > 0 && lines[0] == "" && n == textRows {
				lines = lines[1:]
			}
		}
		if len(pages) > MaxPages {
			// Enough to refuse the document; stop doing work for it.
			break
		}
	}
	return pages
}

// wrapLine breaks one line of WinAnsi text into rows of at most textColumns
// bytes, at the last space that fits when there is one. Trailing spaces are
// dropped; leading ones (indentation) are kept on the first row only.
func wrapLine(l string) []string {
	return wrapFit(l, courierFit)
}

// courierFit is how many bytes of l fit on a row of Courier text.
func courierFit(l string) int { return min(len(l), textColumns) }

// wrapFit breaks l as wrapLine does, with fit saying how many of a row's
// leading bytes fit on it, so that the proportional cover page text wraps
// by the same rule as the monospaced text pages.
func wrapFit(l string, fit func(string) int) []string {
	l = strings.TrimRight(l, " ")
	n := fit(l)
	if n >= len(l) {
		return []string{l}
	}
	var rows []string
	for n < len(l) {
		// At least one byte a row, so that a glyph wider than the row
		// cannot stop the loop.
		if n = max(n, 1); n >= len(l) {
			break
		}
		cut := strings.LastIndexByte(l[:n+1], ' ')
		if cut <= 0 || strings.TrimLeft(l[:cut], " ") == "" {
			rows = append(rows, l[:n])
			l = l[n:]
		} else {
			rows = append(rows, strings.TrimRight(l[:cut], " "))
			l = l[cut+1:]
		}
		l = strings.TrimLeft(l, " ")
		n = fit(l)
	}
	if l != "" {
		rows = append(rows, l)
	}
	return rows
}

// expandTabs replaces tabs with spaces up to the next multiple of tabWidth.
func expandTabs(l string) string {
	if !strings.Contains(l, "\t") {
		return l
	}
	var b strings.Builder
	col := 0
	for i := 0; i < len(l); i++ {
		if l[i] == '\t' {
			n := tabWidth - col%tabWidth
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteByte(l[i])
		col++
	}
	return b.String()
}

// encodeWinAnsi maps s to Windows-1252 (the PDF WinAnsiEncoding), one byte a
// character, with '?' for anything it cannot show. Tabs are kept for
// expandTabs; other control characters become '?'.
func encodeWinAnsi(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, winAnsi(r))
	}
	return string(b)
}

func winAnsi(r rune) byte {
	switch {
	case r == '\t':
		return '\t'
	case r >= 0x20 && r < 0x7f, r >= 0xa0 && r <= 0xff:
		return byte(r)
	}
	switch r {
	case '€':
		return 0x80
	case '‚':
		return 0x82
	case 'ƒ':
		return 0x83
	case '„':
		return 0x84
	case '…':
		return 0x85
	case '†':
		return 0x86
	case '‡':
		return 0x87
	case 'ˆ':
		return 0x88
	case '‰':
		return 0x89
	case 'Š':
		return 0x8a
	case '‹':
		return 0x8b
	case 'Œ':
		return 0x8c
	case 'Ž':
		return 0x8e
	case '‘':
		return 0x91
	case '’':
		return 0x92
	case '“':
		return 0x93
	case '”':
		return 0x94
	case '•':
		return 0x95
	case '–':
		return 0x96
	case '—':
		return 0x97
	case '˜':
		return 0x98
	case '™':
		return 0x99
	case 'š':
		return 0x9a
	case '›':
		return 0x9b
	case 'œ':
		return 0x9c
	case 'ž':
		return 0x9e
	case 'Ÿ':
		return 0x9f
	}
	return '?'
}
