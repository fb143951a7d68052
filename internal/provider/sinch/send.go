package sinch

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

// CallbackPath is where Sinch posts a sent fax's FAX_COMPLETED; Send sets
// callbackUrl to PublicURL + CallbackPath + "?job_id=<fax id>" per fax.
const CallbackPath = "/sinch-callback"

// SendProblem says why this carrier cannot send, naming the settings to
// fix, or "" when it can. Sending needs the project, the access key and the
// public URL Sinch calls back: without a callback URL faxgate would never
// learn how a fax ended.
func (p *Provider) SendProblem() string {
	var missing []string
	if p.projectID == "" {
		missing = append(missing, "SINCH_PROJECT_ID")
	}
	if p.keyID == "" {
		missing = append(missing, "SINCH_KEY_ID")
	}
	if p.keySecret == "" {
		missing = append(missing, "SINCH_KEY_SECRET")
	}
	if p.publicURL == "" {
		missing = append(missing, "FAXGATE_PUBLIC_URL")
	}
	if len(missing) == 0 {
		return ""
	}
	return "set " + carrier.JoinAnd(missing)
}

// callbackURL is the FAX_COMPLETED URL registered for a fax. Sinch
// authenticates its webhooks only by Basic credentials inside the callback
// URL, so with SINCH_INBOUND_BASIC_USER set the URL carries that user and
// the current SINCH_INBOUND_BASIC_PASS, which VerifyWebhook then checks.
// Faxes sent before a password rotation keep the old password in their URL;
// their callbacks verify while it stays in the list.
func (p *Provider) callbackURL(faxID string) string {
	u := p.publicURL
	if p.callbackUser != "" {
		scheme, rest, _ := strings.Cut(u, "://")
		u = scheme + "://" + url.UserPassword(p.callbackUser, p.callbackPass).String() + "@" + rest
	}
	return u + CallbackPath + "?job_id=" + url.QueryEscape(faxID)
}

// faxesURL is the project's faxes collection.
func (p *Provider) faxesURL() string {
	return p.baseURL + "/v3/projects/" + url.PathEscape(p.projectID) + "/faxes"
}

// Send hands the fax to Sinch with POST /v3/projects/{project}/faxes and
// returns Sinch's fax id. The multipart form carries to, from when set, the
// document as file, headerText when set, callbackUrl with its
// callbackUrlContentType, and labels[faxgate_id] so that Find can recognise
// the fax after a crash. With OAuth, a 401 fetches a new token and sends
// once more: a refused request was not taken.
//
// Errors are *fax.SendError. Retryable: Sinch cannot have the fax (no
// connection, DNS or TLS failure, nothing written, no token to be had; 408,
// 429 and 5xx, with any Retry-After). Permanent: Sinch refused it (other
// 4xx, a redirect, a fax object already in FAILURE), with a Failure quoting
// Sinch's message. Ambiguous: the request may have arrived but no readable
// answer came back, so it must not be sent blindly again. Errors never
// include credentials or tokens.
func (p *Provider) Send(ctx context.Context, job *fax.DispatchJob, doc []byte) (string, error) {
	if prob := p.SendProblem(); prob != "" {
		return "", refused(fax.FailCarrier, "Sinch is not set up for sending on this gateway ("+prob+").", "", 0, "")
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
		return "", refused(fax.FailDocument, "The document could not be prepared for Sinch.", "", 0, "")
	}
	a, err := p.callAPI(ctx, "send", http.MethodPost, p.faxesURL(), body, formType, maxAnswer)
	if err != nil {
		return "", err
	}
	if a.Status < 200 || a.Status > 299 {
		return "", p.refusal(a)
	}
	if a.ReadErr != nil {
		return "", carrier.Ambiguous(sendPrefix, "Sinch answered HTTP %d but the answer could not be read: %w", a.Status, a.ReadErr)
	}
	id, failed, err := readSendAnswer(a.Body)
	if err != nil {
		return "", carrier.Ambiguous(sendPrefix, "Sinch answered HTTP %d but %w", a.Status, err)
	}
	if failed != nil {
		failed.CarrierMessage = p.clean(failed.CarrierMessage)
		return "", &fax.SendError{Outcome: fax.SendPermanent, Failure: failed, Err: fmt.Errorf("sinch: send: fax %s failed on arrival", id)}
	}
	return id, nil
}

// callAPI performs one Sinch API call (op names it in errors), with body
// sent as contentType when not nil, and reads up to limit bytes of the
// answer. With OAuth a 401 refreshes the token and repeats the call once.
// Errors are *fax.SendError: no token, or no answer (retryable unless the
// request may have arrived whole).
func (p *Provider) callAPI(ctx context.Context, op, method, target string, body []byte, contentType string, limit int64) (*carrier.Answer, error) {
	stale := ""
	for try := 0; ; try++ {
		var arrived atomic.Bool
		var req *http.Request
		var err error
		if body != nil {
			req, err = carrier.NewUpload(ctx, method, target, body, &arrived)
		} else {
			req, err = http.NewRequestWithContext(ctx, method, target, http.NoBody)
		}
		if err != nil {
			return nil, &fax.SendError{Outcome: fax.SendRetryable, Err: fmt.Errorf("sinch: %s: build request: %w", op, err)}
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		used, err := p.authorize(ctx, req, stale)
		if err != nil {
			return nil, err
		}
		a, err := carrier.Call(p.client, req, &arrived, limit)
		if err != nil {
			return nil, carrier.LostRequest("sinch: "+op, err, arrived.Load())
		}
		if a.Status == http.StatusUnauthorized && p.oauth && try == 0 {
			stale = used
			continue
		}
		return a, nil
	}
}

// refusal classifies a non-2xx answer to a send.
func (p *Provider) refusal(a *carrier.Answer) *fax.SendError {
	msg, errorType := readError(a.Body)
	msg, errorType = p.clean(msg), p.clean(errorType)
	return sendNames().Refusal(a, msg, errorType, failCode(errorType, "") == fax.FailDocument, p.now())
}

// sendForm builds the multipart body of POST /faxes.
func (p *Provider) sendForm(f *fax.Fax, filename, contentType string, doc []byte) ([]byte, string, error) {
	var buf bytes.Buffer
	buf.Grow(len(doc) + 2048)
	w := multipart.NewWriter(&buf)
	fields := [][2]string{{"to", f.To}}
	if f.From != "" {
		fields = append(fields, [2]string{"from", f.From})
	}
	if f.HeaderText != "" {
		fields = append(fields, [2]string{"headerText", f.HeaderText})
	}
	fields = append(fields,
		[2]string{"callbackUrl", p.callbackURL(f.ID)},
		[2]string{"callbackUrlContentType", p.callbackType},
		[2]string{"labels[" + LabelName + "]", f.ID},
	)
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
