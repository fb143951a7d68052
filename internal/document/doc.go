// Package document owns the documents faxgate handles: it recognises PDF,
// TIFF and plain text by their content (never by file name), counts their
// pages before anything is sent, and turns text and fax TIFFs into the PDFs
// faxgate stores and serves. It also writes the sample PDFs the simulator
// carrier "receives".
//
// Every error meant for a user is a *fax.Error (unsupported_type, invalid,
// unprocessable) whose message says what to do about it; anything else is
// internal. Untrusted input never panics the process: parsers guard their
// offsets and sizes, and panics inside pdfcpu are recovered.
//
// It imports only the standard library, github.com/pdfcpu/pdfcpu,
// golang.org/x/image and, of faxgate, nothing but internal/fax.
package document
