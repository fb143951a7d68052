package document

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	"github.com/faxgate/faxgate/internal/fax"
)

// mustTextPDF returns a PDF of pages pages made by TextToPDF.
func mustTextPDF(t testing.TB, pages int) []byte {
	t.Helper()
	pdf, err := TextToPDF(strings.Repeat("page\f", pages-1) + "last page")
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

// pdfcpuOptimized returns pdf rewritten by pdfcpu, with object streams and
// an xref stream (PDF 1.5 structure our own writer never produces).
func pdfcpuOptimized(t testing.TB, pdf []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := api.Optimize(bytes.NewReader(pdf), &out, pdfConfig()); err != nil {
		t.Fatalf("pdfcpu optimize: %v", err)
	}
	return out.Bytes()
}

// pdfcpuMerged returns the PDFs merged into one by pdfcpu.
func pdfcpuMerged(t testing.TB, pdfs ...[]byte) []byte {
	t.Helper()
	var rs []io.ReadSeeker
	for _, p := range pdfs {
		rs = append(rs, bytes.NewReader(p))
	}
	var out bytes.Buffer
	if err := api.MergeRaw(rs, &out, false, pdfConfig()); err != nil {
		t.Fatalf("pdfcpu merge: %v", err)
	}
	return out.Bytes()
}

// pdfcpuImage returns a one-page PDF pdfcpu makes from a PNG.
func pdfcpuImage(t testing.TB) []byte {
	t.Helper()
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 40, 20))); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := api.ImportImages(nil, &out, []io.Reader{&img}, pdfcpu.DefaultImportConfig(), pdfConfig()); err != nil {
		t.Fatalf("pdfcpu import image: %v", err)
	}
	return out.Bytes()
}

// pdfcpuEncrypted returns pdf encrypted by pdfcpu with the given passwords.
func pdfcpuEncrypted(t testing.TB, pdf []byte, userPW, ownerPW string, aes bool, keyLength int) []byte {
	t.Helper()
	conf := pdfConfig()
	conf.UserPW, conf.OwnerPW = userPW, ownerPW
	conf.EncryptUsingAES, conf.EncryptKeyLength = aes, keyLength
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(pdf), &out, conf); err != nil {
		t.Fatalf("pdfcpu encrypt: %v", err)
	}
	return out.Bytes()
}

func TestInspectPDF(t *testing.T) {
	three := mustTextPDF(t, 3)
	tests := []struct {
		name  string
		pdf   []byte
		pages int
	}{
		{"own writer, 1 page", mustTextPDF(t, 1), 1},
		{"own writer, 3 pages", three, 3},
		{"own writer, 20 pages", mustTextPDF(t, 20), 20},
		{"pdfcpu optimized", pdfcpuOptimized(t, three), 3},
		{"pdfcpu merged", pdfcpuMerged(t, three, mustTextPDF(t, 2)), 5},
		{"pdfcpu image", pdfcpuImage(t), 1},
		{"leading junk", append([]byte("junk\r\n"), three...), 3},
		// Readers rebuild a lost xref table by scanning for objects; so does pdfcpu.
		{"no xref table", three[:bytes.LastIndex(three, []byte("xref"))], 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Inspect(tt.pdf)
			if err != nil {
				t.Fatal(err)
			}
			want := Info{Type: PDF, Pages: tt.pages, MIME: "application/pdf"}
			if info != want {
				t.Fatalf("got %+v, want %+v", info, want)
			}
		})
	}
}

func TestInspectEncryptedPDF(t *testing.T) {
	plain := mustTextPDF(t, 2)
	tests := []struct {
		name    string
		userPW  string
		ownerPW string
		aes     bool
		key     int
	}{
		{"aes-256 user password", "secret", "owner", true, 256},
		{"aes-128 user password", "secret", "owner", true, 128},
		{"rc4-128 user password", "secret", "owner", false, 128},
		// Anyone can open these, but faxgate refuses every encrypted PDF:
		// what a carrier's converter does with them is anyone's guess.
		{"aes-256 owner password only", "", "owner", true, 256},
		{"rc4-40 owner password only", "", "owner", false, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := pdfcpuEncrypted(t, plain, tt.userPW, tt.ownerPW, tt.aes, tt.key)
			_, err := Inspect(pdf)
			wantCode(t, err, fax.ECodeUnprocessable)
			if got, want := fax.ErrorMessage(err), "encrypted PDFs cannot be faxed; remove the password first"; got != want {
				t.Fatalf("got message %q, want %q", got, want)
			}
		})
	}
}

