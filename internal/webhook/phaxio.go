package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/phaxio"
	"github.com/faxgate/faxgate/internal/wire"
)

// Phaxio event types, as Phaxio's v2.1 webhooks name them.
const (
	phaxioCompleted = "fax_completed"
	phaxioPage      = "transmitting_page"
	phaxioRetry     = "retry_scheduled"
)

// formField is one field of a form body, in the order it is sent.
type formField struct{ name, value string }

// phaxioFax is Phaxio's fax object, fields in the order Phaxio's API
// documentation shows them. Fields faxgate has no value for are null (cost,
// bitrate, resolution) or empty (tags, barcodes), so a receiver that reads
// them finds them.
type phaxioFax struct {
	ID           string            `json:"id"`
	Direction    string            `json:"direction"`
	NumPages     int               `json:"num_pages"`
	Status       string            `json:"status"`
	IsTest       bool              `json:"is_test"`
	CreatedAt    *string           `json:"created_at"`
	CallerID     *string           `json:"caller_id"`
	FromNumber   *string           `json:"from_number"`
	CompletedAt  *string           `json:"completed_at"`
	Cost         *int              `json:"cost"`
	Tags         map[string]string `json:"tags"`
	Recipients   []phaxioRecipient `json:"recipients"`
	ToNumber     *string           `json:"to_number"`
	ErrorID      *int              `json:"error_id"`
	ErrorType    *string           `json:"error_type"`
	ErrorMessage *string           `json:"error_message"`
	Barcodes     []any             `json:"barcodes"`
}

// phaxioRecipient is one entry of a sent fax's recipients.
type phaxioRecipient struct {
	PhoneNumber  string  `json:"phone_number"`
	Status       string  `json:"status"`
	RetryCount   int     `json:"retry_count"`
	CompletedAt  *string `json:"completed_at"`
	Bitrate      *int    `json:"bitrate"`
	Resolution   *int    `json:"resolution"`
	ErrorType    *string `json:"error_type"`
	ErrorID      *int    `json:"error_id"`
	ErrorMessage *string `json:"error_message"`
}

// buildPhaxio renders the "phaxio" format: a multipart/form-data POST shaped
// like Phaxio's v2.1 webhooks, so that a receiver written for Phaxio works
// unchanged, signed in X-Phaxio-Signature with Phaxio's own scheme (HMAC-SHA1
// over the URL and the sorted fields) keyed with the endpoint's current
// secret string as the webhook token. It also carries the Standard Webhooks
// headers, signed over the exact body by every active secret. During a
// secret rotation X-Phaxio-Signature, which holds one value, is made with the
// current secret only. See phaxioFields for the fields. A fax.received event
// carries the fax's PDF, doc, as the file part "file" (named <fax id>.pdf),
// as Phaxio's own received-fax webhooks do; its SHA-1 is in the signature,
// as in Phaxio's scheme.
func buildPhaxio(ctx context.Context, job *fax.DeliveryJob, target *url.URL, now time.Time, doc []byte) (*http.Request, error) {
	if job.Endpoint.Secret == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "webhook endpoint has no signing secret")
	}
	fields, err := phaxioFields(job.Event)
	if err != nil {
		return nil, err
	}
	var file *formFile
	if doc != nil && job.Event.Type == fax.EventFaxReceived {
		file = &formFile{name: "file", filename: job.Event.FaxID + ".pdf", contentType: "application/pdf", data: doc}
	}
	body, contentType, err := multipartForm(fields, file)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "endpoint URL is not valid")
	}
	req.Header.Set("Content-Type", contentType)
	signed := map[string][]string{}
	for _, f := range fields {
		signed[f.name] = append(signed[f.name], f.value)
	}
	var files map[string][][]byte
	if file != nil {
		files = map[string][][]byte{file.name: {file.data}}
	}
	req.Header.Set(phaxio.SignatureHeader, phaxio.Sign(job.Endpoint.Secret, signingURL(job.Endpoint.URL), signed, files))
	if err := SetHeaders(req.Header, job.Endpoint.Secrets(now), job.Event.ID, now, body); err != nil {
		return nil, err
	}
	return req, nil
}

