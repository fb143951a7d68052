package webhook

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// buildGoFax renders the "gofax" format: the form fields GoFax posts (see
// gofaxFields) as an application/x-www-form-urlencoded body, signed with the
// Standard Webhooks headers. When the endpoint URL already has a query, the
// same fields are also appended after it, as GoFax documents ("appended after
// any query parameters already in the URL"), so a receiver reading either the
// query (the URL's own parameters then the event's) or the body finds them;
// a URL without a query gets them in the body only. GoFax has no signature of
// its own: Basic auth from the URL's userinfo is its authentication.
func buildGoFax(ctx context.Context, job *fax.DeliveryJob, target *url.URL, now time.Time, _ []byte) (*http.Request, error) {
	fields, err := gofaxFields(job.Event)
	if err != nil {
		return nil, err
	}
	body := []byte(encodeForm(fields))
	u := *target
	if u.RawQuery != "" {
		u.RawQuery += "&" + string(body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fax.Errorf(fax.ECodeInvalid, "endpoint URL is not valid")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := SetHeaders(req.Header, job.Endpoint.Secrets(now), job.Event.ID, now, body); err != nil {
		return nil, err
	}
	return req, nil
}

// gofaxFields are the fields of ev in GoFax's webhook shapes, in GoFax's
// order, numbers in E.164 without the plus as GoFax writes them:
//
//   - fax.sent, fax.failed, fax.canceled: Recipient, ID (faxgate's fax id),
//     Success (True|False), Message (what happened, in words), Subject
//     (empty: faxgate faxes have none);
//   - fax.received: FaxID, Number (the receiving number), Message (COMPLETE,
//     or INCOMPLETE for a partial fax), SenderFaxID (the sender's station
//     id, empty when the carrier did not report it), SenderISDNID (the
//     caller's number), NumberOfPages, then TransmissionTime (seconds) and
//     TransmissionSpeed (bits per second) when the carrier reported them;
//   - sms.sent, sms.failed: Recipient, ID, Success, Message.
//
// Inflight events have no GoFax shape (the API refuses inflight endpoints in
// this format): they are an *fax.Error, so such a delivery fails at once.
// Events that are not about a fax (webhook.test, webhook.endpoint_disabled)
// are sent as Event (faxgate's type), ID (the event id) and the event data's
// fields, so the test button works.
func gofaxFields(ev fax.Event) ([]formField, error) {
	if ev.Type.Inflight() {
		return nil, fax.Errorf(fax.ECodeInvalid, "gofax format has no inflight events")
	}
	if !aboutFax(ev.Type) {
		extra, err := scalarFields(ev)
		if err != nil {
			return nil, err
		}
		fields := []formField{{"Event", string(ev.Type)}, {"ID", ev.ID}}
		for _, f := range extra {
			fields = append(fields, formField{f[0], f[1]})
		}
		return fields, nil
	}
	d, err := faxData(ev)
	if err != nil {
		return nil, err
	}
	switch ev.Type {
	case fax.EventFaxReceived:
		msg := "COMPLETE"
		if d.Status == string(fax.StatusPartial) {
			msg = "INCOMPLETE"
		}
		fields := []formField{
			{"FaxID", d.ID},
			{"Number", withoutPlus(d.To)},
			{"Message", msg},
			{"SenderFaxID", d.StationID},
			{"SenderISDNID", withoutPlus(d.From)},
		}
		if d.DurationSeconds > 0 {
			fields = append(fields, formField{"TransmissionTime", strconv.Itoa(d.DurationSeconds)})
		}
		fields = append(fields, formField{"NumberOfPages", strconv.Itoa(d.Pages)})
		if d.BitRate > 0 {
			fields = append(fields, formField{"TransmissionSpeed", strconv.Itoa(d.BitRate)})
		}
		return fields, nil
	case fax.EventFaxSent, fax.EventFaxFailed, fax.EventFaxCanceled:
		ok := ev.Type == fax.EventFaxSent
		return []formField{
			{"Recipient", withoutPlus(d.To)},
			{"ID", d.ID},
			{"Success", gofaxBool(ok)},
			{"Message", gofaxMessage(ev.Type, &d)},
			{"Subject", ""},
		}, nil
	case fax.EventSMSSent, fax.EventSMSFailed:
		ok := ev.Type == fax.EventSMSSent
		return []formField{
			{"Recipient", withoutPlus(d.To)},
			{"ID", d.ID},
			{"Success", gofaxBool(ok)},
			{"Message", gofaxMessage(ev.Type, &d)},
		}, nil
	}
	return nil, fax.Errorf(fax.ECodeInvalid, "the gofax format has no %s event", ev.Type)
}

// gofaxBool is how GoFax writes booleans: .NET's True and False.
func gofaxBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// gofaxMessage is the human status GoFax puts in Message: its own wording
// for success, faxgate's error message for a failure.
func gofaxMessage(t fax.EventType, d *wire.EventData) string {
	switch t {
	case fax.EventFaxSent:
		return "Fax successfully sent"
	case fax.EventSMSSent:
		return "Message successfully delivered"
	case fax.EventFaxCanceled:
		return "Fax canceled"
	}
	if d.Error != nil && d.Error.Message != "" {
		return d.Error.Message
	}
	if t == fax.EventSMSFailed {
		return "Message failed"
	}
	return "Fax failed"
}

// encodeForm encodes fields in their order, unlike url.Values.Encode which
// sorts them.
func encodeForm(fields []formField) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(f.name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(f.value))
	}
	return b.String()
}
