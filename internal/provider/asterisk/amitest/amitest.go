// Package amitest is a loopback Asterisk manager interface (AMI) for tests:
// a TCP server speaking AMI's wire protocol (the banner, CRLF-terminated
// "Key: Value" lines, a blank line ending each message) that accepts Login,
// Ping, Hangup, Status and Originate, and answers each Originate as the
// test scripts it, with the OriginateResponse and UserEvent(FaxResult)
// events a real Asterisk and faxgate's dialplan would send.
//
// It parses what clients send with net/textproto, never with the asterisk
// package's own parser, so that a test through it checks the client
// against the protocol rather than against itself. It imports only the
// standard library and must not import the asterisk package (whose own
// tests use it) or anything else in faxgate.
package amitest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// Credentials the server accepts unless Options say otherwise.
const (
	User   = "faxgate"
	Secret = "ami-S3cr3t-9Kq2Xw"
)

// ChannelName is the channel every scripted call reports, as an answered
// PJSIP call would; a Hangup for the fax's call names it.
const ChannelName = "PJSIP/faxtrunk-0000002a"

// Banner is the greeting the server sends on connect.
const Banner = "Asterisk Call Manager/9.0.0"

// Options configure a Server; a nil *Options means the defaults.
type Options struct {
	// User and Secret are the credentials Login must carry. Default User
	// and Secret.
	User, Secret string
	// Originate answers each Originate action. Default Queued: the call is
	// queued and nothing more is ever said about it.
	Originate Reply
}

// Reply answers one Originate action on the connection it came on. It runs
// on the connection's reader, so the client's next action waits for it.
type Reply func(c *Conn, a Action)

// Server is a fake Asterisk manager interface on 127.0.0.1.
type Server struct {
	t            testing.TB
	ln           net.Listener
	user, secret string

	mu          sync.Mutex
	rejectLogin bool
	ignorePing  bool
	pings       int
	logins      int
	live        []Channel
	conns       []*Conn
	actions     []Action
	onOriginate Reply
	wg          sync.WaitGroup
	closed      bool
}

// Channel is a call the server has up, listed by the Status action with its
// FAXGATE_JOB variable.
type Channel struct{ Name, Uniqueid, Job string }

// Action is one action as the server received it.
type Action struct {
	// Raw is the message as it came, without the blank line ending it.
	Raw string
	// Header is the message parsed by net/textproto; repeated keys
	// (Variable) keep every value.
	Header textproto.MIMEHeader
}

// Get returns the first value of key.
func (a Action) Get(key string) string { return a.Header.Get(key) }

// Variable returns the value of the Originate's "Variable: name=value"
// header for name, or "".
func (a Action) Variable(name string) string {
	for _, v := range a.Header.Values("Variable") {
		if k, val, ok := strings.Cut(v, "="); ok && k == name {
			return val
		}
	}
	return ""
}

// Conn is one client connection.
type Conn struct {
	conn net.Conn
	wmu  sync.Mutex
}

// Send writes one message built from key, value pairs.
func (c *Conn) Send(kv ...string) {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(kv[i] + ": " + kv[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.Write([]byte(b.String()))
}

// Close drops the connection, as a crash of Asterisk or of the network
// would.
func (c *Conn) Close() { c.conn.Close() }

// NewServer starts a Server on a loopback port; it closes when the test
// ends.
func NewServer(t testing.TB, opts *Options) *Server {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, ln: ln, user: opts.User, secret: opts.Secret, onOriginate: opts.Originate}
	if s.user == "" {
		s.user = User
	}
	if s.secret == "" {
		s.secret = Secret
	}
	if s.onOriginate == nil {
		s.onOriginate = Queued
	}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Host is the server's address without its port.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.ln.Addr().String())
	return h
}

// Port is the server's port.
func (s *Server) Port() string {
	_, p, _ := net.SplitHostPort(s.ln.Addr().String())
	return p
}

// Addr is host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops listening, drops every connection and waits for their
// goroutines. Calling it again is harmless.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.ln.Close()
	s.DropAll()
	s.wg.Wait()
}

// DropAll closes every connection, as an Asterisk restart would; new ones
// are still accepted.
func (s *Server) DropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.conn.Close()
	}
	s.conns = nil
}

