package sinch

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// Sinch's webhook events.
const (
	eventCompleted = "FAX_COMPLETED"
	eventIncoming  = "INCOMING_FAX"
)

// Bounds on what faxgate keeps from a webhook.
const (
	maxCount  = 100000 // pages
	maxIDLen  = 128
	maxURLLen = 2048
)

// ParseCallback reads a FAX_COMPLETED webhook for a fax faxgate sent, posted
// to /sinch-callback?job_id=<fax id>, as multipart (event, eventTime, fax
// parts), JSON ({event, eventTime, fax, file or files}) or a flat JSON fax
// object. It gives one UpdateStatus: COMPLETED → sent, FAILURE → failed with
// the carrier's error, IN_PROGRESS → sending. QUEUED, unknown statuses and
// other events give no update, so the webhook is acknowledged and changes
// nothing. Errors are *fax.Error with code invalid naming what is wrong.
func (p *Provider) ParseCallback(r *http.Request, body []byte) ([]fax.Update, error) {
	faxID := strings.TrimSpace(r.URL.Query().Get("job_id"))
	if faxID == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "query parameter job_id is required")
	}
	if !validID(faxID) {
		return nil, fax.Errorf(fax.ECodeInvalid, "query parameter job_id is not a valid id")
	}
	ev, err := readEvent(r, body)
	if err != nil {
		return nil, err
	}
	event := ev.event(eventCompleted)
	if event != eventCompleted {
		return nil, nil
	}
	u, status, err := ev.update(faxID)
	if err != nil {
		return nil, err
	}
	if status == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "field fax.status is missing")
	}
	st, ok := outboundStatus(status)
	if !ok {
		return nil, nil
	}
	u.Status = st
	if st == fax.StatusFailed {
		u.Failure = ev.failure()
	}
	u.Kind = fax.UpdateStatus
	id := u.ProviderFaxID
	if id == "" {
		id = "job=" + faxID
	}
	u.EventKey = eventKey(id, event, status)
	return []fax.Update{u}, nil
}

// outboundStatus maps a sent fax's Sinch status (upper case) to faxgate's;
// ok is false for statuses that say nothing faxgate records (QUEUED).
func outboundStatus(status string) (fax.Status, bool) {
	switch status {
	case "COMPLETED", "SUCCESS", "SENT":
		return fax.StatusSent, true
	case "FAILURE", "FAILED":
		return fax.StatusFailed, true
	case "IN_PROGRESS", "INPROGRESS":
		return fax.StatusSending, true
	}
	return "", false
}

// ParseInbound reads an INCOMING_FAX webhook posted to /sinch-inbound, in
// the same shapes as ParseCallback (including the simplified flat shape
// with num_pages, status "received" and file_url), into one UpdateInbound.
//
// COMPLETED, received (or no status) is received, or partial when
// pagesSentSuccessfully is above zero but below numberOfPages; FAILURE is
// partial, because part of a fax may have arrived and an inbound fax must not
// be lost. The document is the file part or base64 file, else file_url,
// else the Sinch fax id to fetch through the API (Document.FetchID).
//
// A sender number without digits (a withheld caller id) is recorded as "";
// a receiving number is required. Faxes whose direction is OUTBOUND and
// statuses that are not final give no update.
func (p *Provider) ParseInbound(r *http.Request, body []byte) ([]fax.Update, error) {
	ev, err := readEvent(r, body)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(ev.Fax.Direction.String(), "OUTBOUND") {
		return nil, nil
	}
	u, status, err := ev.update("")
	if err != nil {
		return nil, err
	}
	if u.ProviderFaxID == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "field fax.id is missing")
	}
	switch status {
	case "", "COMPLETED", "RECEIVED", "SUCCESS":
		u.Status = fax.StatusReceived
		sent, err := count("fax.pagesSentSuccessfully", ev.Fax.PagesSentSuccessfully.String())
		if err != nil {
			return nil, err
		}
		if sent > 0 && sent < u.Pages {
			u.Status = fax.StatusPartial
		}
	case "FAILURE", "FAILED", "PARTIAL":
		u.Status = fax.StatusPartial
		u.Failure = ev.failure()
	default:
		return nil, nil
	}
	if u.From, err = number("fax.from", ev.Fax.From.String(), false); err != nil {
		return nil, err
	}
	// Sinch reports no station id or line speed; its from is the caller id
	// as given, kept also when it is not a usable number.
	u.Details = carrier.Details("", carrier.CallerID(ev.Fax.From.String(), u.From), "", "")
	if u.To, err = number("fax.to", ev.Fax.To.String(), true); err != nil {
		return nil, err
	}
	fileURL, field := ev.Fax.FileURL.String(), "fax.file_url"
	if fileURL == "" {
		fileURL, field = ev.Fax.FileURLCamel.String(), "fax.fileUrl"
	}
	switch {
	case len(ev.Document) > 0:
		u.Document = &fax.InboundDocument{Bytes: ev.Document}
	case fileURL != "":
		if err := checkURL(field, fileURL); err != nil {
			return nil, err
		}
		u.Document = &fax.InboundDocument{URL: fileURL}
	default:
		u.Document = &fax.InboundDocument{FetchID: u.ProviderFaxID}
	}
	u.Kind = fax.UpdateInbound
	u.EventKey = eventKey(u.ProviderFaxID, ev.event(eventIncoming), status)
	return []fax.Update{u}, nil
}

