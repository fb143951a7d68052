// Package smtptest runs a real SMTP server on loopback for tests: it speaks
// the protocol over TCP (EHLO, STARTTLS or TLS from the first byte, AUTH
// PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT), answers as a test
// scripts it, and records every message and every AUTH it received. It also
// makes self-signed certificates.
//
// Like net/http/httptest it is for tests only. It imports only the standard
// library.
package smtptest

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a Server. The zero value is a plain SMTP server without
// TLS or AUTH that accepts every message.
type Options struct {
	// TLS is the server's certificate configuration. With it the server
	// offers STARTTLS, or with Implicit speaks TLS from the first byte.
	TLS      *tls.Config
	Implicit bool
	// Users are the credentials AUTH accepts. Empty: AUTH is not offered.
	Users map[string]string
	// Mechanisms are the AUTH mechanisms offered. Default: "PLAIN LOGIN".
	Mechanisms string
	// AuthWithoutTLS offers AUTH before STARTTLS too.
	AuthWithoutTLS bool
	// Rcpt answers RCPT TO for addr; a code below 400 (or 0) accepts it.
	// Default: accept every address.
	Rcpt func(addr string) (code int, text string)
	// Data answers the end of DATA; a code below 400 (or 0) accepts the
	// message. Default: accept.
	Data func(msg []byte) (code int, text string)
}

// Message is one message the server accepted.
type Message struct {
	Helo string
	From string
	To   []string
	// Data is the message as it came after DATA, dot-stuffing undone and
	// the line endings left as they were sent.
	Data []byte
	// BareLF reports a line of Data that ended in LF without CR.
	BareLF bool
	// User is who authenticated the session, "" if nobody.
	User string
	// TLS reports whether the session was encrypted.
	TLS bool
}

// Auth is one AUTH command the server received.
type Auth struct {
	Mechanism string
	User      string
	Password  string
	TLS       bool
	OK        bool
}

// Server is a running SMTP server on 127.0.0.1.
type Server struct {
	// Addr is host:port.
	Addr string

	opts Options
	ln   net.Listener
	wg   sync.WaitGroup

	mu       sync.Mutex
	messages []Message
	auths    []Auth
	conns    map[net.Conn]struct{}
	closed   bool
}

// NewServer starts a server on a free loopback port and stops it when the
// test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.Mechanisms == "" {
		opts.Mechanisms = "PLAIN LOGIN"
	}
	if opts.Implicit && opts.TLS == nil {
		t.Fatal("smtptest: Implicit needs TLS")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	if opts.Implicit {
		ln = tls.NewListener(ln, opts.TLS)
	}
	s := &Server{Addr: ln.Addr().String(), opts: opts, ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Go(s.serve)
	t.Cleanup(s.Close)
	return s
}

// URL returns the server's URL with scheme (smtp or smtps), credentials
// when user is not empty, and query.
func (s *Server) URL(scheme, user, pass, query string) string {
	u := url.URL{Scheme: scheme, Host: s.Addr, RawQuery: query}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// Messages returns the messages accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Auths returns the AUTH commands received so far.
func (s *Server) Auths() []Auth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auths)
}

// Close stops the server and waits for its sessions to end.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

func (s *Server) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			_ = c.SetDeadline(time.Now().Add(time.Minute))
			s.session(c)
		})
	}
}

// session is one SMTP conversation.
type session struct {
	s       *Server
	conn    net.Conn
	tp      *textproto.Conn
	tls     bool
	helo    string
	user    string
	from    string
	hasFrom bool
	rcpts   []string
}

func (s *Server) session(c net.Conn) {
	ss := &session{s: s, conn: c, tp: textproto.NewConn(c), tls: s.opts.Implicit}
	ss.reply(220, "smtptest ESMTP ready")
	for {
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ss.helo, ss.user = arg, ""
			ss.reset()
			ext := []string{"smtptest greets " + arg, "8BITMIME"}
			if s.opts.TLS != nil && !ss.tls {
				ext = append(ext, "STARTTLS")
			}
			if ss.authOffered() {
				ext = append(ext, "AUTH "+s.opts.Mechanisms)
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				ss.tp.PrintfLine("250%s%s", sep, e)
			}
		case "HELO":
			ss.helo = arg
			ss.reset()
			ss.reply(250, "smtptest")
		case "STARTTLS":
			if s.opts.TLS == nil || ss.tls {
				ss.reply(502, "5.5.1 STARTTLS not available")
				continue
			}
			ss.reply(220, "2.0.0 ready to start TLS")
			tc := tls.Server(c, s.opts.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss.conn, ss.tp, ss.tls = tc, textproto.NewConn(tc), true
			ss.helo, ss.user = "", ""
			ss.reset()
		case "AUTH":
			if !ss.authOffered() {
				ss.reply(503, "5.5.1 AUTH not available")
				continue
			}
			if !ss.auth(arg) {
				return
			}
		case "MAIL":
			if len(s.opts.Users) > 0 && ss.user == "" {
				ss.reply(530, "5.7.0 authentication required")
				continue
			}
			addr, ok := path(arg, "FROM:")
			if !ok {
				ss.reply(501, "5.5.4 syntax: MAIL FROM:<address>")
				continue
			}
			ss.from, ss.hasFrom, ss.rcpts = addr, true, nil
			ss.reply(250, "2.1.0 ok")
		case "RCPT":
			addr, ok := path(arg, "TO:")
			switch {
			case !ss.hasFrom:
				ss.reply(503, "5.5.1 need MAIL first")
			case !ok:
				ss.reply(501, "5.5.4 syntax: RCPT TO:<address>")
			default:
				if s.opts.Rcpt != nil {
					if code, text := s.opts.Rcpt(addr); code >= 400 {
						ss.reply(code, text)
						continue
					}
				}
				ss.rcpts = append(ss.rcpts, addr)
				ss.reply(250, "2.1.5 ok")
			}
		case "DATA":
			if len(ss.rcpts) == 0 {
				ss.reply(503, "5.5.1 need RCPT first")
				continue
			}
			ss.reply(354, "end data with <CR><LF>.<CR><LF>")
			data, bare, err := readData(ss.tp.R)
			if err != nil {
				return
			}
			if s.opts.Data != nil {
				if code, text := s.opts.Data(data); code >= 400 {
					ss.reply(code, text)
					ss.reset()
					continue
				}
			}
			s.mu.Lock()
			s.messages = append(s.messages, Message{
				Helo: ss.helo, From: ss.from, To: ss.rcpts, Data: data, BareLF: bare, User: ss.user, TLS: ss.tls,
			})
			s.mu.Unlock()
			ss.reset()
			ss.reply(250, "2.0.0 queued")
		case "RSET":
			ss.reset()
			ss.reply(250, "2.0.0 ok")
		case "NOOP":
			ss.reply(250, "2.0.0 ok")
		case "QUIT":
			ss.reply(221, "2.0.0 bye")
			return
		default:
			ss.reply(502, "5.5.2 command not recognized")
		}
	}
}

