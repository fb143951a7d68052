package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/fax"
)

// receivedLimit is the largest received document faxgate fetches: twice
// the largest it accepts to send, since a carrier's rendering of a fax (a
// PDF or TIFF of page images) runs larger than what a user uploads. With
// the default FAXGATE_MAX_DOCUMENT_BYTES that is 40 MiB.
func receivedLimit(maxDocument int64) int64 { return 2 * maxDocument }

// sniffWindow is how much of a download is read before deciding that it is
// a PDF or a TIFF; the rest of something else is never read.
const sniffWindow = 1024

// download says how to read one carrier's document answer.
type download struct {
	carrier any   // the carrier, for its names in messages
	limit   int64 // largest document, in bytes as stored
	// decode returns the document inside the answer body (GoFax's base64);
	// nil when the body is the document.
	decode func(io.Reader) io.Reader
}

// carrierNames names a carrier in fetch errors, with the settings its API
// credentials come from ("" when it says nothing of them).
func carrierNames(p any) (name, credentials string) {
	if c, ok := p.(credentialed); ok {
		return c.Credentials()
	}
	return "the carrier", ""
}

// fetchFile runs a request for a received document through the
// outbound-safe client and classifies what can go wrong, the same way for
// every carrier, by the code of the *fax.Error it returns (see
// ingest.Options.Resolve): unavailable or rate_limited (the carrier is down,
// busy, or the download was cut off) is retried for about two days;
// not_found (no such document yet, or an answer that is not a PDF or TIFF,
// such as a proxy's error page) is retried for a short while; unauthorized
// (rejected credentials), too_large and unprocessable end the fetch at once.
// At most dl.limit bytes of document are held, and an answer is never read
// past what such a document can take.
func fetchFile(client *http.Client, req *http.Request, dl download) ([]byte, error) {
	name, credentials := carrierNames(dl.carrier)
	resp, err := client.Do(req)
	if err != nil {
		// The cause is kept for the log without its URL, which for GoFax
		// carries the API token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.Contains(err.Error(), "not allowed") {
			return nil, fax.Because(err, fax.ECodeUnprocessable, "the document's address is not allowed")
		}
		return nil, fax.Because(err, fax.ECodeUnavailable, "%s could not be reached", name)
	}
	defer resp.Body.Close()
	if err := answerError(name, credentials, resp.StatusCode); err != nil {
		return nil, err
	}
	// The answer is bounded before it is read: base64 grows a document by
	// 4/3, and line breaks or JSON escapes add a little more.
	rawLimit := dl.limit
	if dl.decode != nil {
		enc := int64(base64.StdEncoding.EncodedLen(int(dl.limit)))
		rawLimit = enc + enc/8 + 4096
	}
	tooLarge := fax.Errorf(fax.ECodeTooLarge, "the received document is larger than %d bytes (twice FAXGATE_MAX_DOCUMENT_BYTES)", dl.limit)
	if resp.ContentLength > rawLimit {
		return nil, tooLarge
	}
	var body io.Reader = &boundedReader{r: resp.Body, left: rawLimit, err: tooLarge}
	if dl.decode != nil {
		body = dl.decode(body)
	}

	head := make([]byte, sniffWindow)
	n, err := io.ReadFull(body, head)
	head = head[:n]
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, readError(name, err)
	}
	if t, serr := document.Sniff(head); serr != nil || (t != document.PDF && t != document.TIFF) {
		return nil, fax.Errorf(fax.ECodeNotFound, "%s answered with %s, not a PDF or TIFF", name, describe(head))
	}
	if err != nil { // the whole document was in the window
		return head, nil
	}
	// The announced length sizes the buffer, within the limit; without one
	// the buffer grows as the document comes.
	size := int64(64 << 10)
	if cl := resp.ContentLength; cl > 0 {
		if dl.decode != nil {
			cl = cl / 4 * 3
		}
		size = min(dl.limit, cl)
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	buf.Write(head)
	if _, err := io.Copy(buf, io.LimitReader(body, dl.limit-int64(len(head))+1)); err != nil {
		return nil, readError(name, err)
	}
	if int64(buf.Len()) > dl.limit {
		return nil, tooLarge
	}
	return buf.Bytes(), nil
}

// answerError classifies a carrier's HTTP status for a document download.
func answerError(name, credentials string, status int) error {
	switch {
	case status >= 200 && status <= 299:
		return nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		if credentials != "" {
			return fax.Errorf(fax.ECodeUnauthorized, "%s refused faxgate's credentials (HTTP %d): check %s", name, status, credentials)
		}
		return fax.Errorf(fax.ECodeUnauthorized, "%s refused faxgate's credentials (HTTP %d)", name, status)
	case status == http.StatusNotFound:
		// Carriers answer 404 until a just-received file is ready.
		return fax.Errorf(fax.ECodeNotFound, "%s has no such document yet (HTTP 404)", name)
	case status == http.StatusTooManyRequests:
		return fax.Errorf(fax.ECodeRateLimited, "%s is rate limiting (HTTP 429)", name)
	case status == http.StatusRequestTimeout || status >= 500:
		return fax.Errorf(fax.ECodeUnavailable, "%s answered HTTP %d", name, status)
	}
	return fax.Errorf(fax.ECodeUnprocessable, "%s refused the download (HTTP %d)", name, status)
}

