package document

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"github.com/faxgate/faxgate/internal/fax"
)

// ConverterOptions bound the conversions of a Converter; zero values take
// the defaults.
type ConverterOptions struct {
	// Timeout is how long one LibreOffice run may take (default 2m).
	Timeout time.Duration
	// MaxOutput is how many bytes one LibreOffice run may write, and how
	// large its PDF may be (default 100 MiB).
	MaxOutput int64
	// MaxPixels is how many pixels an image may have, all GIF frames
	// together (default DefaultMaxPixels).
	MaxPixels int64
	// TempDir holds the private scratch directories (default os.TempDir()).
	TempDir string
}

// Default conversion limits.
const (
	DefaultConvertTimeout   = 2 * time.Minute
	DefaultConvertMaxOutput = 100 << 20
)

// Converter turns the files of one send into the one document faxgate
// stores and sends: images become dithered Letter pages, office documents
// and HTML go through LibreOffice, and several files are joined in order.
type Converter struct {
	opts ConverterOptions
}

// NewConverter returns a Converter with opts, defaults filled in.
func NewConverter(opts ConverterOptions) *Converter {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultConvertTimeout
	}
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = DefaultConvertMaxOutput
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = DefaultMaxPixels
	}
	return &Converter{opts: opts}
}

// Converted is a send's document as stored.
type Converted struct {
	Bytes []byte
	// MIME is application/pdf, or image/tiff for a single TIFF, which is
	// kept as it came because fax carriers take it natively.
	MIME string
	// Pages is the page count of Bytes.
	Pages int
}

// Convert sniffs each file by its content and returns them joined, in
// order, as one document. A lone PDF or TIFF is kept byte for byte. Errors
// meant for the user are *fax.Error values naming the file when there are
// several: unsupported_type for what faxgate cannot fax (or cannot without
// LibreOffice), unprocessable for a damaged file or a conversion stopped by
// its limits.
func (c *Converter) Convert(ctx context.Context, files [][]byte) (Converted, error) {
	if len(files) == 0 {
		return Converted{}, fax.Errorf(fax.ECodeInvalid, "no document")
	}
	pdfs := make([][]byte, 0, len(files))
	total := 0
	for i, b := range files {
		pdf, t, n, err := c.one(ctx, b)
		if err != nil {
			if len(files) > 1 {
				return Converted{}, fileError(i+1, err)
			}
			return Converted{}, err
		}
		if len(files) == 1 && (t == PDF || t == TIFF) {
			return Converted{Bytes: b, MIME: t.MIME(), Pages: n}, nil
		}
		if total += n; total > MaxPages {
			return Converted{}, errTooManyPages(total)
		}
		pdfs = append(pdfs, pdf)
	}
	out := pdfs[0]
	if len(pdfs) > 1 {
		var err error
		if out, err = mergePDFs(pdfs); err != nil {
			return Converted{}, err
		}
	}
	n, err := pdfPageCount(out)
	if err != nil {
		return Converted{}, fmt.Errorf("document: count the converted pages: %w", err)
	}
	return Converted{Bytes: out, MIME: PDF.MIME(), Pages: n}, nil
}

// one converts a single file to PDF and returns its type and page count.
func (c *Converter) one(ctx context.Context, b []byte) ([]byte, Type, int, error) {
	if len(b) == 0 {
		return nil, "", 0, fax.Errorf(fax.ECodeInvalid, "the document is empty")
	}
	if t := sniffImage(b); t != "" {
		pdf, n, err := imageToPDF(t, b, c.opts.MaxPixels)
		return pdf, t, n, err
	}
	if t := sniffOffice(b); t != "" {
		pdf, err := officeToPDF(ctx, t, b, officeLimits{timeout: c.opts.Timeout, maxOutput: c.opts.MaxOutput, tempDir: c.opts.TempDir})
		if err != nil {
			return nil, t, 0, err
		}
		n, err := pdfPageCount(pdf)
		if err != nil {
			return nil, t, 0, userError(fax.ECodeUnprocessable, fmt.Sprintf("LibreOffice made an unreadable PDF of the %s document", t.short()), err)
		}
		if n > MaxPages {
			return nil, t, 0, errTooManyPages(n)
		}
		return pdf, t, n, nil
	}
	info, err := Inspect(b)
	if err != nil {
		if fax.ErrorCode(err) == fax.ECodeUnsupportedType {
			err = fax.Errorf(fax.ECodeUnsupportedType,
				"unsupported document type; send PDF, TIFF, text, an image (PNG, JPEG, GIF, BMP, WebP) or an office document (DOCX, DOC, ODT, RTF, XLSX, ODS, PPTX, HTML)")
		}
		return nil, "", 0, err
	}
	switch info.Type {
	case TIFF:
		pdf, _, err := TIFFToPDF(b)
		return pdf, TIFF, info.Pages, err
	case Text:
		pdf, err := TextToPDF(string(b))
		return pdf, Text, info.Pages, err
	}
	return b, info.Type, info.Pages, nil
}

// fileError names the file (1-based) in the user's part of err.
func fileError(i int, err error) error {
	if code := fax.ErrorCode(err); code != "" && code != fax.ECodeInternal {
		return userError(code, fmt.Sprintf("file %d: %s", i, fax.ErrorMessage(err)), err)
	}
	return err
}

// mergePDFs joins pdfs in order with pdfcpu, recovering from its panics as
// readPDF does.
func mergePDFs(pdfs [][]byte) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, errCorruptPDF(fmt.Errorf("document: pdfcpu panicked merging: %v", v))
		}
	}()
	rs := make([]io.ReadSeeker, len(pdfs))
	for i, p := range pdfs {
		rs[i] = bytes.NewReader(p)
	}
	var buf bytes.Buffer
	if err := api.MergeRaw(rs, &buf, false, pdfConfig()); err != nil {
		return nil, userError(fax.ECodeUnprocessable, "the documents could not be joined: one of them is damaged", err)
	}
	return buf.Bytes(), nil
}
