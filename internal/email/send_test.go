package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/netip"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/email/smtptest"
	"github.com/google/go-cmp/cmp"
)

// mustSender builds a Sender for url that trusts the test certificate pool
// when tlsConf is given.
func mustSender(t *testing.T, url string, tlsConf *tls.Config) *Sender {
	t.Helper()
	s, err := New(Config{URL: url, From: "Faxgate <fax@example.com>", TLSConfig: tlsConf})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// part is one decoded leaf of a parsed message.
type part struct {
	contentType string
	params      map[string]string
	disposition string
	filename    string
	encoding    string
	body        []byte
}

// parseMessage parses raw with net/mail and mime/multipart, as a mail client
// would, and returns its headers and leaf parts in order.
func parseMessage(t *testing.T, raw []byte) (mail.Header, string, []part) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail.ReadMessage: %v\n%s", err, raw)
	}
	top, _, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	var parts []part
	var walk func(ct string, h map[string][]string, body io.Reader)
	walk = func(ct string, h map[string][]string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("Content-Type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			r := multipart.NewReader(body, params["boundary"])
			for {
				p, err := r.NextRawPart()
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("multipart: %v", err)
				}
				walk(p.Header.Get("Content-Type"), p.Header, p)
			}
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		p := part{contentType: mt, params: params}
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		p.encoding = get("Content-Transfer-Encoding")
		if d := get("Content-Disposition"); d != "" {
			disp, dp, err := mime.ParseMediaType(d)
			if err != nil {
				t.Fatalf("Content-Disposition %q: %v", d, err)
			}
			p.disposition, p.filename = disp, dp["filename"]
		}
		switch p.encoding {
		case "base64":
			dec, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(raw)))
			if err != nil {
				t.Fatalf("base64 part: %v", err)
			}
			p.body = dec
		case "quoted-printable":
			dec, err := io.ReadAll(quotedPrintableReader(raw))
			if err != nil {
				t.Fatalf("quoted-printable part: %v", err)
			}
			p.body = dec
		default:
			p.body = raw
		}
		parts = append(parts, p)
	}
	walk(m.Header.Get("Content-Type"), m.Header, m.Body)
	return m.Header, top, parts
}

