package phaxio

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// Event types Phaxio names in the event_type field.
const (
	eventCompleted = "fax_completed"
	eventPage      = "transmitting_page"
	eventRetry     = "retry_scheduled"
)

// maxCount bounds page and retry counts; anything larger is not a fax.
const maxCount = 100000

// ParseCallback reads a status webhook for a fax faxgate sent, posted to
// /phaxio-callback?job_id=<fax id>, in any shape Phaxio or a relay sends:
// multipart with a JSON "fax" field (with or without the legacy fields),
// urlencoded fax[name] or plain name fields, or JSON.
//
// fax_completed (or no event_type) gives an UpdateStatus: success → sent,
// failure and partialsuccess → failed (a faxgate fax has one recipient, so a
// partial success did not reach it whole), inprogress → sending. queued and
// pendingbatch, unknown statuses and unknown event types give no update, so
// the webhook is acknowledged and changes nothing. transmitting_page gives an
// UpdatePage and retry_scheduled an UpdateRetry.
//
// Errors are *fax.Error with code invalid naming what is wrong.
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
	if id := ev.Fax.ID.String(); id != "" && !validID(id) {
		return nil, fax.Errorf(fax.ECodeInvalid, "field fax.id is not a valid id")
	}
	u := fax.Update{
		Provider:      Name,
		FaxID:         faxID,
		ProviderFaxID: ev.Fax.ID.String(),
		OccurredAt:    parseTime(ev.Fax.CompletedAt.String()),
	}
	if u.Pages, err = count("fax.num_pages", ev.Fax.NumPages.String(), false, 0); err != nil {
		return nil, err
	}
	status := ev.status()
	eventType := ev.eventType()
	switch eventType {
	case eventPage:
		u.Kind = fax.UpdatePage
		if u.Page, err = count("page", ev.Page.String(), true, 1); err != nil {
			return nil, err
		}
	case eventRetry:
		u.Kind = fax.UpdateRetry
		rc := ev.RetryCount.String()
		if rc == "" && len(ev.Fax.Recipients) > 0 {
			rc = ev.Fax.Recipients[0].RetryCount.String()
		}
		if u.RetryCount, err = count("retry_count", rc, true, 0); err != nil {
			return nil, err
		}
		u.Failure = ev.failure(false)
	case eventCompleted:
		if status == "" {
			return nil, fax.Errorf(fax.ECodeInvalid, "field fax.status is missing")
		}
		st, ok := outboundStatus(status)
		if !ok {
			return nil, nil
		}
		u.Kind, u.Status = fax.UpdateStatus, st
		if st == fax.StatusFailed {
			u.Failure = ev.failure(true)
		}
		if len(ev.Fax.Recipients) > 0 {
			// The speed the one recipient's call negotiated.
			u.Details.BitRate = int(ev.Fax.Recipients[0].Bitrate)
		}
	default:
		return nil, nil
	}
	id := u.ProviderFaxID
	if id == "" {
		id = "job=" + faxID
	}
	u.EventKey = eventKey(id, eventType, status, u.Page, u.RetryCount)
	return []fax.Update{u}, nil
}

// ParseInbound reads a received-fax webhook posted to /phaxio-inbound into
// one UpdateInbound. Status success or received (or none) is received;
// partialsuccess and failure are partial, because part of a fax may have
// arrived and an inbound fax must not be lost. The document is the file part
// named "file" if present and not empty, else the fax's file_url, else the
// Phaxio fax id to fetch through the API (Document.FetchID).
//
// A sender number that is missing or has no digits at all (a withheld
// caller id such as "anonymous") is recorded as ""; a receiving number is
// required. Sent faxes (an account webhook URL shared by both
// directions), inflight event types and statuses that are not final give no
// update.
func (p *Provider) ParseInbound(r *http.Request, body []byte) ([]fax.Update, error) {
	ev, err := readEvent(r, body)
	if err != nil {
		return nil, err
	}
	eventType := ev.eventType()
	if eventType == eventPage || eventType == eventRetry || ev.direction() == "sent" {
		return nil, nil
	}
	u := fax.Update{
		Provider:      Name,
		Kind:          fax.UpdateInbound,
		ProviderFaxID: ev.Fax.ID.String(),
		OccurredAt:    parseTime(ev.Fax.CompletedAt.String()),
	}
	if u.ProviderFaxID == "" {
		return nil, fax.Errorf(fax.ECodeInvalid, "field fax.id is missing")
	}
	if !validID(u.ProviderFaxID) {
		return nil, fax.Errorf(fax.ECodeInvalid, "field fax.id is not a valid id")
	}
	status := ev.status()
	switch status {
	case "", "success", "received", "completed":
		u.Status = fax.StatusReceived
	case "partialsuccess", "failure", "partial", "failed":
		u.Status = fax.StatusPartial
		u.Failure = ev.failure(status != "partialsuccess" && status != "partial")
	default:
		return nil, nil
	}
	if u.Pages, err = count("fax.num_pages", ev.Fax.NumPages.String(), false, 0); err != nil {
		return nil, err
	}
	if u.From, err = number(false, attrOf("fax.from_number", ev.Fax.FromNumber), attrOf("fax.from", ev.Fax.From), attrOf("fax.caller_id", ev.Fax.CallerID)); err != nil {
		return nil, err
	}
	if u.To, err = number(true, attrOf("fax.to_number", ev.Fax.ToNumber), attrOf("fax.to", ev.Fax.To)); err != nil {
		return nil, err
	}
	// caller_id as given: From keeps only a usable number, this keeps
	// "anonymous" and names too.
	u.Details = carrier.Details("", carrier.CallerID(ev.Fax.CallerID.String(), u.From), "", "")
	switch fileURL := firstOf(ev.Fax.FileURL.String(), ev.FileURL.String()); {
	case len(ev.File) > 0:
		u.Document = &fax.InboundDocument{Bytes: ev.File}
	case fileURL != "":
		if len(fileURL) > maxURLLen {
			return nil, fax.Errorf(fax.ECodeInvalid, "field fax.file_url is longer than %d bytes", maxURLLen)
		}
		if _, err := absoluteURL(fileURL); err != nil {
			return nil, fax.Errorf(fax.ECodeInvalid, "field fax.file_url %s", err)
		}
		u.Document = &fax.InboundDocument{URL: fileURL}
	default:
		u.Document = &fax.InboundDocument{FetchID: u.ProviderFaxID}
	}
	u.EventKey = eventKey(u.ProviderFaxID, eventType, status, 0, 0)
	return []fax.Update{u}, nil
}