// phaxioFields are the form fields of ev in the phaxio format:
//
//   - fax: Phaxio's fax object as JSON (phaxioObject);
//   - event_type: fax_completed for fax.sent, fax.failed, fax.canceled and
//     fax.received; transmitting_page (with page and recipient_phone_number)
//     for fax.page_sent; retry_scheduled (with retry_count) for
//     fax.retry_scheduled;
//   - the legacy fields success (true|false), direction (sent|received) and
//     is_test (false).
//
// A received fax's PDF goes after the fields as the file part "file" (see
// buildPhaxio); when it is no longer stored, or larger than maxWebhookFile,
// the webhook goes without it and a receiver fetches it with
// GET /v1/faxes/{id}/document.
//
// fax.queued, fax.sending and the SMS events have no Phaxio counterpart:
// they are an *fax.Error, so the delivery fails at once with a message saying
// so. Events that are not about a fax (webhook.test,
// webhook.endpoint_disabled) are sent with event_type set to faxgate's type,
// a data field holding the event's data as JSON and is_test true for the
// test event, so the test button works and a Phaxio receiver, which ignores
// event types it does not know, is not confused.
func phaxioFields(ev fax.Event) ([]formField, error) {
	if !aboutFax(ev.Type) {
		data := string(bytes.TrimSpace(ev.Data))
		if data == "" {
			data = "{}"
		} else if !json.Valid([]byte(data)) {
			return nil, fax.Errorf(fax.ECodeInvalid, "event %s data is not valid JSON", ev.ID)
		}
		return []formField{
			{"event_type", string(ev.Type)},
			{"data", data},
			{"is_test", strconv.FormatBool(ev.Type == fax.EventEndpointTest)},
		}, nil
	}
	var eventType string
	switch ev.Type {
	case fax.EventFaxSent, fax.EventFaxFailed, fax.EventFaxCanceled, fax.EventFaxReceived:
		eventType = phaxioCompleted
	case fax.EventFaxPageSent:
		eventType = phaxioPage
	case fax.EventFaxRetryScheduled:
		eventType = phaxioRetry
	default:
		return nil, fax.Errorf(fax.ECodeInvalid, "the phaxio format has no %s event: Phaxio sends only fax_completed, transmitting_page and retry_scheduled", ev.Type)
	}
	d, err := faxData(ev)
	if err != nil {
		return nil, err
	}
	obj := phaxioObject(&d, ev.Type)
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "event %s cannot be rendered as a Phaxio fax", ev.ID)
	}
	fields := []formField{{"fax", string(raw)}, {"event_type", eventType}}
	switch eventType {
	case phaxioPage:
		fields = append(fields, formField{"page", strconv.Itoa(d.Page)})
		if obj.Direction == "sent" {
			fields = append(fields, formField{"recipient_phone_number", d.To})
		}
	case phaxioRetry:
		fields = append(fields, formField{"retry_count", strconv.Itoa(d.RetryCount)})
	}
	return append(fields,
		formField{"success", strconv.FormatBool(obj.Status == "success")},
		formField{"direction", obj.Direction},
		formField{"is_test", "false"},
	), nil
}

// phaxioObject maps faxgate's fax object to Phaxio's. The id stays faxgate's
// fax id (a string: Phaxio's are numbers, but a receiver that stores ids as
// text keeps working, and it is the id faxgate's API knows). Statuses map
// back to Phaxio's: sent and received → success, failed and canceled →
// failure, partial → partialsuccess, queued and sending → inprogress. A sent
// fax has one recipient, whose status adds Phaxio's recipient-level
// callactive (a page was sent) and willretry (a retry is scheduled).
// caller_id is the caller id the carrier reported, else the from number; a
// recipient's bitrate is the speed the carrier reported, else null.
func phaxioObject(d *wire.EventData, t fax.EventType) phaxioFax {
	callerID := d.From
	if d.CallerID != "" {
		callerID = d.CallerID
	}
	p := phaxioFax{
		ID:          d.ID,
		Direction:   "sent",
		NumPages:    d.Pages,
		Status:      phaxioStatus(d.Status),
		CreatedAt:   phaxioTime(&d.CreatedAt),
		CallerID:    nullable(callerID),
		FromNumber:  nullable(d.From),
		CompletedAt: phaxioTime(d.CompletedAt),
		Tags:        map[string]string{},
		Recipients:  []phaxioRecipient{},
		ToNumber:    nullable(d.To),
		Barcodes:    []any{},
	}
	if inbound(d, t) {
		p.Direction = "received"
	}
	switch t {
	case fax.EventFaxPageSent, fax.EventFaxRetryScheduled:
		p.Status = "inprogress"
	}
	p.ErrorType, p.ErrorID, p.ErrorMessage = phaxioError(d)
	if p.Direction == "sent" {
		r := phaxioRecipient{
			PhoneNumber:  d.To,
			Status:       p.Status,
			RetryCount:   d.RetryCount,
			CompletedAt:  p.CompletedAt,
			ErrorType:    p.ErrorType,
			ErrorID:      p.ErrorID,
			ErrorMessage: p.ErrorMessage,
		}
		if d.BitRate > 0 {
			r.Bitrate = &d.BitRate
		}
		switch t {
		case fax.EventFaxPageSent:
			r.Status = "callactive"
		case fax.EventFaxRetryScheduled:
			r.Status = "willretry"
		}
		p.Recipients = append(p.Recipients, r)
	}
	return p
}

