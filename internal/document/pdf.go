package document

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// pdfConfig returns a pdfcpu configuration built in memory.
// model.NewDefaultConfiguration would create (or read) a pdfcpu directory
// under the user's config dir, and api.DisableConfigDir flips a package
// variable of pdfcpu's; a literal does neither and is safe to use from many
// goroutines at once. Validation is relaxed, like pdfcpu's own default,
// because real-world PDFs that print fine are rarely spec-perfect.
func pdfConfig() *model.Configuration {
	return &model.Configuration{
		Version:                   model.VersionStr,
		Reader15:                  true,
		ValidationMode:            model.ValidationRelaxed,
		UnsupportedResourcePolicy: model.UnsupportedResourceSkip,
		Eol:                       types.EolLF,
		WriteObjectStream:         true,
		WriteXRefStream:           true,
		EncryptUsingAES:           true,
		EncryptKeyLength:          256,
		Permissions:               model.PermissionsPrint,
		TimestampFormat:           "2006-01-02 15:04",
		DateFormat:                "2006-01-02",
		Optimize:                  true,
		OptimizeBeforeWriting:     true,
		OptimizeResourceDicts:     true,
		Offline:                   true,
		Cmd:                       model.VALIDATE,
		Limits:                    pdfLimits(),
	}
}

// pdfLimits tightens pdfcpu's resource limits to what a fax document can
// plausibly need, so that a small hostile file cannot make the reader
// allocate gigabytes.
func pdfLimits() model.ResourceLimits {
	l := model.DefaultResourceLimits()
	const mb = 1 << 20
	l.MaxStreamBytes = 128 * mb
	l.MaxDecodeBytes = 128 * mb
	l.MaxObjectCount = 1_000_000
	l.MaxXRefEntries = 1_000_000
	return l
}

// pdfPageCount reads and validates the PDF b and returns its page count.
// Errors are *fax.Error values with code unprocessable.
func pdfPageCount(b []byte) (int, error) {
	if err := checkFilterRefs(b); err != nil {
		return 0, errCorruptPDF(err)
	}
	ctx, err := readPDF(b)
	if err != nil {
		if isEncryptionError(err) || looksEncrypted(b) {
			return 0, errEncrypted()
		}
		return 0, errCorruptPDF(err)
	}
	if ctx.Encrypt != nil || ctx.E != nil {
		return 0, errEncrypted()
	}
	if ctx.PageCount < 1 {
		return 0, errCorruptPDF(errors.New("document: pdf has no pages"))
	}
	return ctx.PageCount, nil
}

// readPDF runs pdfcpu's reader and validator on b, turning any panic inside
// pdfcpu into an error: a malformed upload must never take the process down.
func readPDF(b []byte) (ctx *model.Context, err error) {
	defer func() {
		if r := recover(); r != nil {
			ctx, err = nil, fmt.Errorf("document: pdfcpu panicked: %v", r)
		}
	}()
	ctx, err = api.ReadContext(bytes.NewReader(b), pdfConfig())
	if err != nil {
		return nil, fmt.Errorf("document: read pdf: %w", err)
	}
	if ctx.Encrypt != nil || ctx.E != nil {
		// Refused by the caller; validating it would only waste time.
		return ctx, nil
	}
	if err := api.ValidateContext(ctx); err != nil {
		return nil, fmt.Errorf("document: validate pdf: %w", err)
	}
	return ctx, nil
}

func isEncryptionError(err error) bool {
	return errors.Is(err, pdfcpu.ErrWrongPassword) ||
		errors.Is(err, pdfcpu.ErrEncrypted) ||
		errors.Is(err, pdfcpu.ErrPermissionDenied) ||
		errors.Is(err, pdfcpu.ErrOwnerPasswordRequired)
}

// looksEncrypted reports whether an unreadable PDF carries an encryption
// dictionary, so that the user hears about the password rather than about
// corruption when pdfcpu fails on the encryption itself (an unsupported
// security handler, say).
func looksEncrypted(b []byte) bool {
	return bytes.Contains(b, []byte("/Encrypt"))
}

// checkFilterRefs refuses PDFs whose stream dictionaries give /Filter or
// /DecodeParms as indirect references. pdfcpu v0.15.0 resolves those while
// it is still parsing the stream that names them, so a reference back to
// that stream (directly, or through an object stream that holds the
// referenced object) recurses until the goroutine stack overflows, which is
// a fatal error that no recover can catch. Indirect filter parameters are
// legal but almost never written; stream dictionaries are never inside
// object streams, so a scan of the raw bytes sees every one of them.
func checkFilterRefs(b []byte) error {
	for _, key := range []string{"/Filter", "/DecodeParms"} {
		rest := b
		for {
			i := bytes.Index(rest, []byte(key))
			if i < 0 {
				break
			}
			rest = rest[i+len(key):]
			if hasIndirectRef(rest) {
				return fmt.Errorf("document: pdf %s is an indirect reference", key)
			}
		}
	}
	return nil
}

// hasIndirectRef reports whether b starts, after white space, with an
// indirect reference ("12 0 R") or with an array holding one.
func hasIndirectRef(b []byte) bool {
	b = trimPDFSpace(b)
	if len(b) > 0 && b[0] == '[' {
		end := bytes.IndexByte(b, ']')
		if end < 0 {
			end = min(len(b), 1024)
		}
		arr := b[1:end]
		for len(arr) > 0 {
			if isRef(arr) {
				return true
			}
			arr = arr[1:]
		}
		return false
	}
	return isRef(b)
}

// isRef reports whether b starts with "<int> <int> R" and a delimiter.
func isRef(b []byte) bool {
	for range 2 {
		n := 0
		for n < len(b) && b[n] >= '0' && b[n] <= '9' {
			n++
		}
		if n == 0 {
			return false
		}
		rest := trimPDFSpace(b[n:])
		if len(rest) == len(b[n:]) {
			return false // no space after the number
		}
		b = rest
	}
	return len(b) > 0 && b[0] == 'R' && (len(b) == 1 || isPDFDelimiter(b[1]))
}

func trimPDFSpace(b []byte) []byte {
	return bytes.TrimLeft(b, "\x00\t\n\f\r ")
}

func isPDFDelimiter(c byte) bool {
	return bytes.IndexByte([]byte("\x00\t\n\f\r ()<>[]{}/%"), c) >= 0
}
