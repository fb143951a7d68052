package phaxio

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// CallbackPath is where Phaxio posts a sent fax's status; Send registers
// PublicURL + CallbackPath + "?job_id=<fax id>" per fax.
const CallbackPath = "/phaxio-callback"

// SendProblem says why this carrier cannot send, naming the settings to
// fix, or "" when it can. Sending needs the API credentials and the public
// URL Phaxio calls back: without a callback URL faxgate would never learn
// how a fax ended.
func (p *Provider) SendProblem() string {
	var missing []string
	if p.apiKey == "" {
		missing = append(missing, "PHAXIO_API_KEY")
	}
	if len(p.secrets) == 0 {
		missing = append(missing, "PHAXIO_API_SECRET")
	}
	if p.publicURL == "" {
		missing = append(missing, "FAXGATE_PUBLIC_URL")
	}
	if len(missing) == 0 {
		return ""
	}
	return "set " + carrier.JoinAnd(missing)
}

// callbackURL is the status webhook URL registered for a fax. It is built
// the way VerifyWebhook rebuilds it (PublicURL + path + "?" + raw query), so
// that Phaxio's signature over it verifies byte for byte.
func (p *Provider) callbackURL(faxID string) string {
	return p.publicURL + CallbackPath + "?job_id=" + url.QueryEscape(faxID)
}

// Send hands the fax to Phaxio with POST /faxes and returns Phaxio's fax id
// as a decimal string. The multipart form carries to, the document as file,
// callback_url, header_text and caller_id when set, and tag[faxgate_id] so
// that Find can look the fax up after a crash.
//
// Errors are *fax.SendError. Retryable: Phaxio cannot have the fax (no
// connection, DNS or TLS failure, nothing written; 408, 429 and 5xx, with
// any Retry-After). Permanent: Phaxio refused it (other 4xx, a redirect,
// success:false), with a Failure quoting Phaxio's message. Ambiguous: the
// request may have arrived but no readable answer came back (a timeout or
// reset after sending, an unreadable 2xx), so it must not be sent blindly
// again. Errors never include credentials.
func (p *Provider) Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (string, error) {
	if prob := p.SendProblem(); prob != "" {
		return "", refused(fax.FailCarrier, "Phaxio is not set up for sending on this gateway ("+prob+").", "", 0, "")
	}
	if job == nil || job.Fax == nil {
		return "", refused(fax.FailGeneral, "The fax is missing.", "", 0, "")
	}
	f := job.Fax
	if f.ID == "" || !validID(f.ID) {
		return "", refused(fax.FailGeneral, "The fax has no valid id.", "", 0, "")
	}
	if strings.TrimSpace(f.To) == "" {
		return "", refused(fax.FailGeneral, "The fax has no destination number.", "", 0, "")
	}
	filename, contentType, ok := carrier.DocumentFile(f.ID, f.DocumentType, doc)
	if !ok {
		return "", refused(fax.FailDocument, "The document is empty or not a PDF or TIFF file.", "", 0, "")
	}
	body, formType, err := p.sendForm(f, filename, contentType, doc)
	if err != nil {
		return "", refused(fax.FailDocument, "The document could not be prepared for Phaxio.", "", 0, "")
	}
	var arrived atomic.Bool
	req, err := carrier.NewUpload(ctx, http.MethodPost, p.baseURL+"/faxes", body, &arrived)
	if err != nil {
		return "", &fax.SendError{Outcome: fax.SendRetryable, Err: fmt.Errorf("phaxio: send: build request: %w", err)}
	}
	req.Header.Set("Content-Type", formType)
	p.prepare(req)
	a, err := carrier.Call(p.client, req, &arrived, maxAnswer)
	if err != nil {
		return "", carrier.LostRequest(sendPrefix, err, arrived.Load())
	}
	if a.Status < 200 || a.Status > 299 {
		return "", p.refusal(a)
	}
	if a.ReadErr != nil {
		return "", carrier.Ambiguous(sendPrefix, "Phaxio answered HTTP %d but the answer could not be read: %w", a.Status, a.ReadErr)
	}
	id, no, msg, err := readSendAnswer(a.Body)
	switch {
	case err != nil:
		return "", carrier.Ambiguous(sendPrefix, "Phaxio answered HTTP %d but %w", a.Status, err)
	case no:
		msg = p.clean(msg)
		return "", refused(fax.FailCarrier, carrier.UserMessage("Phaxio refused the fax", msg), "", a.Status, msg)
	}
	return id, nil
}

// refusal classifies a non-2xx answer to a send.
func (p *Provider) refusal(a *carrier.Answer) *fax.SendError {
	msg, errorType := readError(a.Body)
	msg, errorType = p.clean(msg), p.clean(errorType)
	return sendNames().Refusal(a, msg, errorType, failCode(errorType, "") == fax.FailDocument, p.now())
}

// prepare sets Basic auth with the API key and the current API secret, and
// asks for JSON.
func (p *Provider) prepare(req *http.Request) {
	p.Authorize(req)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "faxgate")
}

// sendForm builds the multipart body of POST /faxes.
func (p *Provider) sendForm(f *fax.Fax, filename, contentType string, doc []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	buf.Grow(len(doc) + 2048)
	w := multipart.NewWriter(&buf)
	fields := [][2]string{{"to", f.To}, {"callback_url", p.callbackURL(f.ID)}}
	if f.HeaderText != "" {
		fields = append(fields, [2]string{"header_text", f.HeaderText})
	}
	if f.From != "" {
		fields = append(fields, [2]string{"caller_id", f.From})
	}
	fields = append(fields, [2]string{"tag[" + TagName + "]", f.ID})
	for _, kv := range fields {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			return nil, "", err
		}
	}
	if err := carrier.WriteFile(w, "file", filename, contentType, doc); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}