// readError classifies an error met while reading a download.
func readError(name string, err error) error {
	switch fax.ErrorCode(err) {
	case fax.ECodeTooLarge:
		return err
	case fax.ECodeUnsupportedType: // the carrier's encoding (GoFax's base64) is broken
		return fax.Errorf(fax.ECodeNotFound, "%s answered with something that is not a document: %s", name, fax.ErrorMessage(err))
	}
	return fax.Because(err, fax.ECodeUnavailable, "the download from %s was cut off", name)
}

// describe names what a download that is not a document looks like, for
// the fax's error and the log, without quoting it.
func describe(head []byte) string {
	t := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	switch {
	case len(t) == 0:
		return "an empty answer"
	case t[0] == '<':
		return "an HTML or XML page"
	case t[0] == '{' || t[0] == '[':
		return "JSON"
	case utf8.Valid(head) || utf8.Valid(head[:max(0, len(head)-3)]):
		return "text"
	}
	return "data of another kind"
}

// boundedReader reads r until left bytes were read, then fails with err, so
// a download past what a document may take stops there.
type boundedReader struct {
	r    io.Reader
	left int64
	err  error
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the bound from a longer one.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, b.err
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// The optional parts of a carrier that fetching a received document uses.
type (
	// spooler keeps received documents in a local spool (Asterisk).
	spooler interface {
		OpenSpoolFile(path string) (*os.File, error)
	}
	// fileURLAuthorizer names received documents by a URL on its own hosts,
	// fetched with its credentials (Phaxio, Sinch).
	fileURLAuthorizer interface {
		AuthorizeFileURL(req *http.Request) bool
	}
	// fileRequester serves received documents through its API by id.
	fileRequester interface {
		FileRequest(ctx context.Context, id string) (*http.Request, error)
	}
	// fileDecoder answers with the document encoded (GoFax's base64).
	fileDecoder interface {
		DecodeFile(r io.Reader) io.Reader
	}
	// credentialed names itself and its credentials' settings in errors.
	credentialed interface {
		Credentials() (name, settings string)
	}
)

// resolve fetches a received document that did not come inside the
// webhook: a spool file, a carrier API file, or a file URL on the
// carrier's own hosts (fetched with its credentials; any other host is
// refused, so a webhook cannot make faxgate fetch arbitrary URLs). A
// document must be a PDF or a TIFF, at most limit bytes.
func (c *carriers) resolve(ctx context.Context, client *http.Client, limit int64, u *fax.Update) error {
	d := u.Document
	p := c.byName[u.Provider]
	dl := download{carrier: p, limit: limit}
	var b []byte
	var err error
	switch {
	case d.TIFFPath != "":
		sp, ok := p.(spooler)
		if !ok {
			return fax.Errorf(fax.ECodeUnprocessable, "no spool directory is configured")
		}
		f, oerr := sp.OpenSpoolFile(d.TIFFPath)
		if oerr != nil {
			return fax.Because(oerr, fax.ECodeUnprocessable, "tiff_path cannot be read inside ASTERISK_SPOOL_DIR")
		}
		defer f.Close()
		b, err = io.ReadAll(io.LimitReader(f, limit+1))
		if err != nil {
			return fax.Because(err, fax.ECodeUnprocessable, "tiff_path could not be read")
		}
		if int64(len(b)) > limit {
			return fax.Errorf(fax.ECodeUnprocessable, "tiff_path could not be read")
		}
		if t, serr := document.Sniff(b); serr != nil || (t != document.TIFF && t != document.PDF) {
			return fax.Errorf(fax.ECodeUnprocessable, "tiff_path holds %s, not a TIFF or PDF", describe(b[:min(len(b), sniffWindow)]))
		}
	case d.URL != "":
		pu, perr := url.Parse(d.URL)
		if perr != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.User != nil {
			return fax.Errorf(fax.ECodeUnprocessable, "file_url is not an http(s) URL")
		}
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
		if rerr != nil {
			return fax.Errorf(fax.ECodeUnprocessable, "file_url is not valid")
		}
		if fa, ok := p.(fileURLAuthorizer); !ok || !fa.AuthorizeFileURL(req) {
			return fax.Errorf(fax.ECodeUnprocessable, "file_url host %s is not one of the carrier's file hosts", pu.Hostname())
		}
		b, err = fetchFile(client, req, dl)
	case d.FetchID != "":
		fr, ok := p.(fileRequester)
		if !ok {
			return fax.Errorf(fax.ECodeUnprocessable, "no way to fetch documents from %s", u.Provider)
		}
		req, rerr := fr.FileRequest(ctx, d.FetchID)
		if rerr != nil {
			return fax.Because(rerr, fax.ECodeUnprocessable, "the document cannot be asked for: %s", fax.ErrorMessage(rerr))
		}
		if fd, ok := p.(fileDecoder); ok {
			dl.decode = fd.DecodeFile
		}
		b, err = fetchFile(client, req, dl)
	default:
		return fax.Errorf(fax.ECodeUnprocessable, "the webhook named no document")
	}
	if err != nil {
		return err
	}
	d.Bytes = b
	return nil
}
