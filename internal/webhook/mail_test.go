package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/email"
	"github.com/faxgate/faxgate/internal/email/smtptest"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/google/go-cmp/cmp"
)

// fakeMailer records what the worker asks to send and answers err.
type fakeMailer struct {
	mu    sync.Mutex
	calls []mailCall
	err   error
}

type mailCall struct {
	to                  []string
	subject, text, html string
	atts                []email.Attachment
}

func (m *fakeMailer) Send(_ context.Context, to []string, subject, text, html string, atts []email.Attachment) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, mailCall{slices.Clone(to), subject, text, html, slices.Clone(atts)})
	return m.err
}

func (m *fakeMailer) got() []mailCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls)
}

// permanentErr is a Mailer error that says no retry can help.
type permanentErr struct{}

func (permanentErr) Error() string   { return "mailbox unavailable" }
func (permanentErr) Permanent() bool { return true }

// docStore serves PDFs to Options.Document and counts the reads.
type docStore struct {
	mu    sync.Mutex
	docs  map[string][]byte
	err   error
	reads int
}

func (d *docStore) read(_ context.Context, faxID string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads++
	if d.err != nil {
		return nil, d.err
	}
	b, ok := d.docs[faxID]
	if !ok {
		return nil, fax.Errorf(fax.ECodeNotFound, "fax %s has no document", faxID)
	}
	return b, nil
}

// testPDF is a received fax's document.
func testPDF() []byte {
	return append([]byte("%PDF-1.7\r\n.\r\n"), bytes.Repeat([]byte{0, 1, 2, 0xff, '\n'}, 300)...)
}

// TestEmailDeliveryOverSMTP sends a received fax through the real email
// package to a real SMTP server on loopback, over STARTTLS with AUTH, and
// reads the message back as a mail client would.
func TestEmailDeliveryOverSMTP(t *testing.T) {
	serverTLS, pool := smtptest.NewCert(t)
	srv := smtptest.NewServer(t, smtptest.Options{TLS: serverTLS, Users: map[string]string{"relay": "hunter2-pw"}})
	sender, err := email.New(email.Config{URL: srv.URL("smtp", "relay", "hunter2-pw", "starttls=required"),
		From: "faxgate@example.com", TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	var mailer Mailer = sender // *email.Sender is the production Mailer
	docs := &docStore{docs: map[string][]byte{"fax_01JDZ4R0000000000000000000": testPDF()}}
	store, clock := newFakeStore(), newFakeClock()
	store.add(formatJob("dlv_1", "mailto:ops@example.com,night@example.com", fax.FormatJSON,
		faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusReceived), 0, 0)))
	logger, logs := testLogger()
	mustDeliverOnce(t, newTestWorker(store, clock, Options{Email: mailer, Document: docs.read, Logger: logger}), 1)

	d := store.delivery(t, "dlv_1")
	if d.Status != fax.DeliverySucceeded || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 250 || d.Attempts[0].Error != "" {
		t.Fatalf("delivery %s %+v, want succeeded with one attempt, status 250", d.Status, d.Attempts)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("relay got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if !m.TLS || m.User != "relay" || !slices.Equal(m.To, []string{"ops@example.com", "night@example.com"}) {
		t.Errorf("message %v: want TLS, user relay, both recipients", m)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if err != nil || subject != "Fax received from …0000" {
		t.Errorf("Subject = %q (%v), want %q", subject, err, "Fax received from …0000")
	}
	mt, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %s (%v), want multipart/mixed", mt, err)
	}
	mr := multipart.NewReader(parsed.Body, params["boundary"])
	alt, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	_, altParams, _ := mime.ParseMediaType(alt.Header.Get("Content-Type"))
	ar := multipart.NewReader(alt, altParams["boundary"])
	var bodies []string
	for {
		p, err := ar.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // NextPart undoes quoted-printable
		bodies = append(bodies, p.Header.Get("Content-Type")+"\n"+string(b))
	}
	if len(bodies) != 2 || !strings.HasPrefix(bodies[0], "text/plain") || !strings.HasPrefix(bodies[1], "text/html") {
		t.Fatalf("alternatives %q, want text then html", bodies)
	}
	for _, want := range []string{"Fax received from +61299990000", "+61755550123", "fax_01JDZ4R0000000000000000000", "Pages"} {
		if !strings.Contains(bodies[0], want) || !strings.Contains(bodies[1], want) {
			t.Errorf("text or html body lacks %q", want)
		}
	}
	att, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(att)
	if att.FileName() != "fax_01JDZ4R0000000000000000000.pdf" || !strings.HasPrefix(att.Header.Get("Content-Type"), "application/pdf") {
		t.Errorf("attachment %q %q", att.FileName(), att.Header.Get("Content-Type"))
	}
	if decoded, err := decodeBase64(data); err != nil || !bytes.Equal(decoded, testPDF()) {
		t.Errorf("attachment bytes differ (%v)", err)
	}
	out := logs.String()
	for _, secret := range []string{"+61299990000", "+61755550123", "ops@example.com", "hunter2"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q:\n%s", secret, out)
		}
	}
}

