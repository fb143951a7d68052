package asterisk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// spoolFileMode lets Asterisk, running as another user in the spool's
// group, read the TIFF while others cannot.
const spoolFileMode = 0o640

// ToTIFF turns a document into a fax TIFF (TIFF/F: CCITT G4, 204×196 dpi,
// fitted to PaperSize) in dir and returns its path, under a temporary
// name the caller renames, and its page count, read back from the file.
//
// A PDF is rendered by Ghostscript, run as
//
//	gs -q -dSAFER -dBATCH -dNOPAUSE -dNOINTERPOLATE -sDEVICE=tiffg4 -r204x196
//	   -sPAPERSIZE=letter -dFIXEDMEDIA -dPDFFitPage -sOutputFile=<tmp> -f <in>
//
// on a private copy of the input inside dir, within ConvertTimeout and ctx.
// A TIFF that already is a fax image (G3/G4, 1-bit, fax line width and
// resolution) is copied as it is; Ghostscript reads no TIFF, so any other
// TIFF is refused, as is anything that is not a PDF.
//
// A document Ghostscript cannot render, or one that takes longer than
// ConvertTimeout, is a *fax.Error with code unprocessable (the fax fails);
// ctx ending, a missing gs and I/O errors are other errors (try again).
func (p *Provider) ToTIFF(ctx context.Context, doc []byte, dir string) (path string, pages int, err error) {
	work, err := os.MkdirTemp(dir, ".faxgate-conv-")
	if err != nil {
		return "", 0, fmt.Errorf("asterisk: convert: %w", err)
	}
	defer os.RemoveAll(work)
	out := filepath.Join(work, "out.tif")

	switch {
	case isTIFF(doc):
		pg, err := document.InspectTIFF(doc)
		if err != nil {
			return "", 0, fax.Errorf(fax.ECodeUnprocessable, "the TIFF document cannot be read: %s", fax.ErrorMessage(err))
		}
		if !faxReady(pg) {
			return "", 0, fax.Errorf(fax.ECodeUnprocessable, "the TIFF is not a fax image (CCITT G3/G4, 1-bit, 1728 dots wide, about 204 dpi); send it as a PDF")
		}
		if err := os.WriteFile(out, doc, 0o600); err != nil {
			return "", 0, fmt.Errorf("asterisk: convert: %w", err)
		}
	case isPDF(doc):
		if err := p.ghostscript(ctx, doc, work, out); err != nil {
			return "", 0, err
		}
	default:
		return "", 0, fax.Errorf(fax.ECodeUnprocessable, "the document is neither a PDF nor a TIFF")
	}

	n, err := tiffPages(out)
	if err != nil {
		return "", 0, fax.Errorf(fax.ECodeUnprocessable, "the converted fax cannot be read back: %v", err)
	}
	if err := os.Chmod(out, spoolFileMode); err != nil {
		return "", 0, fmt.Errorf("asterisk: convert: %w", err)
	}
	final, err := os.CreateTemp(dir, ".faxgate-*.tif")
	if err != nil {
		return "", 0, fmt.Errorf("asterisk: convert: %w", err)
	}
	final.Close()
	if err := os.Rename(out, final.Name()); err != nil {
		os.Remove(final.Name())
		return "", 0, fmt.Errorf("asterisk: convert: %w", err)
	}
	return final.Name(), n, nil
}

// ghostscript renders the PDF doc into out, a G4 TIFF.
func (p *Provider) ghostscript(ctx context.Context, doc []byte, work, out string) error {
	in := filepath.Join(work, "in.pdf")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		return fmt.Errorf("asterisk: convert: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, p.out.convertTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, p.out.gs, ghostscriptArgs(p.out.paper, out, in)...)
	cmd.Dir = work
	// Ghostscript's own temporary files stay in the private directory.
	cmd.Env = append(os.Environ(), "TMPDIR="+work)
	var output limitedBuffer
	cmd.Stdout, cmd.Stderr = &output, &output
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	switch {
	case err == nil:
		// Ghostscript exits 0 on some PDFs it cannot read, rendering
		// nothing.
		if fi, serr := os.Stat(out); serr != nil || fi.Size() == 0 {
			return fax.Errorf(fax.ECodeUnprocessable, "Ghostscript rendered no pages: %s", gsMessage(output.String()))
		}
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("asterisk: convert: %w", ctx.Err())
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		return fax.Errorf(fax.ECodeUnprocessable, "rendering the document took longer than %v", p.out.convertTimeout)
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist), errors.Is(err, os.ErrPermission):
		return fmt.Errorf("asterisk: convert: Ghostscript (%s) cannot be run: %w", p.out.gs, err)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fax.Errorf(fax.ECodeUnprocessable, "Ghostscript could not render the PDF: %s", gsMessage(output.String()))
	}
	return fmt.Errorf("asterisk: convert: run Ghostscript: %w", err)
}

// ghostscriptArgs is gs's command line. The output name is a format string
// to Ghostscript ("%d" numbers pages), so any '%' in it is doubled.
func ghostscriptArgs(paper, out, in string) []string {
	return []string{
		"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOINTERPOLATE",
		"-sDEVICE=tiffg4", "-r204x196",
		"-sPAPERSIZE=" + paper, "-dFIXEDMEDIA", "-dPDFFitPage",
		"-sOutputFile=" + strings.ReplaceAll(out, "%", "%%"),
		"-f", in,
	}
}

// gsMessage is the gist of Ghostscript's output, fit for a fax's error.
func gsMessage(s string) string {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "*"))
		if line != "" && !strings.HasPrefix(line, "GPL Ghostscript") {
			return carrier.Clip(line, 200)
		}
	}
	return "no details"
}

func isTIFF(b []byte) bool {
	return bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*"))
}

// isPDF looks for the %PDF- marker where readers look for it: within the
// first KB.
func isPDF(b []byte) bool {
	return bytes.Contains(b[:min(len(b), 1024)], []byte("%PDF-"))
}

// limitedBuffer keeps the first 4 KB written to it: enough of Ghostscript's
// complaints to explain a failure.
type limitedBuffer struct{ b bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return l.b.String() }