// eventType is the event type in lower case; bodies without one (legacy and
// relayed webhooks) report a completed fax.
func (e *wireEvent) eventType() string {
	if t := strings.ToLower(e.EventType.String()); t != "" {
		return t
	}
	return eventCompleted
}

// direction is the fax's direction in lower case, from the fax object or
// the legacy field.
func (e *wireEvent) direction() string {
	if d := strings.ToLower(e.Fax.Direction.String()); d != "" {
		return d
	}
	return strings.ToLower(e.Direction.String())
}

// status is the fax's status in lower case, or the one the legacy success
// field implies.
func (e *wireEvent) status() string {
	if s := strings.ToLower(e.Fax.Status.String()); s != "" {
		return s
	}
	switch strings.ToLower(e.Success.String()) {
	case "true", "1":
		return "success"
	case "false", "0":
		return "failure"
	}
	return ""
}

// outboundStatus maps a Phaxio fax or recipient status to a sent fax's
// status; ok is false when the status says nothing faxgate records.
func outboundStatus(s string) (st fax.Status, ok bool) {
	switch s {
	case "success":
		return fax.StatusSent, true
	case "failure", "partialsuccess":
		return fax.StatusFailed, true
	case "inprogress", "ringing", "callactive", "willretry":
		return fax.StatusSending, true
	}
	return "", false
}

// failure describes the fax's error from the top-level error fields, else
// from the first recipient that has one. With none it returns a generic
// failure if always is set, else nil.
func (e *wireEvent) failure(always bool) *fax.Failure {
	typ, id, msg := e.Fax.ErrorType.String(), e.Fax.ErrorID.String(), e.Fax.ErrorMessage.String()
	if typ == "" && id == "" && msg == "" {
		for _, r := range e.Fax.Recipients {
			typ, id, msg = r.ErrorType.String(), r.ErrorID.String(), r.ErrorMessage.String()
			if typ != "" || id != "" || msg != "" {
				break
			}
		}
	}
	if typ == "" && id == "" && msg == "" {
		if !always {
			return nil
		}
		msg = e.Message.String()
	}
	return newFailure(typ, id, msg)
}

func eventKey(id, eventType, status string, page, retry int) string {
	return "phaxio:" + id + ":" + eventType + ":" + status + ":" + strconv.Itoa(page) + ":" + strconv.Itoa(retry)
}

// count parses a non-negative whole number at least min; "" is 0 unless
// required.
func count(field, s string, required bool, min int) (int, error) {
	if s == "" {
		if required {
			return 0, fax.Errorf(fax.ECodeInvalid, "field %s is missing", field)
		}
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > maxCount {
		return 0, fax.Errorf(fax.ECodeInvalid, "field %s must be a whole number from %d to %d", field, min, maxCount)
	}
	return n, nil
}

type numberAttr struct {
	field, value string
}

func attrOf(field string, t text) numberAttr { return numberAttr{field, t.String()} }

// number parses the first non-empty of attrs as a phone number in E.164 form.
func number(required bool, attrs ...numberAttr) (string, error) {
	for _, a := range attrs {
		if a.value == "" {
			continue
		}
		n, err := fax.ParseLooseNumber(a.value)
		if err == nil {
			return string(n), nil
		}
		if !required && !strings.ContainsAny(a.value, "0123456789") {
			return "", nil
		}
		return "", fax.Errorf(fax.ECodeInvalid, "field %s is not a valid phone number: %s", a.field, fax.ErrorMessage(err))
	}
	if required {
		return "", fax.Errorf(fax.ECodeInvalid, "field %s is missing", attrs[0].field)
	}
	return "", nil
}

// parseTime reads Phaxio's RFC 3339 timestamps, returning UTC. Other forms
// give the zero time, so that ingest uses the time of arrival instead.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && n < 1<<40 {
		return time.Unix(n, 0).UTC()
	}
	return time.Time{}
}

// maxURLLen bounds a document URL.
const maxURLLen = 2048

// maxIDLen bounds the ids faxgate stores and puts in event keys.
const maxIDLen = 128

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

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