func TestEmailSMTPRefusals(t *testing.T) {
	tests := []struct {
		name   string
		code   int
		text   string
		status fax.DeliveryStatus
	}{
		{"550 fails at once", 550, "5.1.1 <ops@example.com>: no such user", fax.DeliveryFailed},
		{"451 is retried", 451, "4.7.1 greylisted", fax.DeliveryPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, smtptest.Options{AuthWithoutTLS: true, Users: map[string]string{"u": "hunter2-pw"},
				Rcpt: func(string) (int, string) { return tt.code, tt.text }})
			sender, err := email.New(email.Config{URL: srv.URL("smtp", "u", "hunter2-pw", ""), From: "faxgate@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			store, clock := newFakeStore(), newFakeClock()
			store.add(formatJob("dlv_1", "mailto:ops@example.com", fax.FormatJSON, faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0)))
			logger, logs := testLogger()
			mustDeliverOnce(t, newTestWorker(store, clock, Options{Email: sender, Logger: logger}), 1)
			d := store.delivery(t, "dlv_1")
			if d.Status != tt.status || len(d.Attempts) != 1 {
				t.Fatalf("delivery %s with %d attempts, want %s with 1", d.Status, len(d.Attempts), tt.status)
			}
			a := d.Attempts[0]
			if a.StatusCode != 0 || !strings.Contains(a.Error, "rcpt to") || !strings.Contains(a.Error, tt.text) || strings.Contains(a.Error, "hunter2") {
				t.Errorf("attempt status %d error %q, want 0 and the relay's reply without credentials", a.StatusCode, a.Error)
			}
			if tt.status == fax.DeliveryPending && (d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(clock.Now().Add(5*time.Minute))) {
				t.Errorf("next attempt %v, want in 5 minutes, on the usual schedule", d.NextAttemptAt)
			}
			if out := logs.String(); strings.Contains(out, "ops@example.com") || strings.Contains(out, "hunter2") {
				t.Errorf("logs name the recipient or the password:\n%s", out)
			}
			if len(srv.Messages()) != 0 {
				t.Error("the relay accepted a message")
			}
		})
	}
}

func TestEmailNotConfigured(t *testing.T) {
	store, clock := newFakeStore(), newFakeClock()
	store.add(formatJob("dlv_1", "MAILTO:ops@example.com", fax.FormatPhaxio, faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0)))
	mustDeliverOnce(t, newTestWorker(store, clock, Options{}), 1)
	d := store.delivery(t, "dlv_1")
	if d.Status != fax.DeliveryFailed || len(d.Attempts) != 1 || d.Attempts[0].Error != "email is not configured: set FAXGATE_SMTP_URL" {
		t.Errorf("delivery %s %+v, want failed: email is not configured", d.Status, d.Attempts)
	}
}

