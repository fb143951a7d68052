package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// multipartFiles is a send with fields and several file parts, in order.
func multipartFiles(fields map[string]string, files ...[]byte) *multipartBody {
	var mb multipartBody
	w := multipart.NewWriter(&mb.buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for i, f := range files {
		fw, _ := w.CreateFormFile("file", "doc"+strconv.Itoa(i))
		fw.Write(f)
	}
	w.Close()
	mb.ct = w.FormDataContentType()
	return &mb
}

func docPNG(t *testing.T) []byte {
	m := image.NewGray(image.Rect(0, 0, 300, 400))
	for i := range m.Pix {
		m.Pix[i] = byte(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func docGIF(t *testing.T, frames int) []byte {
	pal := color.Palette{color.White, color.Black}
	g := &gif.GIF{}
	for i := range frames {
		p := image.NewPaletted(image.Rect(0, 0, 200, 100), pal)
		p.Pix[i] = 1
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// poppler runs one of poppler's tools on pdf, skipping without it (CI
// installs poppler-utils and fails instead).
func poppler(t *testing.T, tool string, pdf []byte, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not on PATH; CI must install poppler-utils", tool)
		}
		t.Skipf("%s is not on PATH; install poppler-utils", tool)
	}
	f := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(f, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	args = append(args, f)
	if tool == "pdftotext" {
		args = append(args, "-")
	}
	out, err := exec.Command(path, args...).Output()
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return string(out)
}

// TestSendSeveralDocuments: text, an image and a two-frame GIF in one
// send become one fax whose pages are the files' pages in order, counted
// in the answer and read back with poppler from the stored document.
func TestSendSeveralDocuments(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	files := [][]byte{[]byte("FIRST FILE\n"), docPNG(t), docGIF(t, 2), []byte("LAST FILE\n")}
	var f faxObj
	if code := g.do("POST", "/v1/faxes", multipartFiles(map[string]string{"to": "+15551234567"}, files...), &f); code != http.StatusAccepted {
		t.Fatalf("send: got %d, want 202", code)
	}
	if f.Pages != 5 {
		t.Fatalf("got pages %d, want 5", f.Pages)
	}
	if f = g.waitFax(f.ID); f.Status != "sent" || f.Pages != 5 {
		t.Fatalf("got %s with %d pages, want sent with 5", f.Status, f.Pages)
	}
	var pdf []byte
	if code := g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, &pdf); code != http.StatusOK {
		t.Fatalf("document: got %d, want 200", code)
	}
	if info := poppler(t, "pdfinfo", pdf); !strings.Contains(info, "\nPages:           5\n") {
		t.Fatalf("pdfinfo reads:\n%s\nwant 5 pages", info)
	}
	for page, want := range map[int]string{1: "FIRST FILE", 5: "LAST FILE"} {
		p := strconv.Itoa(page)
		if got := poppler(t, "pdftotext", pdf, "-f", p, "-l", p); !strings.Contains(got, want) {
			t.Fatalf("page %d reads %q, want %q", page, got, want)
		}
	}
}

// fakeSoffice puts an executable soffice script first on PATH.
func fakeSoffice(t *testing.T, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "soffice"), []byte("#!/bin/sh\n"+script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+"/usr/bin:/bin")
}

const rtfDoc = `{\rtf1\ansi Referral letter\par}`

// wantNoFaxes fails the test unless the gateway holds no fax.
func wantNoFaxes(t *testing.T, g *gateway) {
	t.Helper()
	var list struct{ Data []faxObj }
	g.do("GET", "/v1/faxes", nil, &list)
	if len(list.Data) != 0 {
		t.Fatalf("got %d faxes, want none", len(list.Data))
	}
}

// TestSendOfficeWithoutLibreOffice: a gateway without LibreOffice answers
// an office document with 415 naming the package to install, and creates
// nothing.
func TestSendOfficeWithoutLibreOffice(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	g := startGateway(t)
	var e errorBody
	if code := g.do("POST", "/v1/faxes", multipartFiles(map[string]string{"to": "+15551234567"}, []byte(rtfDoc)), &e); code != http.StatusUnsupportedMediaType {
		t.Fatalf("got %d %+v, want 415", code, e)
	}
	if e.Error.Code != "unsupported_type" || !strings.Contains(e.Error.Message, "libreoffice-writer-nogui") || e.Error.RequestID == "" {
		t.Fatalf("got error %+v, want unsupported_type naming libreoffice-writer-nogui, with a request id", e.Error)
	}
	wantNoFaxes(t, g)
}

// TestSendHangingConverter: a conversion that outlives
// FAXGATE_CONVERT_TIMEOUT is stopped and answered 422; nothing is created.
func TestSendHangingConverter(t *testing.T) {
	fakeSoffice(t, "exec sleep 600\n")
	g := startGateway(t, withEnv("FAXGATE_CONVERT_TIMEOUT", "1s"))
	var e errorBody
	if code := g.do("POST", "/v1/faxes", multipartFiles(map[string]string{"to": "+15551234567"}, []byte(rtfDoc)), &e); code != http.StatusUnprocessableEntity {
		t.Fatalf("got %d %+v, want 422", code, e)
	}
	if e.Error.Code != "unprocessable" || !strings.Contains(e.Error.Message, "took longer than 1s") {
		t.Fatalf("got error %+v, want unprocessable saying the conversion took too long", e.Error)
	}
	wantNoFaxes(t, g)
}

// bombPNG is a 20000×20000 one-bit grey PNG of about 50 kB: decoded it
// would take 400 MB.
func bombPNG(t *testing.T) []byte {
	const side = 20000
	chunk := func(b *bytes.Buffer, typ string, data []byte) {
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(data))))
		start := b.Len()
		b.WriteString(typ)
		b.Write(data)
		b.Write(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(b.Bytes()[start:])))
	}
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	row := make([]byte, 1+side/8)
	for range side {
		zw.Write(row)
	}
	zw.Close()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, side)
	ihdr = binary.BigEndian.AppendUint32(ihdr, side)
	chunk(&b, "IHDR", append(ihdr, 1, 0, 0, 0, 0))
	chunk(&b, "IDAT", idat.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

// TestSendImageBomb: a small PNG that decodes to 400 MB is refused with
// 422 from its header, and the gateway's resident memory barely moves.
func TestSendImageBomb(t *testing.T) {
	bomb := bombPNG(t)
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes, want under 1 MiB", len(bomb))
	}
	g := startGateway(t)
	peak := residentPeak(t)
	var e errorBody
	code := g.do("POST", "/v1/faxes", multipartFiles(map[string]string{"to": "+15551234567"}, bomb), &e)
	grew := peak()
	t.Logf("resident memory peak rose by %.1f MiB", float64(grew)/(1<<20))
	if code != http.StatusUnprocessableEntity || e.Error.Code != "unprocessable" || !strings.Contains(e.Error.Message, "too many pixels") {
		t.Fatalf("got %d %+v, want 422 unprocessable about too many pixels", code, e.Error)
	}
	if grew > 100<<20 {
		t.Errorf("resident memory grew by %d MiB for a %d kB image, want under 100 MiB", grew>>20, len(bomb)>>10)
	}
	wantNoFaxes(t, g)
}

