package document

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/faxgate/faxgate/internal/fax"
)

// lines returns n numbered lines.
func lines(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestLayoutTextPages(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"empty", "", 1},
		{"only blank lines", "\n\n\n", 1},
		{"one line", "hello", 1},
		{"full page", lines(textRows), 1},
		{"one line over", lines(textRows + 1), 2},
		{"blank lines at a page break", lines(textRows) + strings.Repeat("\n", 100) + "last", 2},
		{"blank lines at the end", lines(textRows) + strings.Repeat("\n", 100), 1},
		{"form feed", "a\fb", 2},
		{"trailing form feed", "a\n\f", 1},
		{"only a form feed", "\f", 1},
		{"blank page between form feeds", "a\f\fb", 3},
		{"form feed on a full page", lines(textRows) + "\fnext", 2},
		{"crlf", strings.ReplaceAll(lines(textRows+1), "\n", "\r\n"), 2},
		{"old mac line ends", strings.ReplaceAll(lines(textRows+1), "\n", "\r"), 2},
		{"wrapped lines", strings.Repeat(strings.Repeat("x", textColumns+1)+"\n", textRows/2+1), 2},
		{"twenty pages", strings.Repeat(lines(textRows)+"\f", 20), 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := textPages(tt.in); got != tt.want {
				t.Fatalf("got %d pages, want %d", got, tt.want)
			}
		})
	}
}

func TestLayoutTextBlankRunAtBreak(t *testing.T) {
	pages := layoutText(lines(textRows-1) + "\n\n\n\nnext")
	if len(pages) != 2 {
		t.Fatalf("got %d pages, want 2", len(pages))
	}
	if diff := cmp.Diff([]string{"next"}, pages[1]); diff != "" {
		t.Fatalf("second page (-want +got):\n%s", diff)
	}
}

func TestWrapLine(t *testing.T) {
	long := strings.Repeat("x", textColumns)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"short", "hello", []string{"hello"}},
		{"trailing spaces", "hello   ", []string{"hello"}},
		{"indent kept", "    hello", []string{"    hello"}},
		{"exactly full", long, []string{long}},
		{"one over, no space", long + "y", []string{long, "y"}},
		{"break at space", strings.Repeat("word ", 20), []string{
			strings.TrimSpace(strings.Repeat("word ", 15)), strings.TrimSpace(strings.Repeat("word ", 5)),
		}},
		{"long word", strings.Repeat("z", 2*textColumns+5), []string{
			strings.Repeat("z", textColumns), strings.Repeat("z", textColumns), "zzzzz",
		}},
		{"indent then long word", "   " + long, []string{"   " + long[:textColumns-3], "xxx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrapLine(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("wrapLine (-want +got):\n%s", diff)
			}
			for _, row := range got {
				if len(row) > textColumns {
					t.Errorf("got a row of %d columns, want at most %d", len(row), textColumns)
				}
			}
		})
	}
}