// event is the event name in upper case, def when the body has none.
func (e *wireEvent) event(def string) string {
	if s := strings.ToUpper(e.Event.String()); s != "" {
		return s
	}
	return def
}

// update fills the fields both directions share and returns the status in
// upper case.
func (e *wireEvent) update(faxID string) (fax.Update, string, error) {
	u := fax.Update{
		Provider:      Name,
		FaxID:         faxID,
		ProviderFaxID: e.Fax.ID.String(),
		OccurredAt:    parseTime(e.Fax.CompletedTime.String()),
	}
	if u.OccurredAt.IsZero() {
		u.OccurredAt = parseTime(e.EventTime.String())
	}
	if u.ProviderFaxID != "" && !validID(u.ProviderFaxID) {
		return u, "", fax.Errorf(fax.ECodeInvalid, "field fax.id is not a valid id")
	}
	pages, field := e.Fax.NumberOfPages.String(), "fax.numberOfPages"
	if pages == "" {
		pages, field = e.Fax.NumPages.String(), "fax.num_pages"
	}
	var err error
	if u.Pages, err = count(field, pages); err != nil {
		return u, "", err
	}
	return u, strings.ToUpper(e.Fax.Status.String()), nil
}

// failure describes the fax's error; without error fields it is a generic
// carrier error.
func (e *wireEvent) failure() *fax.Failure {
	return newFailure(e.Fax.ErrorType.String(), e.Fax.ErrorCode.String(), e.Fax.ErrorMessage.String())
}

func eventKey(id, event, status string) string {
	return "sinch:" + id + ":" + event + ":" + status
}

// count parses a non-negative whole number; "" is 0.
func count(field, s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > maxCount {
		return 0, fax.Errorf(fax.ECodeInvalid, "field %s must be a whole number from 0 to %d", field, maxCount)
	}
	return n, nil
}

// number parses a phone number in E.164 form. When not required, a value
// without digits (a withheld caller id such as "anonymous") gives "".
func number(field, s string, required bool) (string, error) {
	if s == "" {
		if required {
			return "", fax.Errorf(fax.ECodeInvalid, "field %s is missing", field)
		}
		return "", nil
	}
	n, err := fax.ParseLooseNumber(s)
	if err == nil {
		return string(n), nil
	}
	if !required && !strings.ContainsAny(s, "0123456789") {
		return "", nil
	}
	return "", fax.Errorf(fax.ECodeInvalid, "field %s is not a valid phone number: %s", field, fax.ErrorMessage(err))
}

func checkURL(field, s string) error {
	if len(s) > maxURLLen {
		return fax.Errorf(fax.ECodeInvalid, "field %s is longer than %d bytes", field, maxURLLen)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fax.Errorf(fax.ECodeInvalid, "field %s must be an absolute http(s) URL without credentials", field)
	}
	return nil
}

// validID reports whether s is a plausible id: short and printable ASCII.
func validID(s string) bool {
	if len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// parseTime reads Sinch's RFC 3339 timestamps, returning UTC. Other forms
// give the zero time, so that ingest uses the time of arrival instead.
func parseTime(s string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}