func TestEmailAttachments(t *testing.T) {
	received := faxEvent(t, fax.EventFaxReceived, inboundFax(fax.StatusReceived), 0, 0)
	no := false
	tests := []struct {
		name     string
		opts     func(*Options, *docStore)
		docs     *docStore
		ev       fax.Event
		attached bool
		reads    int
		note     string
		status   fax.DeliveryStatus
	}{
		{name: "attached by default", docs: &docStore{docs: map[string][]byte{received.FaxID: testPDF()}},
			ev: received, attached: true, reads: 1, status: fax.DeliverySucceeded},
		{name: "turned off", opts: func(o *Options, _ *docStore) { o.EmailAttachPDF = &no },
			docs: &docStore{docs: map[string][]byte{received.FaxID: testPDF()}}, ev: received, status: fax.DeliverySucceeded},
		{name: "no document source", opts: func(o *Options, _ *docStore) { o.Document = nil },
			docs: &docStore{}, ev: received, status: fax.DeliverySucceeded},
		{name: "document gone", docs: &docStore{}, ev: received, reads: 1, note: "no longer stored", status: fax.DeliverySucceeded},
		{name: "document too large", docs: &docStore{docs: map[string][]byte{received.FaxID: make([]byte, maxEmailAttachment+1)}},
			ev: received, reads: 1, note: "too large to attach", status: fax.DeliverySucceeded},
		{name: "store failing is retried", docs: &docStore{err: errors.New("disk on fire")}, ev: received, reads: 1, status: fax.DeliveryPending},
		{name: "sent faxes attach nothing", docs: &docStore{docs: map[string][]byte{"fax_01JDZ3W0000000000000000000": testPDF()}},
			ev: faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0), status: fax.DeliverySucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &fakeMailer{}
			opts := Options{Email: m, Document: tt.docs.read}
			if tt.opts != nil {
				tt.opts(&opts, tt.docs)
			}
			store, clock := newFakeStore(), newFakeClock()
			store.add(formatJob("dlv_1", "mailto:ops@example.com", fax.FormatJSON, tt.ev))
			mustDeliverOnce(t, newTestWorker(store, clock, opts), 1)
			d := store.delivery(t, "dlv_1")
			if d.Status != tt.status {
				t.Fatalf("delivery %s %+v, want %s", d.Status, d.Attempts, tt.status)
			}
			if tt.docs.reads != tt.reads {
				t.Errorf("document read %d times, want %d", tt.docs.reads, tt.reads)
			}
			calls := m.got()
			if tt.status == fax.DeliveryPending {
				if len(calls) != 0 || !strings.Contains(d.Attempts[0].Error, "document could not be read") || strings.Contains(d.Attempts[0].Error, "disk on fire") {
					t.Errorf("%d emails, attempt error %q; want none sent and a retry", len(calls), d.Attempts[0].Error)
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("%d emails, want 1", len(calls))
			}
			c := calls[0]
			if got := len(c.atts) == 1; got != tt.attached {
				t.Fatalf("attachments %d, want attached %v", len(c.atts), tt.attached)
			}
			if tt.attached {
				if diff := cmp.Diff(email.Attachment{Name: received.FaxID + ".pdf", ContentType: "application/pdf", Data: testPDF()}, c.atts[0]); diff != "" {
					t.Errorf("attachment (-want +got):\n%s", diff)
				}
			}
			if tt.note != "" && (!strings.Contains(c.text, tt.note) || !strings.Contains(c.html, tt.note)) {
				t.Errorf("bodies lack the note %q:\n%s", tt.note, c.text)
			}
		})
	}
}

func TestEmailPermanentMailerError(t *testing.T) {
	for _, tt := range []struct {
		err    error
		status fax.DeliveryStatus
	}{
		{permanentErr{}, fax.DeliveryFailed},
		{errors.New("relay down"), fax.DeliveryPending},
	} {
		store, clock := newFakeStore(), newFakeClock()
		store.add(formatJob("dlv_1", "mailto:ops@example.com", fax.FormatJSON, faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0)))
		mustDeliverOnce(t, newTestWorker(store, clock, Options{Email: &fakeMailer{err: tt.err}}), 1)
		d := store.delivery(t, "dlv_1")
		if d.Status != tt.status || d.Attempts[0].Error != tt.err.Error() || d.Attempts[0].StatusCode != 0 {
			t.Errorf("mailer error %v: delivery %s %+v, want %s", tt.err, d.Status, d.Attempts, tt.status)
		}
	}
}

func TestEmailContent(t *testing.T) {
	f := outboundFax(fax.StatusFailed)
	f.Failure.Message = `<script>alert("x")</script> & co`
	ev := faxEvent(t, fax.EventFaxFailed, f, 0, 0)
	m := &fakeMailer{}
	store, clock := newFakeStore(), newFakeClock()
	store.add(formatJob("dlv_1", "mailto:ops@example.com", fax.FormatJSON, ev))
	mustDeliverOnce(t, newTestWorker(store, clock, Options{Email: m}), 1)
	c := m.got()[0]
	if c.subject != "Fax to …0123 failed" {
		t.Errorf("subject %q, want the number masked", c.subject)
	}
	if !slices.Equal(c.to, []string{"ops@example.com"}) {
		t.Errorf("to %v", c.to)
	}
	if strings.Contains(c.html, "<script>") || !strings.Contains(c.html, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co") {
		t.Errorf("html does not escape the error message:\n%s", c.html)
	}
	for _, want := range []string{"Fax to +61755550123 failed", `<script>alert("x")</script> & co (busy)`, "lineError 17 Busy", "+14155550100", "fax.failed", ev.ID, "we_1"} {
		if !strings.Contains(c.text, want) {
			t.Errorf("text lacks %q:\n%s", want, c.text)
		}
	}
}

