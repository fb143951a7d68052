package webhook

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/faxgate/faxgate/internal/email"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

// Mailer sends one email; *email.Sender is the production one. Its errors
// are recorded in the attempt as they are, so they must not carry
// credentials. An error with a Permanent() bool method that reports true (a
// 5xx refusal of the message, sender or a recipient) fails the delivery at
// once; any other error is retried on the schedule.
type Mailer interface {
	Send(ctx context.Context, to []string, subject, text, html string, att []email.Attachment) error
}

// Email delivery limits.
const (
	// DefaultEmailTimeout bounds one email attempt: reading the document and
	// the whole SMTP conversation. Like the HTTP client's timeout, twice it
	// (a wait for a worker, then the attempt) stays under the default lease.
	DefaultEmailTimeout = 25 * time.Second
	// maxEmailAttachment is the largest PDF attached to an email. Base64
	// makes it a third larger, which stays under the 25 MB most mail
	// systems accept.
	maxEmailAttachment = 15 << 20
	// maxMailtoAddresses matches the API's limit on a mailto: endpoint.
	maxMailtoAddresses = 10
	// smtpOK is the status code an accepted email records: SMTP's 250.
	smtpOK = 250
)

// errEmailNotConfigured is the attempt error of a mailto: delivery when the
// worker has no Mailer.
const errEmailNotConfigured = "email is not configured: set FAXGATE_SMTP_URL"

// isMailto reports whether an endpoint URL is delivered by email.
func isMailto(raw string) bool {
	return len(raw) >= len("mailto:") && strings.EqualFold(raw[:len("mailto:")], "mailto:")
}

// mailtoAddresses reads the addresses of mailto:a@x.example[,b@y.example].
// Percent-encoding is undone; ?headers are ignored (the API refuses them).
// The error is an *fax.Error that does not repeat the addresses.
func mailtoAddresses(raw string) ([]string, error) {
	rest := raw[len("mailto:"):]
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	var out []string
	for _, a := range strings.Split(rest, ",") {
		if u, err := url.PathUnescape(a); err == nil {
			a = u
		}
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		addr, err := mail.ParseAddress(a)
		if err != nil || strings.ContainsAny(addr.Address, "\r\n") {
			return nil, fax.Errorf(fax.ECodeInvalid, "mailto: URL holds an address that is not valid")
		}
		out = append(out, addr.Address)
	}
	if len(out) == 0 || len(out) > maxMailtoAddresses {
		return nil, fax.Errorf(fax.ECodeInvalid, "mailto: URL needs 1 to %d addresses", maxMailtoAddresses)
	}
	return out, nil
}

// sendEmail makes the attempt of a mailto: endpoint: one email per event,
// whatever the endpoint's format. The attempt records StatusCode 250 when
// the relay took the message and 0 otherwise, with the error's text.
func (w *Worker) sendEmail(ctx context.Context, job *fax.DeliveryJob, now time.Time) outcome {
	out := outcome{attempt: fax.Attempt{At: now}}
	if w.opts.Email == nil {
		out.attempt.Error = errEmailNotConfigured
		out.permanent = true
		return out
	}
	to, err := mailtoAddresses(job.Endpoint.URL)
	if err != nil {
		out.attempt.Error = fax.ErrorMessage(err)
		out.permanent = true
		return out
	}
	msg, err := renderEmail(job)
	if err != nil {
		out.attempt.Error = fax.ErrorMessage(err)
		out.permanent = true
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultEmailTimeout)
	defer cancel()
	start := time.Now()
	var atts []email.Attachment
	if msg.attachFaxID != "" && w.attachPDF() && w.opts.Document != nil {
		att, note, err := w.document(ctx, msg.attachFaxID)
		if err != nil {
			out.attempt.LatencyMS = time.Since(start).Milliseconds()
			out.attempt.Error = "the received fax's document could not be read; will retry"
			out.logError = "document: " + fax.ErrorCode(err)
			return out
		}
		if att != nil {
			atts = append(atts, *att)
		}
		msg.addNote(note)
	}
	err = w.opts.Email.Send(ctx, to, msg.subject, msg.text(), msg.html(), atts)
	out.attempt.LatencyMS = time.Since(start).Milliseconds()
	if err != nil {
		out.attempt.Error = emailErrorText(err)
		out.logError = emailLogText(err)
		var p interface{ Permanent() bool }
		out.permanent = errors.As(err, &p) && p.Permanent()
		return out
	}
	out.attempt.StatusCode = smtpOK
	out.delivered = true
	return out
}

// attachPDF reports whether received faxes' emails carry the PDF.
func (w *Worker) attachPDF() bool {
	return w.opts.EmailAttachPDF == nil || *w.opts.EmailAttachPDF
}

