package asterisk

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/asterisk/amitest"
)

// needGhostscript returns gs's path. Without it the test is skipped, except
// in CI (CI=true), where a missing Ghostscript is a broken machine.
func needGhostscript(t *testing.T) string {
	t.Helper()
	gs, err := exec.LookPath("gs")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Ghostscript (gs) is required in CI: %v", err)
		}
		t.Skipf("Ghostscript (gs) is not installed (apt-get install ghostscript): %v", err)
	}
	return gs
}

func converter(t *testing.T, gs string) (*Provider, string) {
	t.Helper()
	spool := t.TempDir()
	return mustNew(t, Config{SpoolDir: spool, GhostscriptPath: gs}), spool
}

func TestToTIFFGhostscript(t *testing.T) {
	gs := needGhostscript(t)
	p, spool := converter(t, gs)
	path, pages, err := p.ToTIFF(context.Background(), samplePDF(2), spool)
	if err != nil {
		t.Fatalf("ToTIFF: %v", err)
	}
	if pages != 2 {
		t.Errorf("got %d pages, want 2", pages)
	}
	if filepath.Dir(path) != spool {
		t.Errorf("got %s, want a file directly in the spool", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != spoolFileMode {
		t.Errorf("got mode %v, want %v", fi.Mode().Perm(), os.FileMode(spoolFileMode))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := document.InspectTIFF(b)
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	for i, page := range pg {
		if page.Compression != compressionG4 || page.BitsPerSample != 1 || page.Width != 1728 || page.XDPI != 204 || page.YDPI != 196 {
			t.Errorf("page %d: got %+v, want a 1728-wide 1-bit G4 page at 204×196 dpi", i+1, page)
		}
	}
	if !faxReady(pg) {
		t.Errorf("Ghostscript's output is not fax-ready by faxgate's own test")
	}
	// Nothing but the TIFF is left behind.
	entries, _ := os.ReadDir(spool)
	if len(entries) != 1 {
		t.Errorf("got %d entries in the spool, want the TIFF alone", len(entries))
	}

	// libtiff agrees, when its tools are here.
	if tiffinfo, err := exec.LookPath("tiffinfo"); err == nil {
		out, err := exec.Command(tiffinfo, path).CombinedOutput()
		if err != nil {
			t.Fatalf("tiffinfo: %v\n%s", err, out)
		}
		s := string(out)
		if n := strings.Count(s, "TIFF Directory at offset"); n != 2 {
			t.Errorf("tiffinfo: got %d directories, want 2", n)
		}
		for _, want := range []string{"Resolution: 204, 196 pixels/inch", "CCITT Group 4", "Image Width: 1728"} {
			if !strings.Contains(s, want) {
				t.Errorf("tiffinfo output lacks %q:\n%s", want, s)
			}
		}
	}
}

func TestToTIFFPaperSize(t *testing.T) {
	gs := needGhostscript(t)
	spool := t.TempDir()
	p := mustNew(t, Config{SpoolDir: spool, GhostscriptPath: gs, PaperSize: "a4"})
	path, _, err := p.ToTIFF(context.Background(), samplePDF(1), spool)
	if err != nil {
		t.Fatalf("ToTIFF: %v", err)
	}
	b, _ := os.ReadFile(path)
	pg, err := document.InspectTIFF(b)
	if err != nil {
		t.Fatal(err)
	}
	// A4 is 11.69 in tall: 2292 lines at 196 lpi (letter would be 2156).
	if pg[0].Height < 2280 || pg[0].Height > 2300 {
		t.Errorf("got height %d, want A4's about 2292", pg[0].Height)
	}
}

func TestToTIFFRefused(t *testing.T) {
	gs := needGhostscript(t)
	p, spool := converter(t, gs)
	tests := []struct {
		name string
		doc  []byte
	}{
		{"not a document", []byte("hello, world")},
		{"broken pdf", []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")},
		{"colour tiff", faxTIFF(1, 1728, 64, 5)},
		{"wide tiff", faxTIFF(1, 2550, 64, compressionG4)},
		{"truncated tiff", faxTIFF(1, 1728, 64, compressionG4)[:20]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := p.ToTIFF(context.Background(), tt.doc, spool)
			if fax.ErrorCode(err) != fax.ECodeUnprocessable {
				t.Fatalf("got %v, want an unprocessable document error", err)
			}
			entries, _ := os.ReadDir(spool)
			if len(entries) != 0 {
				t.Errorf("got %d entries left in the spool, want none", len(entries))
			}
		})
	}
}

func TestToTIFFPassThrough(t *testing.T) {
	// No Ghostscript needed: a fax TIFF is copied as it is.
	spool := t.TempDir()
	p := mustNew(t, Config{SpoolDir: spool, GhostscriptPath: filepath.Join(spool, "no-gs")})
	doc := faxTIFF(3, 1728, 64, compressionG4)
	path, pages, err := p.ToTIFF(context.Background(), doc, spool)
	if err != nil {
		t.Fatalf("ToTIFF: %v", err)
	}
	got, _ := os.ReadFile(path)
	if pages != 3 || !bytes.Equal(got, doc) {
		t.Errorf("got %d pages and %d bytes, want the 3-page TIFF copied", pages, len(got))
	}
	// G3 too.
	if _, pages, err := p.ToTIFF(context.Background(), faxTIFF(1, 1728, 64, compressionG3), spool); err != nil || pages != 1 {
		t.Errorf("G3 TIFF: got %d pages, %v; want 1 page", pages, err)
	}
}

// TestFaxTIFFDecodes checks the test's own TIFF builder with libtiff, which
// decodes the G4 data: the other tests rely on it being a real fax image.
func TestFaxTIFFDecodes(t *testing.T) {
	tiffinfo, err := exec.LookPath("tiffinfo")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tiffinfo (libtiff-tools) is required in CI: %v", err)
		}
		t.Skip("tiffinfo (libtiff-tools) is not installed")
	}
	path := filepath.Join(t.TempDir(), "f.tif")
	if err := os.WriteFile(path, faxTIFF(2, 1728, 64, compressionG4), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tiffinfo, "-D", path).CombinedOutput()
	if err != nil || strings.Contains(strings.ToLower(string(out)), "error") || strings.Contains(string(out), "Warning") {
		t.Fatalf("tiffinfo -D: %v\n%s", err, out)
	}
}

func TestToTIFFTimeout(t *testing.T) {
	// A "Ghostscript" that never finishes.
	dir := t.TempDir()
	slow := filepath.Join(dir, "slow-gs")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir()
	p := mustNew(t, Config{SpoolDir: spool, GhostscriptPath: slow, ConvertTimeout: 200 * time.Millisecond})
	start := time.Now()
	_, _, err := p.ToTIFF(context.Background(), samplePDF(1), spool)
	if fax.ErrorCode(err) != fax.ECodeUnprocessable || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("got %v, want a document error saying it took too long", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ToTIFF took %v after its 200ms timeout", d)
	}
	// The caller's own cancellation is not the document's fault.
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, _, err = p.ToTIFF(ctx, samplePDF(1), spool)
	if err == nil || fax.ErrorCode(err) == fax.ECodeUnprocessable {
		t.Fatalf("got %v, want a cancellation, not a document error", err)
	}
}

func TestToTIFFMissingGhostscript(t *testing.T) {
	spool := t.TempDir()
	p := mustNew(t, Config{SpoolDir: spool, GhostscriptPath: filepath.Join(spool, "no-gs")})
	_, _, err := p.ToTIFF(context.Background(), samplePDF(1), spool)
	if err == nil || fax.ErrorCode(err) == fax.ECodeUnprocessable || !strings.Contains(err.Error(), "Ghostscript") {
		t.Fatalf("got %v, want an error saying Ghostscript cannot run (not the document's fault)", err)
	}
}

// TestSendPDF is the whole path with a real Ghostscript: a PDF is rendered
// into <fax id>.tif in the spool, which the Originate names.
func TestSendPDF(t *testing.T) {
	gs := needGhostscript(t)
	fake := amitest.NewServer(t, nil)
	rec := newRecorder()
	cfg := senderConfig(t, fake, rec)
	cfg.GhostscriptPath = gs
	p := newSender(t, cfg)
	mustSend(t, p, outboundJob(jobA, "+15559870000"), samplePDF(2))
	want := filepath.Join(cfg.SpoolDir, jobA+".tif")
	if got := fake.Received("Originate")[0].Variable("FAXFILE"); got != want {
		t.Errorf("got FAXFILE %q, want %q", got, want)
	}
	if n, err := tiffPages(want); err != nil || n != 2 {
		t.Errorf("spooled TIFF: got %d pages, %v; want 2", n, err)
	}
	// A PDF Ghostscript cannot render fails the fax for good.
	_, err := p.Send(context.Background(), outboundJob(jobB, "+15559870000"), []byte("%PDF-1.4\ngarbage\n"))
	se := fax.AsSendError(err)
	if err == nil || se.Outcome != fax.SendPermanent || se.Failure == nil || se.Failure.Code != fax.FailDocument {
		t.Fatalf("got %v, want a permanent document_error", err)
	}
	if n := len(fake.Received("Originate")); n != 1 {
		t.Errorf("got %d Originates, want only the first fax's", n)
	}
}

func TestGhostscriptArgs(t *testing.T) {
	got := strings.Join(ghostscriptArgs("letter", "/spool/50%/out.tif", "/spool/in.pdf"), " ")
	want := "-q -dSAFER -dBATCH -dNOPAUSE -dNOINTERPOLATE -sDEVICE=tiffg4 -r204x196 -sPAPERSIZE=letter -dFIXEDMEDIA -dPDFFitPage -sOutputFile=/spool/50%%/out.tif -f /spool/in.pdf"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