// phaxioStatus maps a faxgate status to Phaxio's fax status.
func phaxioStatus(s string) string {
	switch fax.Status(s) {
	case fax.StatusSent, fax.StatusReceived:
		return "success"
	case fax.StatusFailed, fax.StatusCanceled:
		return "failure"
	case fax.StatusPartial:
		return "partialsuccess"
	}
	return "inprogress"
}

// phaxioType finds s among Phaxio's error types, ignoring case and
// underscores, so that Sinch's LINE_ERROR finds lineError.
func phaxioType(s string) (string, bool) {
	for _, t := range []string{"documentConversionError", "lineError", "faxError", "fatalError", "generalError"} {
		if strings.EqualFold(strings.ReplaceAll(s, "_", ""), t) {
			return t, true
		}
	}
	return "", false
}

// phaxioError fills error_type, error_id and error_message from the fax's
// error. The carrier's own fields come first when they are in Phaxio's
// vocabulary: its error type when it is one of Phaxio's (Phaxio's, or Sinch's
// spelling of them), its code as error_id when it is a number and the carrier
// is Phaxio or Sinch (which share Phaxio's numbers), its message. Otherwise
// faxgate's failure code stands in: busy is lineError 17, no_answer lineError
// 16, congestion lineError 15, number_not_operational lineError 34,
// document_error documentConversionError, fax_error faxError, line_error
// lineError, anything else generalError; the message is faxgate's. No error
// is all null.
func phaxioError(d *wire.EventData) (typ *string, id *int, msg *string) {
	e := d.Error
	if e == nil {
		return nil, nil, nil
	}
	t, ok := phaxioType(e.CarrierType)
	var n *int
	if d.Provider == "phaxio" || d.Provider == "sinch" {
		if v, err := strconv.Atoi(e.CarrierCode); err == nil {
			n = &v
		}
	}
	code := func(v int) *int { return &v }
	var mappedType string
	var mappedID *int
	switch e.Code {
	case fax.FailBusy:
		mappedType, mappedID = "lineError", code(17)
	case fax.FailNoAnswer:
		mappedType, mappedID = "lineError", code(16)
	case fax.FailCongestion:
		mappedType, mappedID = "lineError", code(15)
	case fax.FailNotOperational:
		mappedType, mappedID = "lineError", code(34)
	case fax.FailDocument:
		mappedType = "documentConversionError"
	case fax.FailFax:
		mappedType = "faxError"
	case fax.FailLine:
		mappedType = "lineError"
	default:
		mappedType = "generalError"
	}
	if !ok {
		t = mappedType
	}
	if n == nil {
		n = mappedID
	}
	m := e.CarrierMessage
	if m == "" {
		m = e.Message
	}
	return &t, n, nullable(m)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// formFile is a file part of a form body.
type formFile struct {
	name, filename, contentType string
	data                        []byte
}

// multipartForm encodes fields, then file if any, as multipart/form-data.
// The boundary is derived from the content, so the same event renders to the
// same bytes on every attempt (a receiver can compare raw bodies, and the
// Standard Webhooks signature covers the same message), and it cannot occur
// in a part: a part would have to contain its own hash.
func multipartForm(fields []formField, file *formFile) (body []byte, contentType string, err error) {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(f.name))
		h.Write([]byte{0})
		h.Write([]byte(f.value))
		h.Write([]byte{0})
	}
	if file != nil {
		h.Write([]byte(file.name))
		h.Write([]byte{0})
		h.Write(file.data)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary("faxgate-" + hex.EncodeToString(h.Sum(nil))[:40]); err != nil {
		return nil, "", err
	}
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			return nil, "", err
		}
	}
	if file != nil {
		ph := textproto.MIMEHeader{}
		ph.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": file.name, "filename": file.filename}))
		ph.Set("Content-Type", file.contentType)
		w, err := mw.CreatePart(ph)
		if err != nil {
			return nil, "", err
		}
		if _, err := w.Write(file.data); err != nil {
			return nil, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return b.Bytes(), mw.FormDataContentType(), nil
}

// signingURL is the endpoint URL as the user registered it, which is what a
// Phaxio receiver signs with, less the parts never sent: the userinfo (sent
// as Basic auth) and the fragment. The rest is kept byte for byte rather than
// re-encoded.
func signingURL(raw string) string {
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		rest = rest[at+1:]
	}
	return scheme + "://" + rest
}