// document reads a received fax's PDF for its email. A document that is gone
// (not_found or gone: purged by retention) or too large gives no attachment
// and a note saying why; any other error is returned, and the attempt is
// retried.
func (w *Worker) document(ctx context.Context, faxID string) (*email.Attachment, string, error) {
	pdf, stored, err := w.storedDocument(ctx, faxID)
	if err != nil {
		return nil, "", err
	}
	if !stored {
		return nil, "The document is no longer stored, so it is not attached.", nil
	}
	if len(pdf) > maxEmailAttachment {
		return nil, fmt.Sprintf("The document (%.1f MB) is too large to attach; download it with GET /v1/faxes/%s/document.", float64(len(pdf))/(1<<20), faxID), nil
	}
	return &email.Attachment{Name: faxID + ".pdf", ContentType: "application/pdf", Data: pdf}, "", nil
}

// storedDocument reads a fax's PDF through Document for an email or a
// webhook to carry. stored is false when it is gone (not_found or gone:
// purged by retention), which sends the message without it; any other
// error is returned, and the attempt is retried.
func (w *Worker) storedDocument(ctx context.Context, faxID string) (pdf []byte, stored bool, err error) {
	pdf, err = w.opts.Document(ctx, faxID)
	switch code := fax.ErrorCode(err); {
	case err == nil:
		return pdf, true, nil
	case code == fax.ECodeNotFound || code == fax.ECodeGone:
		return nil, false, nil
	default:
		return nil, false, err
	}
}

// emailErrorText is an email failure as the attempt records it: one line,
// bounded. The Mailer's errors hold no credentials.
func emailErrorText(err error) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(err.Error(), "\uFFFD")), " ")
	if len(s) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// emailLogText is an email failure as the log shows it: the step and the
// relay's code, never its text, which may name the recipient.
func emailLogText(err error) string {
	var e *email.Error
	if errors.As(err, &e) {
		if e.Code != 0 {
			return "email: " + e.Op + ": " + strconv.Itoa(e.Code)
		}
		return "email: " + e.Op + ": " + e.Message
	}
	return "email: send failed"
}

// emailRow is one labelled value of an email.
type emailRow struct{ label, value string }

// emailMessage is an event rendered for people: the full numbers are in the
// heading and rows; the subject, which shows on lock screens and in
// notification previews, has them masked to the last four digits.
type emailMessage struct {
	subject     string
	heading     string
	rows        []emailRow
	notes       []string
	footer      string
	attachFaxID string // the fax whose PDF to attach, if any
}

func (m *emailMessage) addNote(n string) {
	if n != "" {
		m.notes = append(m.notes, n)
	}
}

// renderEmail renders the email of job's event. Data that cannot be read is
// an *fax.Error, permanent.
func renderEmail(job *fax.DeliveryJob) (*emailMessage, error) {
	ev := job.Event
	m := &emailMessage{
		footer: fmt.Sprintf("Event %s (%s) at %s. Sent by faxgate to the webhook endpoint %s.",
			ev.Type, ev.ID, ev.CreatedAt.UTC().Format(createdAtLayout), job.Endpoint.ID),
	}
	if !aboutFax(ev.Type) {
		fields, err := scalarFields(ev)
		if err != nil {
			return nil, err
		}
		m.heading = describe(ev.Type, nil, keep)
		m.subject = m.heading
		for _, f := range fields {
			m.rows = append(m.rows, emailRow{label(f[0]), f[1]})
		}
		return m, nil
	}
	d, err := faxData(ev)
	if err != nil {
		return nil, err
	}
	m.heading = describe(ev.Type, &d, keep)
	m.subject = describe(ev.Type, &d, maskNumber)
	m.rows = faxRows(ev.Type, &d)
	if ev.Type == fax.EventFaxReceived && d.ID != "" {
		if d.DocumentPurged {
			m.addNote("The document is no longer stored, so it is not attached.")
		} else {
			m.attachFaxID = d.ID
		}
	}
	return m, nil
}

func keep(n string) string {
	if n == "" {
		return "an unknown number"
	}
	return n
}

// maskNumber keeps the last four digits of a phone number.
func maskNumber(n string) string {
	if n == "" {
		return "an unknown number"
	}
	if len(n) <= 4 {
		return "…" + n
	}
	return "…" + n[len(n)-4:]
}