func (ss *session) reply(code int, text string) {
	_ = ss.tp.PrintfLine("%d %s", code, text)
}

func (ss *session) reset() {
	ss.from, ss.hasFrom, ss.rcpts = "", false, nil
}

func (ss *session) authOffered() bool {
	return len(ss.s.opts.Users) > 0 && (ss.tls || ss.s.opts.AuthWithoutTLS)
}

// auth runs one AUTH exchange; false means the connection is unusable.
func (ss *session) auth(arg string) bool {
	mech, initial, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	if !slices.Contains(strings.Fields(strings.ToUpper(ss.s.opts.Mechanisms)), mech) {
		ss.reply(504, "5.5.4 mechanism not supported")
		return true
	}
	// read answers a 334 challenge; ok is false when the client canceled.
	read := func(challenge string) (string, bool, error) {
		ss.reply(334, challenge)
		line, err := ss.tp.ReadLine()
		if err != nil {
			return "", false, err
		}
		if line == "*" {
			return "", false, nil
		}
		b, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return "", false, nil
		}
		return string(b), true, nil
	}
	var user, pass string
	switch mech {
	case "PLAIN":
		var resp string
		if initial != "" && initial != "=" {
			b, err := base64.StdEncoding.DecodeString(initial)
			if err != nil {
				ss.reply(501, "5.5.2 bad base64")
				return true
			}
			resp = string(b)
		} else {
			r, ok, err := read("")
			if err != nil {
				return false
			}
			if !ok {
				ss.reply(501, "5.7.0 authentication canceled")
				return true
			}
			resp = r
		}
		parts := strings.Split(resp, "\x00")
		if len(parts) != 3 {
			ss.reply(501, "5.5.2 bad PLAIN response")
			return true
		}
		user, pass = parts[1], parts[2]
	case "LOGIN":
		u, ok, err := read(base64.StdEncoding.EncodeToString([]byte("Username:")))
		if err != nil {
			return false
		}
		if !ok {
			ss.reply(501, "5.7.0 authentication canceled")
			return true
		}
		p, ok, err := read(base64.StdEncoding.EncodeToString([]byte("Password:")))
		if err != nil {
			return false
		}
		if !ok {
			ss.reply(501, "5.7.0 authentication canceled")
			return true
		}
		user, pass = u, p
	}
	want, known := ss.s.opts.Users[user]
	ok := known && want == pass
	ss.s.mu.Lock()
	ss.s.auths = append(ss.s.auths, Auth{Mechanism: mech, User: user, Password: pass, TLS: ss.tls, OK: ok})
	ss.s.mu.Unlock()
	if !ok {
		ss.reply(535, "5.7.8 authentication credentials invalid")
		return true
	}
	ss.user = user
	ss.reply(235, "2.7.0 authentication successful")
	return true
}

// path reads "FROM:<addr> params" (or TO:), case-insensitively.
func path(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}

// readData reads a message up to the line ".", undoing dot-stuffing and
// keeping each line's ending as it was sent.
func readData(r *bufio.Reader) (data []byte, bareLF bool, err error) {
	var b bytes.Buffer
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, false, err
		}
		body := bytes.TrimRight(line, "\r\n")
		if string(body) == "." {
			return b.Bytes(), bareLF, nil
		}
		if !bytes.HasSuffix(line, []byte("\r\n")) {
			bareLF = true
		}
		if bytes.HasPrefix(line, []byte(".")) {
			line = line[1:]
		}
		b.Write(line)
	}
}

// NewCert makes a self-signed ECDSA certificate for hosts (IP addresses or
// names; default 127.0.0.1 and localhost) and returns the server's TLS
// configuration and a pool that trusts it.
func NewCert(t testing.TB, hosts ...string) (*tls.Config, *x509.CertPool) {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "localhost"}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}, pool
}

// String describes a message for test failures.
func (m Message) String() string {
	return fmt.Sprintf("from %s to %v (user %q, tls %v): %d bytes", m.From, m.To, m.User, m.TLS, len(m.Data))
}