func TestInspectCorruptPDF(t *testing.T) {
	good := mustTextPDF(t, 3)
	optimized := pdfcpuOptimized(t, good)
	garbled := bytes.Clone(good)
	for i := 200; i < len(garbled)-200; i += 7 {
		garbled[i] ^= 0x55
	}
	tests := []struct {
		name string
		pdf  []byte
	}{
		{"header only", []byte("%PDF-1.4\n")},
		{"header and garbage", []byte("%PDF-1.4\n\x00\x01\x02 not a pdf at all")},
		{"first half", good[:len(good)/2]},
		{"optimized, first half", optimized[:len(optimized)/2]},
		{"garbled", garbled},
		{"no pages", []byte(noPagesPDF)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Inspect(tt.pdf)
			wantCode(t, err, fax.ECodeUnprocessable)
			if msg := fax.ErrorMessage(err); !strings.HasPrefix(msg, "the PDF could not be read: ") {
				t.Fatalf("got message %q, want it to start %q", msg, "the PDF could not be read: ")
			}
		})
	}
}

// noPagesPDF is a well-formed PDF whose page tree is empty.
const noPagesPDF = "%PDF-1.4\n" +
	"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" +
	"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n" +
	"xref\n0 3\n0000000000 65535 f\r\n0000000009 00000 n\r\n0000000058 00000 n\r\n" +
	"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n109\n%%EOF\n"

// TestInspectWritesNoConfig checks that reading PDFs leaves the user's
// config directory alone: pdfcpu's default configuration would create
// pdfcpu/config.yml, fonts and certificates there.
func TestInspectWritesNoConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("AppData", home)
	pdf := mustTextPDF(t, 2)
	for _, b := range [][]byte{pdf, pdf[:100], pdfcpuOptimized(t, pdf), pdfcpuEncrypted(t, pdf, "u", "o", true, 256)} {
		Inspect(b)
	}
	entries, err := os.ReadDir(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("got %v in the config directory, want nothing", entries)
	}
}