func TestExpandTabs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\tx", "        x"},
		{"ab\tx", "ab      x"},
		{"abcdefgh\tx", "abcdefgh        x"},
		{"no tabs", "no tabs"},
	}
	for _, tt := range tests {
		if got := expandTabs(tt.in); got != tt.want {
			t.Errorf("expandTabs(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEncodeWinAnsi(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain ASCII ~", "plain ASCII ~"},
		{"café", "caf\xe9"},
		{"€ “quoted” – — … ™", "\x80 \x93quoted\x94 \x96 \x97 \x85 \x99"},
		{"日本", "??"},
		{"emoji 🙂", "emoji ?"},
		{"bell\a", "bell?"},
		{"tab\tkept", "tab\tkept"},
		{"bad \xff utf-8", "bad ? utf-8"},
	}
	for _, tt := range tests {
		if got := encodeWinAnsi(tt.in); got != tt.want {
			t.Errorf("encodeWinAnsi(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPDFString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"hello", "(hello)"},
		{"(a) \\ b", `(\(a\) \\ b)`},
		{"caf\xe9", `(caf\351)`},
		{"\x80", `(\200)`},
	}
	for _, tt := range tests {
		if got := pdfString(tt.in); got != tt.want {
			t.Errorf("pdfString(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPDFNum(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{612, "612"}, {609.88235, "609.882"}, {0.5, "0.5"}, {-0.0001, "0"}, {1e6, "1000000"},
	}
	for _, tt := range tests {
		if got := pdfNum(tt.in); got != tt.want {
			t.Errorf("pdfNum(%v): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestTextToPDF checks generated PDFs three ways: the xref table by hand,
// pdfcpu (through Inspect) and, when installed, poppler.
func TestTextToPDF(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		pages int
	}{
		{"one page", "Hello, fax.\n", 1},
		{"three pages", lines(2*textRows + 1), 3},
		{"twenty pages", strings.Repeat("page\f", 19) + "last", 20},
		{"empty", "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf, err := TextToPDF(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			checkXref(t, pdf)
			info, err := Inspect(pdf)
			if err != nil {
				t.Fatal(err)
			}
			if info.Pages != tt.pages || info.Type != PDF {
				t.Fatalf("Inspect: got %+v, want %d pages of PDF", info, tt.pages)
			}
			if text, err := Inspect([]byte(tt.text)); err == nil && text.Pages != tt.pages {
				t.Fatalf("Inspect(text): got %d pages, want %d", text.Pages, tt.pages)
			}
			p := pdfinfo(t, pdf)
			if p.pages != tt.pages {
				t.Fatalf("pdfinfo: got %d pages, want %d", p.pages, tt.pages)
			}
			for i, size := range p.sizes {
				if size != [2]float64{612, 792} {
					t.Errorf("page %d: got %v pt, want 612×792 (US Letter)", i+1, size)
				}
			}
		})
	}
}

func TestTextToPDFDeterministic(t *testing.T) {
	a, err := TextToPDF("same")
	if err != nil {
		t.Fatal(err)
	}
	b, err := TextToPDF("same")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("got different bytes for the same text, want equal")
	}
}

func TestTextToPDFTooManyPages(t *testing.T) {
	_, err := TextToPDF(strings.Repeat("\f", MaxPages+1) + "x")
	wantCode(t, err, fax.ECodeUnprocessable)
	_, err = Inspect([]byte(strings.Repeat("x\f", MaxPages+1)))
	wantCode(t, err, fax.ECodeUnprocessable)
}

// TestTextToPDFText extracts the text again with poppler's pdftotext: the
// escaping, the encoding and the wrapping must survive the round trip.
func TestTextToPDFText(t *testing.T) {
	in := "Parens (and) back\\slash\n\tTabbed café “quotes” — €5\n日本 stays ?\n" +
		strings.Repeat("wrap ", 20)
	pdf, err := TextToPDF(in)
	if err != nil {
		t.Fatal(err)
	}
	got := pdftotext(t, pdf)
	for _, want := range []string{
		"Parens (and) back\\slash",
		"        Tabbed café “quotes” — €5",
		"?? stays ?",
		strings.TrimSpace(strings.Repeat("wrap ", 15)) + "\n" + strings.TrimSpace(strings.Repeat("wrap ", 5)),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("got text %q, want it to contain %q", got, want)
		}
	}
}

func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	path := requireTool(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "-layout", "-enc", "UTF-8", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestSamplePDF(t *testing.T) {
	for _, pages := range []int{1, 3, 20} {
		t.Run(fmt.Sprint(pages), func(t *testing.T) {
			pdf, err := SamplePDF(pages, []string{"From: +1 555 0100", "Received by the simulator"})
			if err != nil {
				t.Fatal(err)
			}
			checkXref(t, pdf)
			if n, err := PageCount(pdf); err != nil || n != pages {
				t.Fatalf("PageCount: got %d, %v; want %d, nil", n, err, pages)
			}
			if info := pdfinfo(t, pdf); info.pages != pages {
				t.Fatalf("pdfinfo: got %d pages, want %d", info.pages, pages)
			}
			text := pdftotext(t, pdf)
			for _, want := range []string{
				fmt.Sprintf("Simulated fax — page %d of %d", pages, pages),
				"Received by the simulator",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("got text %q, want it to contain %q", text, want)
				}
			}
		})
	}
}

func TestSamplePDFLongLines(t *testing.T) {
	// More lines than a page holds are cut off: the page count is exact.
	pdf, err := SamplePDF(2, strings.Split(lines(3*textRows), "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := PageCount(pdf); err != nil || n != 2 {
		t.Fatalf("got %d pages, %v; want 2, nil", n, err)
	}
}

func TestSamplePDFInvalid(t *testing.T) {
	for _, pages := range []int{0, -1, MaxPages + 1} {
		_, err := SamplePDF(pages, nil)
		wantCode(t, err, fax.ECodeInvalid)
	}
}
