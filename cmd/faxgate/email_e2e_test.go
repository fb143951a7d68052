package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/email/smtptest"
)

// TestMailtoEndpoint: a mailto: endpoint gets an email per event through the
// configured relay (STARTTLS and AUTH over the real SMTP protocol), with a
// received fax's PDF attached.
func TestMailtoEndpoint(t *testing.T) {
	serverTLS, pool := smtptest.NewCert(t)
	srv := smtptest.NewServer(t, smtptest.Options{TLS: serverTLS, Users: map[string]string{"relay": "relay-pass"}})
	// The test relay's certificate is self-signed: trust it for this gateway.
	g := startGateway(t, withEnv("FAXGATE_SMTP_URL", srv.URL("smtp", "relay", "relay-pass", "starttls=required")),
		func(_ map[string]string, m *Main) { m.EmailTLS = &tls.Config{RootCAs: pool} })
	if code := g.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "mailto:frontdesk@clinic.example"}, nil); code != 201 {
		t.Fatalf("create mailto endpoint: got %d", code)
	}
	var f faxObj
	g.do("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "+15553334444", "pages": 2}, &f)
	deadline := time.Now().Add(20 * time.Second)
	for len(srv.Messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("got %d emails, want 1", len(msgs))
	}
	m := msgs[0]
	if !m.TLS || m.User != "relay" || len(m.To) != 1 || m.To[0] != "frontdesk@clinic.example" {
		t.Errorf("envelope: TLS=%v user=%q to=%v", m.TLS, m.User, m.To)
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
	if !strings.Contains(strings.ToLower(subject), "received") {
		t.Errorf("subject %q", subject)
	}
	_, params, _ := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	mr := multipart.NewReader(parsed.Body, params["boundary"])
	foundPDF := false
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "application/pdf") {
			b, _ := io.ReadAll(p)
			foundPDF = len(b) > 0
		}
	}
	if !foundPDF {
		t.Error("the received fax's PDF is not attached")
	}
	// Without a relay, mailto: endpoints are refused at creation.
	g2 := startGateway(t)
	var e errorBody
	if code := g2.do("POST", "/v1/webhook-endpoints", map[string]any{"url": "mailto:a@b.example"}, &e); code != 422 {
		t.Errorf("mailto without FAXGATE_SMTP_URL: got %d %+v", code, e)
	}
}
