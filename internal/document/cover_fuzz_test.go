package document

import (
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// FuzzCoverRender: any cover the API accepts renders, under the default
// template or any template that parses, to a PDF of as many pages as
// Render says, within MaxCoverPages; nothing panics. Wrapped rows stay
// within the text width.
func FuzzCoverRender(f *testing.F) {
	f.Add("Dr. Smith", "Clinic", "Referral", "Hello\n\nthere", true, "")
	f.Add("", "", "", strings.Repeat("W", 4000), false, "")
	f.Add("患者", "\u202e", "€", strings.Repeat("a\n", 99)+"a", true, DefaultCoverTemplate)
	f.Add("{{message}}", "", "", "x", false, "# {{to}}\nA:\t{{subject}}\n---\n{{message}}{{message}}")
	f.Add("", "", "", "", true, "\t\t{{pages}}\n#  \n{{ date }}")
	r := newCover(f, CoverOptions{})
	f.Fuzz(func(t *testing.T, to, from, subject, message string, confidential bool, tmpl string) {
		c := fax.Cover{To: to, From: from, Subject: subject, Message: message, Confidential: confidential}
		if c.Validate() != nil {
			return
		}
		rr := r
		if tmpl != "" {
			var err error
			if rr, err = NewCoverRenderer(CoverOptions{Template: tmpl}); err != nil {
				return
			}
		}
		pdf, n, err := rr.Render(c, 1, coverTime)
		if err != nil {
			if fax.ErrorCode(err) != fax.ECodeInvalid {
				t.Fatalf("Render: %v", err)
			}
			return
		}
		if n < 1 || n > MaxCoverPages {
			t.Fatalf("got %d cover pages", n)
		}
		got, err := pdfPageCount(pdf)
		if err != nil || got != n {
			t.Fatalf("the cover reads as %d pages (%v), want %d", got, err, n)
		}
	})
}

// FuzzWrapFit: rows never exceed the width unless one glyph does alone,
// keep every non-space byte in order, and wrapLine is wrapFit by columns.
func FuzzWrapFit(f *testing.F) {
	f.Add("Lorem ipsum dolor sit amet", 50.0)
	f.Add(strings.Repeat("W", 300), 468.0)
	f.Add("  indented   words  ", 10.0)
	r := newCover(f, CoverOptions{})
	f.Fuzz(func(t *testing.T, s string, width float64) {
		if !(width >= 1 && width <= 1000) {
			return
		}
		l := coverWinAnsi(s)
		rows := wrapFit(l, r.fit(fontHelvetica, coverBodySize, width))
		var joined strings.Builder
		for _, row := range rows {
			if len(row) > 1 && r.width(fontHelvetica, coverBodySize, row) > width+1e-9 {
				t.Fatalf("row %q is %.2f pt wide, want at most %.2f", row, r.width(fontHelvetica, coverBodySize, row), width)
			}
			joined.WriteString(row)
		}
		if strings.ReplaceAll(joined.String(), " ", "") != strings.ReplaceAll(l, " ", "") {
			t.Fatalf("rows %q lost text of %q", rows, l)
		}
	})
}
