package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"strings"
	"syscall"
	"time"
)

// maxRecipients bounds the addresses of one Send.
const maxRecipients = 50

// noTLSError is an AUTH refused before any credential left the process. It
// is a type rather than a variable so that the package keeps no mutable
// state; compare with errors.Is(err, noTLSError{}).
type noTLSError struct{}

func (noTLSError) Error() string {
	return "credentials are only sent over TLS or to a loopback relay"
}

// Send sends one message to the addresses in to, as one SMTP transaction
// through the relay: EHLO, STARTTLS when the relay offers it (smtp://) or TLS
// from the start (smtps://), AUTH when the URL has credentials, then MAIL,
// one RCPT per address and DATA. textBody is required; htmlBody, when not
// empty, is the preferred alternative; attachments are added as base64 parts.
//
// Any refused recipient ends the transaction before DATA, so nobody gets the
// message and a retry sends it to all of them once. Errors are *Error;
// Permanent reports a refusal no retry can fix. Send gives up when ctx is
// done or the Sender's Timeout passes, whichever is first.
func (s *Sender) Send(ctx context.Context, to []string, subject, textBody, htmlBody string, attachments []Attachment) error {
	rcpts, hdrs, err := parseRecipients(to)
	if err != nil {
		return err
	}
	msg, err := buildMessage(s.fromHdr, hdrs, subject, textBody, htmlBody, attachments, time.Now(), newMessageID(s.from))
	if err != nil {
		return &Error{Op: OpMessage, Message: "the message could not be built", permanent: true, err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return s.fail(ctx, OpConnect, err)
	}
	defer conn.Close()
	// Every read and write ends by the deadline, or at once when ctx is
	// canceled: net/smtp itself knows nothing of contexts.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	remote := remoteAddr(conn)

	if s.implicit {
		tc := tls.Client(conn, s.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return s.fail(ctx, OpTLS, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return s.fail(ctx, OpConnect, err)
	}
	defer c.Close()
	if err := c.Hello(s.helo); err != nil {
		return s.fail(ctx, OpHello, err)
	}
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConfig); err != nil {
				return s.fail(ctx, OpTLS, err)
			}
		} else if s.startTLS == startTLSRequired {
			return &Error{Op: OpTLS, Message: "the relay does not offer STARTTLS, which FAXGATE_SMTP_URL requires (starttls=required)"}
		}
	}
	if s.hasAuth {
		if err := s.auth(ctx, c, remote); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from); err != nil {
		return s.fail(ctx, OpMail, err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return s.fail(ctx, OpRcpt, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(ctx, OpData, err)
	}
	if _, err := w.Write(msg); err != nil {
		return s.fail(ctx, OpData, err)
	}
	if err := w.Close(); err != nil {
		return s.fail(ctx, OpData, err)
	}
	// The relay has taken the message: a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// auth authenticates with AUTH PLAIN, or LOGIN when the relay offers only
// that, once the connection is encrypted or the relay is trusted without it.
func (s *Sender) auth(ctx context.Context, c *smtp.Client, remote netip.Addr) error {
	_, encrypted := c.TLSConnectionState()
	insecureOK := plaintextAuthAllowed(remote, s.allow)
	if !encrypted && !insecureOK {
		return &Error{Op: OpAuth, Message: "refusing to send the relay's credentials without TLS to a host that is not loopback: use smtps://, a relay offering STARTTLS, or list its network in FAXGATE_WEBHOOK_ALLOW_NETWORKS", err: noTLSError{}}
	}
	ok, mechs := c.Extension("AUTH")
	if !ok {
		return &Error{Op: OpAuth, Message: "FAXGATE_SMTP_URL has credentials but the relay does not offer AUTH"}
	}
	var a smtp.Auth
	switch offered := strings.Fields(strings.ToUpper(mechs)); {
	case contains(offered, "PLAIN"):
		a = &plainAuth{user: s.user, pass: s.pass, insecureOK: insecureOK}
	case contains(offered, "LOGIN"):
		a = &loginAuth{user: s.user, pass: s.pass, insecureOK: insecureOK}
	default:
		return &Error{Op: OpAuth, Message: "the relay offers neither AUTH PLAIN nor AUTH LOGIN"}
	}
	if err := c.Auth(a); err != nil {
		return s.fail(ctx, OpAuth, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// plaintextAuthAllowed reports whether credentials may go to remote without
// TLS: only to loopback, where nobody else can listen, or to a network the
// operator listed.
func plaintextAuthAllowed(remote netip.Addr, allow []netip.Prefix) bool {
	if !remote.IsValid() {
		return false
	}
	remote = remote.Unmap()
	if remote.IsLoopback() {
		return true
	}
	for _, p := range allow {
		if p.Contains(remote) {
			return true
		}
	}
	return false
}

// remoteAddr is the address conn actually reached: the check that matters is
// on it, not on the name in the URL.
func remoteAddr(conn net.Conn) netip.Addr {
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr()
	}
	return netip.Addr{}
}

// plainAuth is AUTH PLAIN (RFC 4616). Unlike smtp.PlainAuth, which trusts
// only the names "localhost", "127.0.0.1" and "::1", it is told whether the
// address actually connected to may get credentials in the clear.
type plainAuth struct {
	user, pass string
	insecureOK bool
}

func (a *plainAuth) Start(info *smtp.ServerInfo) (string, []byte, error) {
	if !info.TLS && !a.insecureOK {
		return "", nil, noTLSError{}
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected AUTH PLAIN challenge")
	}
	return nil, nil
}

// loginAuth is the AUTH LOGIN mechanism some relays (Exchange, older
// appliances) offer instead of PLAIN: the user name, then the password, each
// in answer to a challenge.
type loginAuth struct {
	user, pass string
	insecureOK bool
	step       int
}

func (a *loginAuth) Start(info *smtp.ServerInfo) (string, []byte, error) {
	if !info.TLS && !a.insecureOK {
		return "", nil, noTLSError{}
	}
	a.step = 0
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	challenge := strings.ToLower(string(fromServer))
	a.step++
	switch {
	case strings.Contains(challenge, "username"), strings.Contains(challenge, "user name"):
		return []byte(a.user), nil
	case strings.Contains(challenge, "password"):
		return []byte(a.pass), nil
	case a.step == 1:
		return []byte(a.user), nil
	case a.step == 2:
		return []byte(a.pass), nil
	}
	return nil, errors.New("unexpected AUTH LOGIN challenge")
}

// parseRecipients checks the addresses and returns them bare, for RCPT, and
// formatted, for the To header.
func parseRecipients(to []string) (bare, formatted []string, err error) {
	if len(to) == 0 {
		return nil, nil, &Error{Op: OpMessage, Message: "no recipient address", permanent: true}
	}
	if len(to) > maxRecipients {
		return nil, nil, &Error{Op: OpMessage, Message: "more than 50 recipient addresses", permanent: true}
	}
	for _, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil || strings.ContainsAny(a.Address, "\r\n<>") {
			return nil, nil, &Error{Op: OpMessage, Message: "a recipient is not a valid email address", permanent: true}
		}
		bare = append(bare, a.Address)
		formatted = append(formatted, a.String())
	}
	return bare, formatted, nil
}

// fail turns an error of step op into an *Error: the relay's reply when it
// sent one, else a description of what went wrong that holds no address or
// credential.
func (s *Sender) fail(ctx context.Context, op string, err error) *Error {
	var (
		reply     *textproto.Error
		netErr    net.Error
		dnsErr    *net.DNSError
		verifyErr *tls.CertificateVerificationError
		hostErr   x509.HostnameError
		recordErr tls.RecordHeaderError
	)
	msg := "the conversation with the relay failed"
	switch {
	case errors.As(err, &reply):
		return replyError(op, reply.Code, reply.Msg, err)
	case errors.Is(err, noTLSError{}):
		msg = noTLSError{}.Error()
	case errors.Is(ctx.Err(), context.Canceled):
		// Canceling sets a past deadline on the connection, so the error
		// itself reads as a timeout.
		msg = "canceled"
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		msg = "timed out"
	case errors.As(err, &dnsErr):
		msg = "the relay's host name could not be resolved"
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		msg = "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		msg = "the relay is unreachable"
	case errors.As(err, &hostErr):
		msg = "the relay's TLS certificate is not valid for its host name"
	case errors.As(err, &verifyErr):
		msg = "the relay's TLS certificate is not trusted"
	case errors.As(err, &recordErr):
		msg = "the relay did not answer with TLS"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		msg = "the relay closed the connection"
	}
	return &Error{Op: op, Message: msg, err: err}
}
