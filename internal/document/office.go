package document

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// The office and web types faxgate converts with LibreOffice.
const (
	DOCX Type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	DOC  Type = "application/msword"
	ODT  Type = "application/vnd.oasis.opendocument.text"
	RTF  Type = "application/rtf"
	XLSX Type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	ODS  Type = "application/vnd.oasis.opendocument.spreadsheet"
	PPTX Type = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
	ODP  Type = "application/vnd.oasis.opendocument.presentation"
	HTML Type = "text/html"
)

// short names t as users know it, for messages.
func (t Type) short() string {
	switch t {
	case PDF:
		return "PDF"
	case TIFF:
		return "TIFF"
	case Text:
		return "text"
	case PNG:
		return "PNG"
	case JPEG:
		return "JPEG"
	case GIF:
		return "GIF"
	case BMP:
		return "BMP"
	case WebP:
		return "WebP"
	}
	if ext := t.officeExt(); ext != "" {
		return ext[1:]
	}
	return string(t)
}

// officeExt is the file extension LibreOffice needs to pick its import
// filter for t (upper case for messages; LibreOffice ignores case), or "".
func (t Type) officeExt() string {
	switch t {
	case DOCX:
		return ".DOCX"
	case DOC:
		return ".DOC"
	case ODT:
		return ".ODT"
	case RTF:
		return ".RTF"
	case XLSX:
		return ".XLSX"
	case ODS:
		return ".ODS"
	case PPTX:
		return ".PPTX"
	case ODP:
		return ".ODP"
	case HTML:
		return ".HTML"
	}
	return ""
}

// officePackage is the Debian package with LibreOffice's part for t.
func (t Type) officePackage() string {
	switch t {
	case XLSX, ODS:
		return "libreoffice-calc-nogui"
	case PPTX, ODP:
		return "libreoffice-impress-nogui"
	}
	return "libreoffice-writer-nogui"
}

// sniffOffice reports which office or web type b is, or "". OOXML and
// OpenDocument files are ZIP archives told apart by their parts; only the
// central directory and the stored mimetype entry are read.
func sniffOffice(b []byte) Type {
	switch {
	case bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		// An OLE2 compound file: Word 97–2003 in practice. LibreOffice
		// also opens the Excel and PowerPoint kinds by content.
		return DOC
	case bytes.HasPrefix(b, []byte("{\\rtf")):
		return RTF
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return sniffZip(b)
	}
	if looksLikeHTML(b) {
		return HTML
	}
	return ""
}

func sniffZip(b []byte) Type {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return ""
	}
	for _, f := range zr.File {
		switch f.Name {
		case "word/document.xml":
			return DOCX
		case "xl/workbook.xml":
			return XLSX
		case "ppt/presentation.xml":
			return PPTX
		case "mimetype":
			rc, err := f.Open()
			if err != nil {
				return ""
			}
			m, _ := io.ReadAll(io.LimitReader(rc, 100))
			rc.Close()
			switch string(bytes.TrimSpace(m)) {
			case string(ODT):
				return ODT
			case string(ODS):
				return ODS
			case string(ODP):
				return ODP
			}
			return ""
		}
	}
	return ""
}

// looksLikeHTML reports whether b is UTF-8 text that starts like HTML.
func looksLikeHTML(b []byte) bool {
	head := b[:min(len(b), 4096)]
	if !looksLikeMarkup(head) {
		return false
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\n\r\f")
	for _, p := range []string{"{\\rtf", "%!", "<?xml"} {
		if hasPrefixFold(t, p) {
			return false
		}
	}
	return true
}

// officeLimits bound one LibreOffice run.
type officeLimits struct {
	timeout   time.Duration
	maxOutput int64 // bytes written in the scratch directory
	tempDir   string
}

// officeToPDF converts b with LibreOffice in headless mode. The document is
// written under a fixed name into a private directory, with a fresh profile
// there too (a shared one serialises runs and keeps state between users),
// and soffice is started with an argument list, never through a shell. A
// run that outlives the timeout or writes more than the limit is killed
// with everything it started.
func officeToPDF(ctx context.Context, t Type, b []byte, lim officeLimits) ([]byte, error) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		return nil, fax.Errorf(fax.ECodeUnsupportedType,
			"%s documents need LibreOffice, which is not installed on this gateway; the operator can install the Debian package %s (or send a PDF)",
			t.short(), t.officePackage())
	}
	dir, err := os.MkdirTemp(lim.tempDir, "faxgate-convert-")
	if err != nil {
		return nil, fmt.Errorf("document: scratch directory: %w", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "document"+t.officeExt())
	out := filepath.Join(dir, "out")
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []string{out, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("document: scratch directory: %w", err)
		}
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		return nil, fmt.Errorf("document: write input: %w", err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, lim.timeout, errConvertTimeout)
	defer cancel()
	args := []string{
		"-env:UserInstallation=file://" + filepath.Join(dir, "profile"),
		"--headless", "--invisible", "--nologo", "--nodefault", "--norestore", "--nolockcheck",
	}
	if t == HTML {
		// Writer proper, not Writer/Web, whose PDF export drops headings
		// onto a blank first page.
		args = append(args, "--infilter=HTML (StarWriter)")
	}
	args = append(args, "--convert-to", "pdf", "--outdir", out, in)
	cmd := exec.CommandContext(ctx, soffice, args...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "TMPDIR=" + tmp, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	killGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 4096}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("document: start soffice: %w", err)
	}
	// What LibreOffice writes (its output and temporary files, not the
	// input or its profile) is measured while it runs, so that a document
	// that expands without end is stopped before the disk fills.
	done := make(chan struct{})
	tooBig := make(chan struct{})
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if dirSize(out, lim.maxOutput)+dirSize(tmp, lim.maxOutput) > lim.maxOutput {
					close(tooBig)
					cancel()
					return
				}
			}
		}
	}()
	werr := cmd.Wait()
	close(done)
	select {
	case <-tooBig:
		return nil, fax.Errorf(fax.ECodeUnprocessable, "converting the %s document produced more than %d bytes and was stopped; send a PDF", t.short(), lim.maxOutput)
	default:
	}
	if errors.Is(context.Cause(ctx), errConvertTimeout) {
		return nil, fax.Errorf(fax.ECodeUnprocessable, "converting the %s document took longer than %s and was stopped; send a PDF", t.short(), lim.timeout)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	pdf, err := readLimited(filepath.Join(out, "document.pdf"), lim.maxOutput)
	if err != nil || werr != nil {
		return nil, userError(fax.ECodeUnprocessable,
			fmt.Sprintf("LibreOffice could not convert the %s document: it is damaged or not what it seems", t.short()),
			fmt.Errorf("document: soffice: %v: %v: %q", werr, err, stderr.String()))
	}
	return pdf, nil
}

var errConvertTimeout = errors.New("document: conversion timed out")

// readLimited reads the file at path, failing past max bytes.
func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("document: %s is larger than %d bytes", filepath.Base(path), max)
	}
	return b, nil
}

// dirSize adds up the sizes of the files under dir, stopping past max.
func dirSize(dir string, max int64) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n += info.Size()
		}
		if n > max {
			return fs.SkipAll
		}
		return nil
	})
	return n
}

// limitedBuffer keeps the first max bytes written to it and drops the rest,
// so that a chatty converter cannot fill memory through its output.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