// TestInspectConcurrent reads PDFs from many goroutines at once, as the API
// does; run with -race it also guards against shared state inside pdfcpu.
func TestInspectConcurrent(t *testing.T) {
	pdfs := [][]byte{mustTextPDF(t, 1), mustTextPDF(t, 4), pdfcpuOptimized(t, mustTextPDF(t, 2))}
	want := []int{1, 4, 2}
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := PageCount(pdfs[i%3])
			if err == nil && n != want[i%3] {
				err = fax.Errorf(fax.ECodeInternal, "got %d pages, want %d", n, want[i%3])
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestPDFConfigIsFresh(t *testing.T) {
	// Each call gets its own configuration: pdfcpu writes to it (the
	// command, passwords), so a shared one would be a data race.
	a, b := pdfConfig(), pdfConfig()
	if a == b {
		t.Fatal("got the same *model.Configuration twice, want a new one each call")
	}
	if a.ValidationMode != model.ValidationRelaxed {
		t.Fatalf("got validation mode %d, want relaxed", a.ValidationMode)
	}
}

func TestInspect(t *testing.T) {
	tiff := mustRead(t, "fax-g4-fine-2p.tif")
	tests := []struct {
		name string
		in   []byte
		want Info
		code string
	}{
		{"pdf", mustTextPDF(t, 2), Info{PDF, 2, "application/pdf"}, ""},
		{"tiff", tiff, Info{TIFF, 2, "image/tiff"}, ""},
		{"text", []byte(lines(textRows + 1)), Info{Text, 2, "text/plain; charset=utf-8"}, ""},
		{"empty", nil, Info{}, fax.ECodeInvalid},
		{"png", []byte("\x89PNG\r\n\x1a\n"), Info{}, fax.ECodeUnsupportedType},
		{"truncated tiff", tiff[:100], Info{}, fax.ECodeUnprocessable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Inspect(tt.in)
			if tt.code != "" {
				wantCode(t, err, tt.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestToPDF(t *testing.T) {
	pdf := mustTextPDF(t, 2)
	tests := []struct {
		name  string
		in    []byte
		typ   Type
		pages int
		same  bool // the PDF is the input, unchanged
	}{
		{"pdf", pdf, PDF, 2, true},
		{"text", []byte("hello\fworld"), Text, 2, false},
		{"tiff", mustRead(t, "fax-g3-2d-fill-lsb-2p.tif"), TIFF, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, info, err := ToPDF(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if info.Type != tt.typ || info.Pages != tt.pages {
				t.Fatalf("got %s with %d pages, want %s with %d", info.Type, info.Pages, tt.typ, tt.pages)
			}
			if same := bytes.Equal(out, tt.in); same != tt.same {
				t.Fatalf("got output equal to input %t, want %t", same, tt.same)
			}
			if n, err := PageCount(out); err != nil || n != tt.pages {
				t.Fatalf("PageCount(output): got %d, %v; want %d, nil", n, err, tt.pages)
			}
		})
	}
	_, _, err := ToPDF([]byte("GIF89a\x01\x00"))
	wantCode(t, err, fax.ECodeUnsupportedType)
}

// rawPDF writes objs as objects 1, 2, … of a PDF with a correct xref table,
// for tests that need PDFs no sane writer makes.
func rawPDF(objs ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", len(objs)+1)
	for _, off := range offs {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// TestInspectFilterCycle covers PDFs that send pdfcpu v0.15.0 into endless
// recursion and so a fatal stack overflow (found by FuzzInspect): a stream
// whose /Filter or /DecodeParms refers back to itself.
func TestInspectFilterCycle(t *testing.T) {
	const catalog = "<< /Type /Catalog /Pages 2 0 R >>"
	const pages = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
	const page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>"
	tests := []struct {
		name   string
		stream string
	}{
		{"filter refers to its stream", "<< /Length 10 /Filter 4 0 R >>"},
		{"decode parms refer to their stream", "<< /Length 10 /Filter /FlateDecode /DecodeParms 4 0 R >>"},
		{"decode parms array refers to its stream", "<< /Length 10 /Filter [/FlateDecode] /DecodeParms [4 0 R] >>"},
		{"filter cycle through another stream", "<< /Length 10 /Filter 5 0 R >>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := rawPDF(catalog, pages, page, tt.stream+"\nstream\n0123456789\nendstream",
				"<< /Length 1 /Filter 4 0 R >>\nstream\nx\nendstream")
			_, err := Inspect(pdf)
			wantCode(t, err, fax.ECodeUnprocessable)
		})
	}
	// The same document with direct filters is fine.
	ok := rawPDF(catalog, pages, page, "<< /Length 10 >>\nstream\n0123456789\nendstream")
	if n, err := PageCount(ok); err != nil || n != 1 {
		t.Fatalf("got %d pages, %v; want 1, nil", n, err)
	}
}

func TestHasIndirectRef(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{" 4 0 R", true},
		{"\n12\r\n0 R>>", true},
		{" [4 0 R]", true},
		{"[null 12 0 R]", true},
		{" /FlateDecode", false},
		{" [/FlateDecode /DCTDecode]", false},
		{" << /Predictor 12 /Columns 4 >>", false},
		{" 4 0 Rx", false},
		{" 40R", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := hasIndirectRef([]byte(tt.in)); got != tt.want {
			t.Errorf("hasIndirectRef(%q): got %t, want %t", tt.in, got, tt.want)
		}
	}
}

func TestInspectPDFTooManyPages(t *testing.T) {
	d := newPDFDoc()
	for range MaxPages + 1 {
		if err := d.addPage(612, 792, nil, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	pdf, err := d.bytes()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Inspect(pdf)
	wantCode(t, err, fax.ECodeUnprocessable)
	if got, want := fax.ErrorMessage(err), "the document has 1001 pages; faxgate sends at most 1000"; got != want {
		t.Fatalf("got message %q, want %q", got, want)
	}
}
