package document

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// requireSoffice skips without LibreOffice, except on CI, where
// scripts/test installs it.
func requireSoffice(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("soffice"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("soffice is not on PATH; CI must install libreoffice-writer-nogui, -calc-nogui and -impress-nogui")
		}
		t.Skip("soffice is not on PATH; install libreoffice-writer-nogui, libreoffice-calc-nogui and libreoffice-impress-nogui")
	}
}

// zipFiles writes an archive of name/content pairs, in order and, for
// OpenDocument's mimetype, stored first and uncompressed.
func zipFiles(t testing.TB, files ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i < len(files); i += 2 {
		h := &zip.FileHeader{Name: files[i], Method: zip.Deflate}
		if files[i] == "mimetype" {
			h.Method = zip.Store
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const odfNS = `xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" office:version="1.2"`

func odf(t testing.TB, mime, body string) []byte {
	return zipFiles(t,
		"mimetype", mime,
		"META-INF/manifest.xml", `<?xml version="1.0" encoding="UTF-8"?><manifest:manifest `+odfNS+`><manifest:file-entry manifest:full-path="/" manifest:media-type="`+mime+`"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>`,
		"content.xml", `<?xml version="1.0" encoding="UTF-8"?><office:document-content `+odfNS+`><office:body>`+body+`</office:body></office:document-content>`)
}

func docx(t testing.TB) []byte {
	const w = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"`
	return zipFiles(t,
		"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
		"word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document `+w+`><w:body><w:p><w:r><w:t>Referral letter page one</w:t></w:r></w:p><w:p><w:r><w:br w:type="page"/><w:t>Referral letter page two</w:t></w:r></w:p></w:body></w:document>`)
}

// sofficeConvert makes a test file of another format with LibreOffice
// itself (DOC, XLSX and PPTX are not worth writing by hand).
func sofficeConvert(t testing.TB, b []byte, from, to string) []byte {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in."+from)
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("soffice", "-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--headless", "--convert-to", to, "--outdir", dir, in)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice --convert-to %s: %v: %s", to, err, out)
	}
	out, err := os.ReadFile(filepath.Join(dir, "in."+to))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pdfText returns the text poppler's pdftotext reads on page n of pdf.
func pdfText(t testing.TB, pdf []byte, n int) string {
	t.Helper()
	path := requireTool(t, "pdftotext")
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "-f", strconv.Itoa(n), "-l", strconv.Itoa(n), f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestConvertOfficeDocuments(t *testing.T) {
	t.Parallel()
	requireSoffice(t)
	odt := odf(t, string(ODT), `<office:text><text:p>Clinic notes</text:p></office:text>`)
	ods := odf(t, string(ODS), `<office:spreadsheet><table:table table:name="Doses"><table:table-row><table:table-cell><text:p>Dose table</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>`)
	odp := odf(t, string(ODP), `<office:presentation><draw:page draw:name="one"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box><text:p>Slide one</text:p></draw:text-box></draw:frame></draw:page><draw:page draw:name="two"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm"><draw:text-box><text:p>Slide two</text:p></draw:text-box></draw:frame></draw:page></office:presentation>`)
	rtf := []byte(`{\rtf1\ansi\deff0{\fonttbl{\f0 Times New Roman;}}\f0 Lab result page one\page Lab result page two\par}`)
	for _, tc := range []struct {
		name  string
		b     []byte
		typ   Type
		pages int
		text  string // on page 1
	}{
		{"docx", docx(t), DOCX, 2, "Referral letter page one"},
		{"odt", odt, ODT, 1, "Clinic notes"},
		{"rtf", rtf, RTF, 2, "Lab result page one"},
		{"doc", sofficeConvert(t, rtf, "rtf", "doc"), DOC, 2, "Lab result page one"},
		{"ods", ods, ODS, 1, "Dose table"},
		{"xlsx", sofficeConvert(t, ods, "ods", "xlsx"), XLSX, 1, "Dose table"},
		{"odp", odp, ODP, 2, "Slide one"},
		{"pptx", sofficeConvert(t, odp, "odp", "pptx"), PPTX, 2, "Slide one"},
		{"html", []byte("<!DOCTYPE html>\n<html><body><h1>Discharge summary</h1><p>Rest.</p></body></html>"), HTML, 1, "Discharge summary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := sniffOffice(tc.b); got != tc.typ {
				t.Fatalf("sniffed %q, want %q", got, tc.typ)
			}
			doc := convertOne(t, tc.b)
			if doc.MIME != "application/pdf" || doc.Pages != tc.pages {
				t.Fatalf("got %s of %d pages, want application/pdf of %d", doc.MIME, doc.Pages, tc.pages)
			}
			if info := pdfinfo(t, doc.Bytes); info.pages != tc.pages {
				t.Fatalf("poppler reads %d pages, want %d", info.pages, tc.pages)
			}
			if got := pdfText(t, doc.Bytes, 1); !strings.Contains(got, tc.text) {
				t.Fatalf("page 1 reads %q, want it to contain %q", got, tc.text)
			}
		})
	}
}

// fakeSoffice puts an executable soffice running script first on PATH.
func fakeSoffice(t *testing.T, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "soffice"), []byte("#!/bin/sh\n"+script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+"/usr/bin:/bin")
}

// Without LibreOffice, an office document is refused with 415 naming the
// Debian package to install for its kind.
func TestConvertOfficeWithoutLibreOffice(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, tc := range []struct {
		name, pkg string
		b         []byte
	}{
		{"docx", "libreoffice-writer-nogui", docx(t)},
		{"rtf", "libreoffice-writer-nogui", []byte(`{\rtf1 hello}`)},
		{"html", "libreoffice-writer-nogui", []byte("<html><body>hi</body></html>")},
		{"ods", "libreoffice-calc-nogui", odf(t, string(ODS), `<office:spreadsheet/>`)},
		{"odp", "libreoffice-impress-nogui", odf(t, string(ODP), `<office:presentation/>`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewConverter(ConverterOptions{}).Convert(context.Background(), [][]byte{tc.b})
			wantCode(t, err, fax.ECodeUnsupportedType)
			if msg := fax.ErrorMessage(err); !strings.Contains(msg, tc.pkg) || !strings.Contains(msg, "LibreOffice") {
				t.Fatalf("got message %q, want it to name LibreOffice and %s", msg, tc.pkg)
			}
		})
	}
}

// A converter that hangs is killed, with what it started, at the timeout
// and the send answered 422.
func TestConvertOfficeHangStopped(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	fakeSoffice(t, "sleep 600 &\necho $! > "+pidFile+"\nwait\n")
	_, err := NewConverter(ConverterOptions{Timeout: time.Second}).Convert(context.Background(), [][]byte{docx(t)})
	wantCode(t, err, fax.ECodeUnprocessable)
	if msg := fax.ErrorMessage(err); !strings.Contains(msg, "took longer than 1s") {
		t.Fatalf("got message %q, want it to say the conversion took too long", msg)
	}
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	// The sleep, a grandchild, must be gone (or a zombie awaiting its reaper).
	status, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/status")
	if err == nil && !strings.Contains(string(status), "State:\tZ") {
		t.Fatalf("the converter's child is still running:\n%s", status)
	}
}

// A converter whose output grows without end is stopped at the size limit
// and the send answered 422.
func TestConvertOfficeExplosionStopped(t *testing.T) {
	fakeSoffice(t, `while [ $# -gt 0 ]; do [ "$1" = --outdir ] && out=$2; shift; done
while :; do head -c 65536 /dev/zero >> "$out/document.pdf"; done
`)
	_, err := NewConverter(ConverterOptions{MaxOutput: 1 << 20}).Convert(context.Background(), [][]byte{docx(t)})
	wantCode(t, err, fax.ECodeUnprocessable)
	if msg := fax.ErrorMessage(err); !strings.Contains(msg, "more than 1048576 bytes") {
		t.Fatalf("got message %q, want it to say the conversion grew too large", msg)
	}
}

// A converter that fails, or writes no PDF, gives 422 with LibreOffice's
// words kept for the log only.
func TestConvertOfficeFailure(t *testing.T) {
	fakeSoffice(t, "echo 'Error: source file could not be loaded' >&2\nexit 1\n")
	_, err := NewConverter(ConverterOptions{}).Convert(context.Background(), [][]byte{docx(t)})
	wantCode(t, err, fax.ECodeUnprocessable)
	if msg := fax.ErrorMessage(err); strings.Contains(msg, "source file") {
		t.Fatalf("got message %q, want LibreOffice's own output kept out of it", msg)
	}
	if !strings.Contains(err.Error(), "source file could not be loaded") {
		t.Fatalf("got error %v, want LibreOffice's output kept for the log", err)
	}
}
