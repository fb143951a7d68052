package amitest

import (
	"bufio"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// client is a raw AMI client for checking the server's side of the wire.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *textproto.Reader
}

func dial(t *testing.T, s *Server) *client {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	c := &client{t: t, conn: conn, r: textproto.NewReader(bufio.NewReader(conn))}
	if banner, err := c.r.ReadLine(); err != nil || banner != Banner {
		t.Fatalf("banner: got %q, %v; want %q", banner, err, Banner)
	}
	return c
}

func (c *client) send(lines ...string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(strings.Join(lines, "\r\n") + "\r\n\r\n")); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) read() textproto.MIMEHeader {
	c.t.Helper()
	h, err := c.r.ReadMIMEHeader()
	if err != nil {
		c.t.Fatalf("read message: %v", err)
	}
	return h
}

func (c *client) login(user, secret string) textproto.MIMEHeader {
	c.t.Helper()
	c.send("Action: Login", "ActionID: 1", "Username: "+user, "Secret: "+secret)
	return c.read()
}

func TestLogin(t *testing.T) {
	s := NewServer(t, nil)
	c := dial(t, s)
	c.send("Action: Ping", "ActionID: 0")
	if h := c.read(); h.Get("Response") != "Error" || h.Get("Message") != "Permission denied" {
		t.Errorf("action before login: got %v, want Permission denied", h)
	}
	if h := c.login(User, "wrong"); h.Get("Response") != "Error" || h.Get("ActionID") != "1" {
		t.Errorf("wrong secret: got %v, want Response: Error", h)
	}
	if _, err := c.r.ReadLine(); err == nil {
		t.Error("the session stayed open after a refused login")
	}

	c = dial(t, s)
	if h := c.login(User, Secret); h.Get("Response") != "Success" || h.Get("Message") != "Authentication accepted" {
		t.Errorf("login: got %v", h)
	}
	if h := c.read(); h.Get("Event") != "FullyBooted" {
		t.Errorf("got %v, want FullyBooted", h)
	}
	c.send("Action: Ping", "ActionID: 2")
	if h := c.read(); h.Get("Ping") != "Pong" || h.Get("ActionID") != "2" {
		t.Errorf("ping: got %v", h)
	}
	if s.Logins() != 1 || s.Pings() != 1 {
		t.Errorf("got %d logins and %d pings, want 1 and 1", s.Logins(), s.Pings())
	}
}

func TestOriginateScripts(t *testing.T) {
	s := NewServer(t, &Options{Originate: Sequence(
		Answered("1700000000.1", "SUCCESS", "OK", 3),
		Unanswered(ReasonBusy),
		Queued,
	)})
	c := dial(t, s)
	c.login(User, Secret)
	c.read() // FullyBooted
	originate := func(job string) {
		c.send("Action: Originate", "ActionID: o-"+job, "Channel: PJSIP/15551234567@trunk", "Context: faxgate-out",
			"Exten: s", "Priority: 1", "Variable: FAXFILE=/spool/"+job+".tif", "Variable: FAXGATE_JOB="+job, "Async: true")
		if h := c.read(); h.Get("Response") != "Success" || h.Get("ActionID") != "o-"+job {
			t.Fatalf("originate %s: got %v, want queued", job, h)
		}
	}

	originate("a")
	if h := c.read(); h.Get("Event") != "OriginateResponse" || h.Get("Response") != "Success" || h.Get("Reason") != ReasonAnswered ||
		h.Get("ActionID") != "o-a" || h.Get("Uniqueid") != "1700000000.1" || h.Get("Channel") != ChannelName {
		t.Errorf("answered: got %v", h)
	}
	if h := c.read(); h.Get("Event") != "UserEvent" || h.Get("UserEvent") != "FaxResult" || h.Get("Job") != "a" ||
		h.Get("Status") != "SUCCESS" || h.Get("Pages") != "3" {
		t.Errorf("fax result: got %v", h)
	}

	originate("b")
	if h := c.read(); h.Get("Event") != "OriginateResponse" || h.Get("Response") != "Failure" || h.Get("Reason") != ReasonBusy {
		t.Errorf("busy: got %v", h)
	}

	originate("c") // queued, then silence
	c.send("Action: Ping", "ActionID: p")
	if h := c.read(); h.Get("ActionID") != "p" {
		t.Errorf("after a queued-only call the next message is %v, want the Ping's response", h)
	}

	got := s.Received("originate")
	if len(got) != 3 || got[0].Variable("FAXGATE_JOB") != "a" || got[2].Variable("FAXFILE") != "/spool/c.tif" ||
		!strings.HasPrefix(got[0].Raw, "Action: Originate\r\n") {
		t.Errorf("received: got %+v", got)
	}
}

func TestStatusAndDrop(t *testing.T) {
	s := NewServer(t, nil)
	s.SetLive(Channel{Name: "PJSIP/faxtrunk-1", Uniqueid: "1.1", Job: "fax_1"})
	c := dial(t, s)
	c.login(User, Secret)
	c.read()
	c.send("Action: Status", "ActionID: s", "Variables: FAXGATE_JOB")
	if h := c.read(); h.Get("EventList") != "start" {
		t.Errorf("got %v, want the list's start", h)
	}
	if h := c.read(); h.Get("Event") != "Status" || h.Get("Variable") != "FAXGATE_JOB=fax_1" || h.Get("Channel") != "PJSIP/faxtrunk-1" {
		t.Errorf("got %v, want the live channel", h)
	}
	if h := c.read(); h.Get("Event") != "StatusComplete" || h.Get("ListItems") != "1" {
		t.Errorf("got %v, want StatusComplete", h)
	}
	s.DropAll()
	if _, err := c.r.ReadLine(); err == nil {
		t.Error("DropAll left the connection open")
	}
	s.Close()
	s.Close() // harmless twice
}
