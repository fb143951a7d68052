// Package document owns the documents faxgate handles: it recognises PDF,
// TIFF, plain text, images and office documents by their content (never by
// file name), counts their pages before anything is sent, and turns text,
// fax TIFFs, images and (through LibreOffice, when installed) office
// documents into the PDFs faxgate stores and serves, joining a send's
// files in order. It renders the cover pages sends ask for
// (CoverRenderer) and writes the sample PDFs the simulator carrier
// "receives".
//
// Every error meant for a user is a *fax.Error (unsupported_type, invalid,
// unprocessable) whose message says what to do about it; anything else is
// internal. Untrusted input never panics the process: parsers guard their
// offsets and sizes, and panics inside pdfcpu are recovered.
//
// It imports only the standard library, github.com/pdfcpu/pdfcpu,
// golang.org/x/image and, of faxgate, nothing but internal/fax. It starts
// one external program, LibreOffice's soffice, with an argument list and a
// timeout, never through a shell.
package document