func TestSendSTARTTLSAuthPlain(t *testing.T) {
	serverTLS, pool := smtptest.NewCert(t)
	srv := smtptest.NewServer(t, smtptest.Options{TLS: serverTLS, Users: map[string]string{"relay@example.com": "s3cret pw:"}})
	s := mustSender(t, srv.URL("smtp", "relay@example.com", "s3cret pw:", "starttls=required"), &tls.Config{RootCAs: pool})

	subject := "Fax reçu de +61 7 5555 0123 — 3 pages, ünïcödé and a long tail to make the encoder split it into several words"
	text := "Fax received.\n.A line starting with a dot\r\n..two dots\nFrom: +61755550123\n"
	html := "<p>Fax received from &lt;+61755550123&gt;</p>\n.dot"
	pdf := append([]byte("%PDF-1.7\r\n.\r\n"), bytes.Repeat([]byte{0, 0xff, '\r', '\n', '.'}, 100)...)
	err := s.Send(t.Context(), []string{"ops@example.com", "Night Desk <night@example.com>"}, subject, text, html,
		[]Attachment{{Name: "../fax_01J.pdf", ContentType: "application/pdf", Data: pdf}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}

	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if !m.TLS || m.User != "relay@example.com" || m.From != "fax@example.com" {
		t.Errorf("message %v: want TLS, user relay@example.com, from fax@example.com", m)
	}
	if diff := cmp.Diff([]string{"ops@example.com", "night@example.com"}, m.To); diff != "" {
		t.Errorf("RCPT TO (-want +got):\n%s", diff)
	}
	if m.BareLF {
		t.Error("the message has a line ending in a bare LF, want CRLF everywhere")
	}
	auths := srv.Auths()
	if len(auths) != 1 || auths[0] != (smtptest.Auth{Mechanism: "PLAIN", User: "relay@example.com", Password: "s3cret pw:", TLS: true, OK: true}) {
		t.Errorf("auths = %+v, want one PLAIN over TLS with the URL's credentials", auths)
	}

	h, top, parts := parseMessage(t, m.Data)
	if top != "multipart/mixed" {
		t.Errorf("top-level type %q, want multipart/mixed", top)
	}
	gotSubject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || gotSubject != subject {
		t.Errorf("decoded Subject = %q (%v), want %q", gotSubject, err, subject)
	}
	if raw := h.Get("Subject"); !strings.Contains(raw, "=?utf-8?") {
		t.Errorf("Subject %q is not RFC 2047 encoded", raw)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID = %q, want <…@example.com>", id)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 2 || to[1].Name != "Night Desk" || to[1].Address != "night@example.com" {
		t.Errorf("To = %v (%v)", to, err)
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "fax@example.com" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if h.Get("Mime-Version") != "1.0" {
		t.Errorf("MIME-Version = %q", h.Get("Mime-Version"))
	}

	if len(parts) != 3 {
		t.Fatalf("%d leaf parts, want text, html, attachment", len(parts))
	}
	crlf := func(s string) string { return strings.ReplaceAll(normalizeNewlines(s), "\n", "\r\n") }
	if p := parts[0]; p.contentType != "text/plain" || p.params["charset"] != "utf-8" || p.encoding != "quoted-printable" || string(p.body) != crlf(text) {
		t.Errorf("part 1: %s %v %s %q; want text/plain utf-8 quoted-printable %q", p.contentType, p.params, p.encoding, p.body, crlf(text))
	}
	if p := parts[1]; p.contentType != "text/html" || string(p.body) != crlf(html) {
		t.Errorf("part 2: %s %q; want text/html %q", p.contentType, p.body, crlf(html))
	}
	p := parts[2]
	if p.contentType != "application/pdf" || p.disposition != "attachment" || p.filename != "fax_01J.pdf" || p.params["name"] != "fax_01J.pdf" || p.encoding != "base64" {
		t.Errorf("attachment: %s %v, %s %q, %s", p.contentType, p.params, p.disposition, p.filename, p.encoding)
	}
	if !bytes.Equal(p.body, pdf) {
		t.Errorf("attachment bytes differ: got %d bytes, want %d", len(p.body), len(pdf))
	}
	for i, line := range strings.Split(string(m.Data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes long, over RFC 5322's 998", i, len(line))
		}
	}
}

func TestSendImplicitTLSAuthLogin(t *testing.T) {
	serverTLS, pool := smtptest.NewCert(t)
	srv := smtptest.NewServer(t, smtptest.Options{TLS: serverTLS, Implicit: true, Mechanisms: "LOGIN", Users: map[string]string{"bob": "pw"}})
	s := mustSender(t, srv.URL("smtps", "bob", "pw", ""), &tls.Config{RootCAs: pool})
	if err := s.Send(t.Context(), []string{"ops@example.com"}, "Fax sent", "plain only", "", nil); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs, auths := srv.Messages(), srv.Auths()
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].User != "bob" {
		t.Fatalf("messages %v, want one from bob over TLS", msgs)
	}
	if len(auths) != 1 || auths[0].Mechanism != "LOGIN" || auths[0].Password != "pw" {
		t.Errorf("auths = %+v, want one LOGIN", auths)
	}
	h, top, parts := parseMessage(t, msgs[0].Data)
	if top != "text/plain" || len(parts) != 1 || strings.TrimSuffix(string(parts[0].body), "\r\n") != "plain only" || h.Get("Subject") != "Fax sent" {
		t.Errorf("text-only message: type %s, %d parts, subject %q", top, len(parts), h.Get("Subject"))
	}
}

func TestSendAlternativeWithoutAttachments(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	s := mustSender(t, srv.URL("smtp", "", "", ""), nil)
	if err := s.Send(t.Context(), []string{"ops@example.com"}, "Hi", "text", "<b>html</b>", nil); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].TLS || msgs[0].User != "" {
		t.Fatalf("messages %v, want one without TLS or AUTH", msgs)
	}
	_, top, parts := parseMessage(t, msgs[0].Data)
	if top != "multipart/alternative" || len(parts) != 2 || parts[0].contentType != "text/plain" || parts[1].contentType != "text/html" {
		t.Errorf("got %s with %d parts, want multipart/alternative with text then html", top, len(parts))
	}
}

func TestSendAuthOverPlainLoopback(t *testing.T) {
	// Credentials may go to a relay on loopback without TLS: nobody else can
	// listen there.
	srv := smtptest.NewServer(t, smtptest.Options{AuthWithoutTLS: true, Users: map[string]string{"u": "p"}})
	s := mustSender(t, srv.URL("smtp", "u", "p", ""), nil)
	if err := s.Send(t.Context(), []string{"ops@example.com"}, "s", "t", "", nil); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if a := srv.Auths(); len(a) != 1 || a[0].TLS || !a[0].OK {
		t.Errorf("auths = %+v, want one accepted without TLS", a)
	}
}