func TestEmailSubjects(t *testing.T) {
	partial := inboundFax(fax.StatusPartial)
	anon := inboundFax(fax.StatusReceived)
	anon.From = ""
	tests := []struct {
		ev   fax.Event
		want string
	}{
		{faxEvent(t, fax.EventFaxSent, outboundFax(fax.StatusSent), 0, 0), "Fax sent to …0123"},
		{faxEvent(t, fax.EventFaxCanceled, outboundFax(fax.StatusCanceled), 0, 0), "Fax to …0123 canceled"},
		{faxEvent(t, fax.EventFaxQueued, outboundFax(fax.StatusQueued), 0, 0), "Fax to …0123 queued"},
		{faxEvent(t, fax.EventFaxSending, outboundFax(fax.StatusSending), 0, 0), "Sending fax to …0123"},
		{faxEvent(t, fax.EventFaxPageSent, outboundFax(fax.StatusSending), 2, 0), "Fax to …0123: page 2 of 3 sent"},
		{faxEvent(t, fax.EventFaxRetryScheduled, outboundFax(fax.StatusSending), 0, 1), "Fax to …0123: retry 1 scheduled"},
		{faxEvent(t, fax.EventFaxReceived, partial, 0, 0), "Partial fax received from …0000"},
		{faxEvent(t, fax.EventFaxReceived, anon, 0, 0), "Fax received on …0123"},
		{fax.Event{ID: "evt_1", Type: fax.EventSMSFailed, Data: []byte(`{"id":"sms_1","to":"+61412121212","status":"failed"}`)}, "SMS to …1212 failed"},
		{fax.Event{ID: "evt_2", Type: fax.EventEndpointTest, Data: []byte(`{"endpoint_id":"we_1"}`)}, "Test email from faxgate"},
		{fax.Event{ID: "evt_3", Type: fax.EventEndpointDisabled, Data: []byte(`{"endpoint_id":"we_2","reason":"410"}`)}, "A faxgate webhook endpoint was disabled"},
	}
	for _, tt := range tests {
		msg, err := renderEmail(&fax.DeliveryJob{Event: tt.ev, Endpoint: fax.Endpoint{ID: "we_1"}})
		if err != nil {
			t.Errorf("%s: %v", tt.ev.Type, err)
			continue
		}
		if msg.subject != tt.want {
			t.Errorf("%s: subject %q, want %q", tt.ev.Type, msg.subject, tt.want)
		}
	}
	msg, _ := renderEmail(&fax.DeliveryJob{Event: tests[len(tests)-1].ev})
	if !strings.Contains(msg.text(), "Endpoint id: we_2") || !strings.Contains(msg.text(), "Reason:      410") {
		t.Errorf("generic event rows:\n%s", msg.text())
	}
}

func TestMailtoAddresses(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"mailto:ops@example.com", []string{"ops@example.com"}},
		{"MailTo:a@example.com,b@example.com", []string{"a@example.com", "b@example.com"}},
		{"mailto:a%2Bfax@example.com?subject=x", []string{"a+fax@example.com"}},
		{"mailto:", nil},
		{"mailto:not-an-address", nil},
		{"mailto:a@example.com%0D%0ABcc:b@example.com", nil},
		{"mailto:" + strings.Repeat("a@example.com,", 11), nil},
	}
	for _, tt := range tests {
		got, err := mailtoAddresses(tt.in)
		if tt.want == nil {
			if fax.ErrorCode(err) != fax.ECodeInvalid {
				t.Errorf("mailtoAddresses(%q) = %v, %v; want an invalid error", tt.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("mailtoAddresses(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func FuzzMailtoAddresses(f *testing.F) {
	for _, s := range []string{"mailto:ops@example.com", "mailto:a@x.example,b@y.example", "mailto:%0d%0a@x", "mailto:?to=a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if !isMailto(raw) {
			return
		}
		addrs, err := mailtoAddresses(raw)
		if err != nil {
			return
		}
		if len(addrs) == 0 || len(addrs) > maxMailtoAddresses {
			t.Errorf("mailtoAddresses(%q) = %d addresses", raw, len(addrs))
		}
		for _, a := range addrs {
			if strings.ContainsAny(a, "\r\n") {
				t.Errorf("mailtoAddresses(%q) gave %q with a line break", raw, a)
			}
		}
	})
}