// TestSendSeveralDocumentsIdempotent: a retried send of several files
// with the same Idempotency-Key returns the first fax, although joining
// them again gives a PDF with other bytes (pdfcpu and LibreOffice stamp
// the time into what they write).
func TestSendSeveralDocumentsIdempotent(t *testing.T) {
	t.Parallel()
	g := startGateway(t)
	body := multipartFiles(map[string]string{"to": "+15551234567"}, []byte("FIRST FILE\n"), []byte("LAST FILE\n"))
	send := func() (int, faxObj, string) {
		req, _ := http.NewRequest("POST", g.url+"/v1/faxes", bytes.NewReader(body.buf.Bytes()))
		req.Header.Set("Content-Type", body.ct)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Idempotency-Key", "several-files-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var f faxObj
		jsonDecode(resp.Body, &f)
		return resp.StatusCode, f, resp.Header.Get("Idempotent-Replayed")
	}
	code, first, _ := send()
	if code != http.StatusAccepted {
		t.Fatalf("first send: got %d, want 202", code)
	}
	// The PDF's timestamps have a resolution of a second.
	time.Sleep(1100 * time.Millisecond)
	code, again, replayed := send()
	if code != http.StatusAccepted || again.ID != first.ID || replayed != "true" {
		t.Fatalf("repeated send: got %d, fax %s, replayed %q; want 202, fax %s, replayed true", code, again.ID, replayed, first.ID)
	}
}

// TestSendOfficeDocument: with LibreOffice installed (scripts/test installs
// it) an RTF letter of two pages is sent as a two-page PDF.
func TestSendOfficeDocument(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("soffice"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("soffice is not on PATH; CI must install libreoffice-writer-nogui")
		}
		t.Skip("soffice is not on PATH; install libreoffice-writer-nogui")
	}
	g := startGateway(t)
	rtf := []byte(`{\rtf1\ansi Referral page one\page Referral page two\par}`)
	var f faxObj
	if code := g.do("POST", "/v1/faxes", multipartFiles(map[string]string{"to": "+15551234567"}, rtf), &f); code != http.StatusAccepted || f.Pages != 2 {
		t.Fatalf("send: got %d with %d pages, want 202 with 2", code, f.Pages)
	}
	if f = g.waitFax(f.ID); f.Status != "sent" {
		t.Fatalf("got %s, want sent", f.Status)
	}
	var pdf []byte
	g.do("GET", "/v1/faxes/"+f.ID+"/document", nil, &pdf)
	if got := poppler(t, "pdftotext", pdf, "-f", "2", "-l", "2"); !strings.Contains(got, "Referral page two") {
		t.Fatalf("page 2 reads %q, want %q", got, "Referral page two")
	}
}