func TestPlaintextAuthAllowed(t *testing.T) {
	private := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		addr  string
		allow []netip.Prefix
		want  bool
	}{
		{"127.0.0.1", nil, true},
		{"127.9.9.9", nil, true},
		{"::1", nil, true},
		{"::ffff:127.0.0.1", nil, true},
		{"10.1.2.3", nil, false},
		{"10.1.2.3", private, true},
		{"192.168.1.1", private, false},
		{"203.0.113.7", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		var a netip.Addr
		if tt.addr != "" {
			a = netip.MustParseAddr(tt.addr)
		}
		if got := plaintextAuthAllowed(a, tt.allow); got != tt.want {
			t.Errorf("plaintextAuthAllowed(%s, %v) = %v, want %v", tt.addr, tt.allow, got, tt.want)
		}
	}
}

// TestAuthRefusedWithoutTLS checks the mechanisms themselves: to a host that
// is not loopback, over a connection without TLS, neither gives out the
// credentials, whatever the server's name claims.
func TestAuthRefusedWithoutTLS(t *testing.T) {
	for _, name := range []string{"mail.example.com", "localhost", "127.0.0.1"} {
		info := &smtp.ServerInfo{Name: name, TLS: false, Auth: []string{"PLAIN", "LOGIN"}}
		for _, a := range []smtp.Auth{&plainAuth{user: "u", pass: "hunter2"}, &loginAuth{user: "u", pass: "hunter2"}} {
			mech, resp, err := a.Start(info)
			if !errors.Is(err, noTLSError{}) || len(resp) != 0 {
				t.Errorf("%T.Start(%s without TLS) = %q %q %v, want the no-TLS refusal and nothing sent", a, name, mech, resp, err)
			}
		}
	}
	info := &smtp.ServerInfo{Name: "mail.example.com", TLS: true}
	if mech, resp, err := (&plainAuth{user: "u", pass: "hunter2"}).Start(info); err != nil || mech != "PLAIN" || string(resp) != "\x00u\x00hunter2" {
		t.Errorf("PLAIN over TLS = %q %q %v", mech, resp, err)
	}
	if _, _, err := (&plainAuth{user: "u", pass: "p", insecureOK: true}).Start(&smtp.ServerInfo{Name: "relay"}); err != nil {
		t.Errorf("PLAIN to a trusted address without TLS: %v", err)
	}
}

func TestSendRefusesAuthWithoutTLSBeforeSending(t *testing.T) {
	// The same check in Sender.auth, with the relay's address outside
	// loopback: nothing reaches the relay.
	srv := smtptest.NewServer(t, smtptest.Options{AuthWithoutTLS: true, Users: map[string]string{"u": "hunter2"}})
	s := mustSender(t, srv.URL("smtp", "u", "hunter2", ""), nil)
	c, err := smtp.Dial(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = s.auth(t.Context(), c, netip.MustParseAddr("203.0.113.7"))
	var e *Error
	if !errors.As(err, &e) || e.Op != OpAuth || e.Permanent() || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("auth to 203.0.113.7 without TLS = %v, want a non-permanent auth error without the password", err)
	}
	if a := srv.Auths(); len(a) != 0 {
		t.Errorf("the relay received %d AUTH commands, want 0", len(a))
	}
}

func TestSendErrors(t *testing.T) {
	serverTLS, pool := smtptest.NewCert(t)
	tests := []struct {
		name      string
		opts      smtptest.Options
		user      string
		pass      string
		query     string
		trust     bool
		to        []string
		op        string
		code      int
		permanent bool
	}{
		{name: "550 no such user", to: []string{"ok@example.com", "nobody@example.com"}, op: OpRcpt, code: 550, permanent: true,
			opts: smtptest.Options{Rcpt: func(a string) (int, string) {
				if a == "nobody@example.com" {
					return 550, "5.1.1 <nobody@example.com>: no such user"
				}
				return 0, ""
			}}},
		{name: "451 greylisted", op: OpRcpt, code: 451,
			opts: smtptest.Options{Rcpt: func(string) (int, string) { return 451, "4.7.1 greylisted, try again later" }}},
		{name: "554 rejected at data", op: OpData, code: 554, permanent: true,
			opts: smtptest.Options{Data: func([]byte) (int, string) { return 554, "5.6.0 message content rejected" }}},
		{name: "452 at data", op: OpData, code: 452,
			opts: smtptest.Options{Data: func([]byte) (int, string) { return 452, "4.3.1 insufficient system storage" }}},
		{name: "wrong password", user: "u", pass: "hunter2-wrong", op: OpAuth, code: 535,
			opts: smtptest.Options{AuthWithoutTLS: true, Users: map[string]string{"u": "right"}}},
		{name: "starttls required but not offered", query: "starttls=required", op: OpTLS},
		{name: "untrusted certificate", user: "u", pass: "hunter2", op: OpTLS,
			opts: smtptest.Options{TLS: serverTLS, Users: map[string]string{"u": "hunter2"}}},
		{name: "no AUTH offered", user: "u", pass: "hunter2", trust: true, op: OpAuth,
			opts: smtptest.Options{TLS: serverTLS}},
		{name: "invalid recipient", to: []string{"not an address\r\nBcc: x@example.com"}, op: OpMessage, permanent: true},
		{name: "no recipients", to: []string{}, op: OpMessage, permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, tt.opts)
			var conf *tls.Config
			if tt.trust {
				conf = &tls.Config{RootCAs: pool}
			}
			s := mustSender(t, srv.URL("smtp", tt.user, tt.pass, tt.query), conf)
			to := tt.to
			if to == nil {
				to = []string{"ops@example.com"}
			}
			err := s.Send(t.Context(), to, "s", "t", "", nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Send = %v, want an *Error", err)
			}
			if e.Op != tt.op || e.Code != tt.code || e.Permanent() != tt.permanent {
				t.Errorf("Send = %v (op %q, code %d, permanent %v), want op %q, code %d, permanent %v",
					err, e.Op, e.Code, e.Permanent(), tt.op, tt.code, tt.permanent)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), srv.Addr) {
				t.Errorf("error %q carries the password or the relay's address", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("the relay accepted %d messages, want 0", n)
			}
			if tt.name == "untrusted certificate" && len(srv.Auths()) != 0 {
				t.Error("credentials were sent although the TLS handshake failed")
			}
		})
	}
}

func TestSendConnectErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := mustSender(t, "smtp://"+addr, nil)
	err = s.Send(t.Context(), []string{"ops@example.com"}, "s", "t", "", nil)
	var e *Error
	if !errors.As(err, &e) || e.Op != OpConnect || e.Message != "connection refused" || e.Permanent() {
		t.Errorf("Send to a closed port = %v, want a non-permanent connect error: connection refused", err)
	}

	// A relay that accepts and never greets: canceling the context, once
	// the connection is made, ends the wait for the greeting.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		for first := true; ; first = false {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			if !first {
				cancel()
			}
		}
	}()
	s = mustSender(t, "smtp://"+silent.Addr().String(), nil)
	// With its own timeout, the Sender gives up by itself.
	quick, err := New(Config{URL: "smtp://" + silent.Addr().String(), Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = quick.Send(t.Context(), []string{"ops@example.com"}, "s", "t", "", nil)
	if !errors.As(err, &e) || e.Message != "timed out" || e.Permanent() {
		t.Errorf("Send to a silent relay = %v, want a non-permanent timeout", err)
	}
	err = s.Send(ctx, []string{"ops@example.com"}, "s", "t", "", nil)
	if !errors.As(err, &e) || e.Op != OpConnect || e.Message != "canceled" || e.Permanent() {
		t.Errorf("Send canceled while waiting for the greeting = %v, want a non-permanent connect error: canceled", err)
	}
}

func TestEncodeSubject(t *testing.T) {
	for _, s := range []string{
		"Fax sent to …0123",
		"plain ascii",
		"evil\r\nBcc: x@example.com",
		strings.Repeat("é", 400),
	} {
		enc := encodeSubject(s)
		if strings.ContainsAny(strings.ReplaceAll(enc, "\r\n ", ""), "\r\n") {
			t.Errorf("encodeSubject(%q) = %q has a line break that is not a fold", s, enc)
		}
		dec, err := new(mime.WordDecoder).DecodeHeader(strings.ReplaceAll(enc, "\r\n", ""))
		if err != nil {
			t.Errorf("decode %q: %v", enc, err)
		}
		if strings.Contains(dec, "\n") || strings.Contains(dec, "\r") {
			t.Errorf("decoded subject %q has a line break", dec)
		}
		for _, line := range strings.Split(enc, "\r\n") {
			if len(line) > 998 {
				t.Errorf("encodeSubject(%q) has a %d-byte line", s[:10], len(line))
			}
		}
	}
	if got := encodeSubject("evil\r\nBcc: x"); got != "evil  Bcc: x" {
		t.Errorf("encodeSubject kept a line break: %q", got)
	}
}

func TestAttachmentName(t *testing.T) {
	for in, want := range map[string]string{
		"fax.pdf":          "fax.pdf",
		"../../etc/passwd": "passwd",
		`C:\a\b.pdf`:       "b.pdf",
		"a\"b\r\n.pdf":     "ab.pdf",
		"":                 "attachment",
		"/":                "attachment",
		"Télécopie 1.pdf":  "Télécopie 1.pdf",
	} {
		if got := attachmentName(in); got != want {
			t.Errorf("attachmentName(%q) = %q, want %q", in, got, want)
		}
	}
}