// SetOriginate replaces the reply to the next Originate actions.
func (s *Server) SetOriginate(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onOriginate = r
}

// SetLive sets the calls Status lists.
func (s *Server) SetLive(chs ...Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = append([]Channel(nil), chs...)
}

// RejectLogin makes every Login fail (true) or be checked again (false).
func (s *Server) RejectLogin(reject bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectLogin = reject
}

// IgnorePing makes the server leave Ping unanswered (true), as a hung
// Asterisk would.
func (s *Server) IgnorePing(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignorePing = ignore
}

// Pings counts the Ping actions received.
func (s *Server) Pings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pings
}

// Logins counts the accepted logins.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// Conns returns the open connections, oldest first.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Conn(nil), s.conns...)
}

// Received returns the actions named name (any case), in the order they
// came.
func (s *Server) Received(name string) []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Action
	for _, a := range s.actions {
		if strings.EqualFold(a.Get("Action"), name) {
			out = append(out, a)
		}
	}
	return out
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &Conn{conn: conn}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns = append(s.conns, c)
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			defer conn.Close()
			s.serve(c)
		}()
	}
}

func (s *Server) serve(c *Conn) {
	c.wmu.Lock()
	io.WriteString(c.conn, Banner+"\r\n")
	c.wmu.Unlock()
	r := bufio.NewReader(c.conn)
	loggedIn := false
	for {
		var raw strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
			if !strings.HasSuffix(line, "\r\n") {
				s.t.Errorf("amitest: line %q does not end in CRLF", line)
			}
			raw.WriteString(line)
		}
		h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(raw.String() + "\r\n"))).ReadMIMEHeader()
		if err != nil {
			s.t.Errorf("amitest: bad message %q: %v", raw.String(), err)
			return
		}
		a := Action{Raw: raw.String(), Header: h}
		s.mu.Lock()
		s.actions = append(s.actions, a)
		onOriginate, rejectLogin, ignorePing := s.onOriginate, s.rejectLogin, s.ignorePing
		s.mu.Unlock()
		id := a.Get("ActionID")
		switch action := strings.ToLower(a.Get("Action")); {
		case action == "login":
			if rejectLogin || a.Get("Username") != s.user || a.Get("Secret") != s.secret {
				c.Send("Response", "Error", "ActionID", id, "Message", "Authentication failed")
				return // Asterisk ends the session after a refused login
			}
			s.mu.Lock()
			s.logins++
			s.mu.Unlock()
			loggedIn = true
			c.Send("Response", "Success", "ActionID", id, "Message", "Authentication accepted")
			c.Send("Event", "FullyBooted", "Privilege", "system,all", "Uptime", "12", "Status", "Fully Booted")
		case !loggedIn:
			c.Send("Response", "Error", "ActionID", id, "Message", "Permission denied")
		case action == "ping":
			s.mu.Lock()
			s.pings++
			s.mu.Unlock()
			if !ignorePing {
				c.Send("Response", "Success", "ActionID", id, "Ping", "Pong", "Timestamp", "1700000000.000000")
			}
		case action == "hangup":
			c.Send("Response", "Success", "ActionID", id, "Message", "Channel Hungup")
		case action == "originate":
			onOriginate(c, a)
		case action == "status":
			s.mu.Lock()
			live := append([]Channel(nil), s.live...)
			s.mu.Unlock()
			c.Send("Response", "Success", "ActionID", id, "EventList", "start", "Message", "Channel status will follow")
			for _, ch := range live {
				kv := []string{"Event", "Status", "Privilege", "Call", "ActionID", id, "Channel", ch.Name,
					"ChannelState", "6", "ChannelStateDesc", "Up", "Uniqueid", ch.Uniqueid, "Linkedid", ch.Uniqueid}
				if a.Get("Variables") != "" {
					kv = append(kv, "Variable", "FAXGATE_JOB="+ch.Job)
				}
				c.Send(kv...)
			}
			c.Send("Event", "StatusComplete", "ActionID", id, "EventList", "Complete", "ListItems", fmt.Sprint(len(live)), "Items", fmt.Sprint(len(live)))
		default:
			c.Send("Response", "Error", "ActionID", id, "Message", "Invalid/unknown command")
		}
	}
}
