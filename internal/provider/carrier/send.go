package carrier

import (
	"bytes"
	"fmt"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Names are how one carrier is named in the errors and messages of the
// shared send classification.
type Names struct {
	Carrier    string // as users read it: "Phaxio"
	Prefix     string // starts a send's errors: "phaxio: send"
	BaseURLVar string // the setting a redirect points at: "PHAXIO_BASE_URL"
	AuthHelp   string // the whole Failure message of a 401
}

// NotTaken reports whether an HTTP status to a send says the carrier did
// not take the request, so that sending it again cannot double the fax:
// 408 (the carrier stopped waiting for the request), 429 (rate limited) and
// 503 with a Retry-After (the service refuses work for now). Any other 5xx
// may come after the carrier recorded the fax (a proxy timing out, a crash
// after the commit) and is ambiguous: the carrier is asked where it can be,
// and the fax is held as not confirmed where it cannot.
func NotTaken(status int, h http.Header) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusServiceUnavailable:
		return strings.TrimSpace(h.Get("Retry-After")) != ""
	}
	return false
}

// Refusal classifies a non-2xx answer to a send. msg and errorType are the
// carrier's words, already cleaned; documentType says the carrier's error
// type means the document was at fault. What NotTaken names is retryable
// with any Retry-After (read against now); other 5xx are ambiguous; a
// redirect, a 401 and other 4xx are permanent.
func (n Names) Refusal(a *Answer, msg, errorType string, documentType bool, now time.Time) *fax.SendError {
	quoted := ""
	if msg != "" {
		quoted = fmt.Sprintf(": %q", msg)
	}
	switch s := a.Status; {
	case NotTaken(s, a.Header):
		err := fmt.Errorf("%s: HTTP %d, the fax was not taken%s", n.Prefix, s, quoted)
		return &fax.SendError{Outcome: fax.SendRetryable, RetryAfter: RetryAfter(a.Header.Get("Retry-After"), now), Err: err}
	case s >= 500 && s <= 599:
		return Ambiguous(n.Prefix, "HTTP %d, %s may have taken the fax%s", s, n.Carrier, quoted)
	case s >= 300 && s <= 399:
		return Refused(n.Prefix, fax.FailCarrier, fmt.Sprintf("%s answered with a redirect (HTTP %d); check %s.", n.Carrier, s, n.BaseURLVar), errorType, s, msg)
	case s == http.StatusUnauthorized:
		return Refused(n.Prefix, fax.FailCarrier, n.AuthHelp, errorType, s, msg)
	case s >= 400 && s <= 499:
		code := fax.FailCarrier
		if s == http.StatusRequestEntityTooLarge || s == http.StatusUnsupportedMediaType || documentType {
			code = fax.FailDocument
		}
		return Refused(n.Prefix, code, UserMessage(fmt.Sprintf("%s refused the fax (HTTP %d)", n.Carrier, s), msg), errorType, s, msg)
	}
	return Ambiguous(n.Prefix, "%s answered with unexpected HTTP status %d", n.Carrier, a.Status)
}

// WriteFile adds a file part with its own Content-Type (multipart.Writer's
// CreateFormFile would say application/octet-stream).
func WriteFile(w *multipart.Writer, name, filename, contentType string, data []byte) error {
	quote := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quote.Replace(name), quote.Replace(filename)))
	h.Set("Content-Type", contentType)
	pw, err := w.CreatePart(h)
	if err != nil {
		return err
	}
	_, err = pw.Write(data)
	return err
}

// DocumentFile names the document's file part "<fax id>.pdf" or ".tif"
// from its MIME type, sniffing the bytes when the type is unset. ok is false
// for an empty document or any other type.
func DocumentFile(faxID, docType string, doc []byte) (filename, contentType string, ok bool) {
	if len(doc) == 0 {
		return "", "", false
	}
	mt := ""
	if docType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(docType); err != nil {
			return "", "", false
		}
	} else {
		switch {
		case bytes.HasPrefix(doc, []byte("%PDF-")):
			mt = "application/pdf"
		case bytes.HasPrefix(doc, []byte("II*\x00")), bytes.HasPrefix(doc, []byte("MM\x00*")):
			mt = "image/tiff"
		}
	}
	switch mt {
	case "application/pdf":
		return faxID + ".pdf", mt, true
	case "image/tiff":
		return faxID + ".tif", mt, true
	}
	return "", "", false
}