// describe is the one-line summary of an event, numbers shown by number.
func describe(t fax.EventType, d *wire.EventData, number func(string) string) string {
	if d == nil {
		switch t {
		case fax.EventEndpointTest:
			return "Test email from faxgate"
		case fax.EventEndpointDisabled:
			return "A faxgate webhook endpoint was disabled"
		}
		return "faxgate event " + string(t)
	}
	to := number(d.To)
	switch t {
	case fax.EventFaxSent:
		return "Fax sent to " + to
	case fax.EventFaxFailed:
		return "Fax to " + to + " failed"
	case fax.EventFaxCanceled:
		return "Fax to " + to + " canceled"
	case fax.EventFaxQueued:
		return "Fax to " + to + " queued"
	case fax.EventFaxSending:
		return "Sending fax to " + to
	case fax.EventFaxPageSent:
		s := fmt.Sprintf("Fax to %s: page %d", to, d.Page)
		if d.Pages > 0 {
			s += fmt.Sprintf(" of %d", d.Pages)
		}
		return s + " sent"
	case fax.EventFaxRetryScheduled:
		return fmt.Sprintf("Fax to %s: retry %d scheduled", to, d.RetryCount)
	case fax.EventFaxReceived:
		prefix := "Fax received"
		if d.Status == string(fax.StatusPartial) {
			prefix = "Partial fax received"
		}
		if d.From == "" {
			return prefix + " on " + to
		}
		return prefix + " from " + number(d.From)
	case fax.EventFaxReceiving:
		if d.From == "" {
			return "Fax coming in on " + to
		}
		return "Fax coming in from " + number(d.From)
	case fax.EventSMSSent:
		return "SMS sent to " + to
	case fax.EventSMSFailed:
		return "SMS to " + to + " failed"
	}
	return "faxgate event " + string(t) + " about a fax to " + to
}

// faxRows lists the fax's fields that have a value.
func faxRows(t fax.EventType, d *wire.EventData) []emailRow {
	var rows []emailRow
	add := func(label, value string) {
		if value != "" {
			rows = append(rows, emailRow{label, value})
		}
	}
	idLabel := "Fax ID"
	if strings.HasPrefix(string(t), "sms.") {
		idLabel = "SMS ID"
	}
	add(idLabel, d.ID)
	add("Status", d.Status)
	add("Direction", d.Direction)
	add("From", d.From)
	add("To", d.To)
	if d.Pages > 0 {
		add("Pages", strconv.Itoa(d.Pages))
	}
	if t == fax.EventFaxPageSent {
		add("Page sent", strconv.Itoa(d.Page))
	}
	if t == fax.EventFaxRetryScheduled {
		add("Retry", strconv.Itoa(d.RetryCount))
	}
	add("Carrier", d.Provider)
	if d.ProviderFaxID != nil {
		add("Carrier's fax ID", *d.ProviderFaxID)
	}
	add("Station ID", d.StationID)
	add("Caller ID", d.CallerID)
	if d.DurationSeconds > 0 {
		add("Transmission time", strconv.Itoa(d.DurationSeconds)+" s")
	}
	if d.BitRate > 0 {
		add("Speed", strconv.Itoa(d.BitRate)+" bit/s")
	}
	if e := d.Error; e != nil {
		msg := e.Message
		if e.Code != "" {
			msg = strings.TrimSpace(msg + " (" + e.Code + ")")
		}
		add("Error", msg)
		var carrier []string
		for _, s := range []string{e.CarrierType, e.CarrierCode, e.CarrierMessage} {
			if s != "" {
				carrier = append(carrier, s)
			}
		}
		add("Carrier's error", strings.Join(carrier, " "))
	}
	add("Created", d.CreatedAt)
	if d.CompletedAt != nil {
		add("Completed", *d.CompletedAt)
	}
	return rows
}

// label turns a data field name (endpoint_id) into a label (Endpoint id).
func label(name string) string {
	s := strings.ReplaceAll(name, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// text renders the plain-text body.
func (m *emailMessage) text() string {
	var b strings.Builder
	b.WriteString(m.heading)
	b.WriteString("\n\n")
	width := 0
	for _, r := range m.rows {
		width = max(width, utf8.RuneCountInString(r.label))
	}
	for _, r := range m.rows {
		b.WriteString(r.label)
		b.WriteString(":")
		b.WriteString(strings.Repeat(" ", width-utf8.RuneCountInString(r.label)+1))
		b.WriteString(oneLine(r.value))
		b.WriteByte('\n')
	}
	for _, n := range m.notes {
		b.WriteByte('\n')
		b.WriteString(n)
		b.WriteByte('\n')
	}
	b.WriteString("\n-- \n")
	b.WriteString(m.footer)
	b.WriteByte('\n')
	return b.String()
}

// html renders the HTML body; every value is escaped.
func (m *emailMessage) html() string {
	var b strings.Builder
	e := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>")
	b.WriteString(e(m.heading))
	b.WriteString("</title></head>\n<body style=\"font-family: sans-serif\">\n<h2>")
	b.WriteString(e(m.heading))
	b.WriteString("</h2>\n<table cellpadding=\"4\" style=\"border-collapse: collapse\">\n")
	for _, r := range m.rows {
		b.WriteString("<tr><th align=\"left\">")
		b.WriteString(e(r.label))
		b.WriteString("</th><td>")
		b.WriteString(e(oneLine(r.value)))
		b.WriteString("</td></tr>\n")
	}
	b.WriteString("</table>\n")
	for _, n := range m.notes {
		b.WriteString("<p>")
		b.WriteString(e(n))
		b.WriteString("</p>\n")
	}
	b.WriteString("<p style=\"color: #666; font-size: small\">")
	b.WriteString(e(m.footer))
	b.WriteString("</p>\n</body></html>\n")
	return b.String()
}

// oneLine keeps a value on its line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
