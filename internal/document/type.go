package document

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/fax"
)

// Type is the kind of a document, named by its bare MIME type so that it can
// be stored and compared without a lookup table.
type Type string

// The document types faxgate accepts.
const (
	PDF  Type = "application/pdf"
	TIFF Type = "image/tiff"
	Text Type = "text/plain"
)

// MaxPages is the most pages faxgate accepts in one document. Nobody faxes a
// thousand pages on purpose, and the bound keeps a small hostile file from
// costing unbounded work.
const MaxPages = 1000

// pdfHeaderWindow is how far into a file Sniff looks for "%PDF-". Readers
// accept some leading junk (mail gateways and old tools prepend a few bytes);
// 1024 bytes is what Acrobat tolerates.
const pdfHeaderWindow = 1024

// MIME returns the Content-Type to store and serve a document of type t with.
// Text gets an explicit charset because Sniff only accepts UTF-8.
func (t Type) MIME() string {
	if t == Text {
		return "text/plain; charset=utf-8"
	}
	return string(t)
}

// Sniff reports the type of b from its content, so that a mislabelled upload
// is judged by what it is rather than by what its name or header claims. It
// returns a *fax.Error: invalid for an empty document, unsupported_type for
// anything that is not PDF, TIFF or plain UTF-8 text.
func Sniff(b []byte) (Type, error) {
	if len(b) == 0 {
		return "", fax.Errorf(fax.ECodeInvalid, "the document is empty")
	}
	if bytes.Contains(b[:min(len(b), pdfHeaderWindow)], []byte("%PDF-")) {
		return PDF, nil
	}
	if bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*")) {
		return TIFF, nil
	}
	if isPlainText(b) {
		return Text, nil
	}
	return "", errUnsupported()
}

func errUnsupported() error {
	return fax.Errorf(fax.ECodeUnsupportedType, "unsupported document type; send PDF, TIFF or plain text")
}

// isPlainText reports whether b is UTF-8 text that would fax as the user
// meant it: no binary bytes, no control characters beyond tab, newlines and
// form feed, and no markup (HTML, XML, RTF, PostScript) that would otherwise
// be faxed as its source code.
func isPlainText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		i += n
		switch r {
		case '\t', '\n', '\r', '\f':
			continue
		}
		if unicode.IsControl(r) {
			return false
		}
	}
	return !looksLikeMarkup(b)
}

// looksLikeMarkup reports whether text b starts like a document in a markup
// or page-description language, after an optional byte order mark and
// leading white space. The HTML prefixes follow the WHATWG MIME sniffing
// standard.
func looksLikeMarkup(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.TrimLeft(b, " \t\n\r\f")
	for _, p := range []string{"{\\rtf", "%!", "<?xml"} {
		if hasPrefixFold(b, p) {
			return true
		}
	}
	if hasPrefixFold(b, "<!--") {
		return true
	}
	tags := []string{
		"<!doctype html", "<html", "<head", "<script", "<iframe", "<h1", "<div",
		"<font", "<table", "<a", "<style", "<title", "<b", "<body", "<br", "<p",
		"<svg",
	}
	for _, t := range tags {
		if hasPrefixFold(b, t) && len(b) > len(t) && (b[len(t)] == ' ' || b[len(t)] == '>' ||
			b[len(t)] == '\t' || b[len(t)] == '\n' || b[len(t)] == '\r' || b[len(t)] == '/') {
			return true
		}
	}
	return false
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
