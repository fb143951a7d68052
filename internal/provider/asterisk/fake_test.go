package asterisk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// AMI credentials the fake accepts.
const (
	amiUser   = "faxgate"
	amiSecret = "ami-S3cr3t-9Kq2Xw"
)

// fakeAMI is a loopback Asterisk manager interface speaking AMI's wire
// protocol: the banner, Login (accepted or refused), Ping, Hangup and
// Originate, whose answer each test scripts. It parses what the client
// sends with net/textproto, not with the package's own parser.
type fakeAMI struct {
	t  *testing.T
	ln net.Listener

	rejectLogin atomic.Bool
	ignorePing  atomic.Bool
	pings       atomic.Int32

	mu          sync.Mutex
	live        []fakeChannel // channels Status lists
	conns       []*fakeConn
	logins      int
	actions     []fakeAction
	onOriginate func(c *fakeConn, a fakeAction)
	wg          sync.WaitGroup
}

// fakeChannel is a call the fake has up.
type fakeChannel struct{ name, uniqueid, job string }

func (f *fakeAMI) setLive(chs ...fakeChannel) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live = chs
}

// fakeAction is one action as the fake received it.
type fakeAction struct {
	raw string
	h   textproto.MIMEHeader
}

func (a fakeAction) get(k string) string { return a.h.Get(k) }

type fakeConn struct {
	conn net.Conn
	wmu  sync.Mutex
}

// send writes one message from key, value pairs.
func (c *fakeConn) send(kv ...string) {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(kv[i] + ": " + kv[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.Write([]byte(b.String()))
}

func newFakeAMI(t *testing.T) *fakeAMI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAMI{t: t, ln: ln}
	f.onOriginate = func(c *fakeConn, a fakeAction) { queued(c, a) }
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(f.close)
	return f
}

func (f *fakeAMI) port() string {
	_, p, _ := net.SplitHostPort(f.ln.Addr().String())
	return p
}

func (f *fakeAMI) close() {
	f.ln.Close()
	f.dropAll()
	f.wg.Wait()
}

// dropAll closes every connection, as an Asterisk restart would.
func (f *fakeAMI) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.conn.Close()
	}
	f.conns = nil
}

func (f *fakeAMI) setOriginate(fn func(c *fakeConn, a fakeAction)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onOriginate = fn
}

func (f *fakeAMI) loginCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins
}

// received returns the actions named name, in order.
func (f *fakeAMI) received(name string) []fakeAction {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeAction
	for _, a := range f.actions {
		if strings.EqualFold(a.get("Action"), name) {
			out = append(out, a)
		}
	}
	return out
}

func (f *fakeAMI) accept() {
	defer f.wg.Done()
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return
		}
		c := &fakeConn{conn: conn}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer conn.Close()
			f.serve(c)
		}()
	}
}

func (f *fakeAMI) serve(c *fakeConn) {
	c.wmu.Lock()
	io.WriteString(c.conn, "Asterisk Call Manager/9.0.0\r\n")
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
				f.t.Errorf("fake AMI: line %q does not end in CRLF", line)
			}
			raw.WriteString(line)
		}
		h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(raw.String() + "\r\n"))).ReadMIMEHeader()
		if err != nil {
			f.t.Errorf("fake AMI: bad message %q: %v", raw.String(), err)
			return
		}
		a := fakeAction{raw: raw.String(), h: h}
		f.mu.Lock()
		f.actions = append(f.actions, a)
		onOriginate := f.onOriginate
		f.mu.Unlock()
		id := a.get("ActionID")
		switch action := strings.ToLower(a.get("Action")); {
		case action == "login":
			if f.rejectLogin.Load() || a.get("Username") != amiUser || a.get("Secret") != amiSecret {
				c.send("Response", "Error", "ActionID", id, "Message", "Authentication failed")
				return // Asterisk ends the session after a refused login
			}
			f.mu.Lock()
			f.logins++
			f.mu.Unlock()
			loggedIn = true
			c.send("Response", "Success", "ActionID", id, "Message", "Authentication accepted")
			c.send("Event", "FullyBooted", "Privilege", "system,all", "Uptime", "12", "Status", "Fully Booted")
		case !loggedIn:
			c.send("Response", "Error", "ActionID", id, "Message", "Permission denied")
		case action == "ping":
			f.pings.Add(1)
			if !f.ignorePing.Load() {
				c.send("Response", "Success", "ActionID", id, "Ping", "Pong", "Timestamp", "1700000000.000000")
			}
		case action == "hangup":
			c.send("Response", "Success", "ActionID", id, "Message", "Channel Hungup")
		case action == "originate":
			onOriginate(c, a)
		case action == "status":
			f.mu.Lock()
			live := append([]fakeChannel(nil), f.live...)
			f.mu.Unlock()
			c.send("Response", "Success", "ActionID", id, "EventList", "start", "Message", "Channel status will follow")
			for _, ch := range live {
				kv := []string{"Event", "Status", "Privilege", "Call", "ActionID", id, "Channel", ch.name,
					"ChannelState", "6", "ChannelStateDesc", "Up", "Uniqueid", ch.uniqueid, "Linkedid", ch.uniqueid}
				if a.get("Variables") != "" {
					kv = append(kv, "Variable", "FAXGATE_JOB="+ch.job)
				}
				c.send(kv...)
			}
			c.send("Event", "StatusComplete", "ActionID", id, "EventList", "Complete", "ListItems", fmt.Sprint(len(live)), "Items", fmt.Sprint(len(live)))
		default:
			c.send("Response", "Error", "ActionID", id, "Message", "Invalid/unknown command")
		}
	}
}

// queued answers an Originate as Asterisk does when it queued the call.
func queued(c *fakeConn, a fakeAction) {
	c.send("Response", "Success", "ActionID", a.get("ActionID"), "Message", "Originate successfully queued")
}

// originateResponse sends the OriginateResponse event for a.
func originateResponse(c *fakeConn, a fakeAction, response, reason, uid string) {
	c.send("Event", "OriginateResponse", "Privilege", "call,all", "ActionID", a.get("ActionID"),
		"Response", response, "Channel", "PJSIP/faxtrunk-0000002a", "Context", a.get("Context"), "Exten", a.get("Exten"),
		"Application", "", "Data", "", "Reason", reason, "Uniqueid", uid, "CallerIDNum", "<unknown>", "CallerIDName", "<unknown>")
}

// faxResultEvent sends the dialplan's UserEvent(FaxResult,…) for a's job.
func faxResultEvent(c *fakeConn, job, status, errText, pages, uid string) {
	c.send("Event", "UserEvent", "Privilege", "user,all", "Channel", "PJSIP/faxtrunk-0000002a",
		"ChannelState", "6", "ChannelStateDesc", "Up", "Uniqueid", uid, "Linkedid", uid,
		"UserEvent", "FaxResult", "Job", job, "Status", status, "Error", errText, "Pages", pages)
}

// variable returns the value of the Originate's Variable name.
func variable(a fakeAction, name string) string {
	for _, v := range a.h.Values("Variable") {
		if k, val, ok := strings.Cut(v, "="); ok && k == name {
			return val
		}
	}
	return ""
}

// recorder plays Config.Apply, keeping every update.
type recorder struct {
	mu  sync.Mutex
	ups []fax.Update
	ch  chan fax.Update
}

func newRecorder() *recorder { return &recorder{ch: make(chan fax.Update, 100)} }

func (r *recorder) apply(ctx context.Context, u *fax.Update) (fax.ApplyResult, error) {
	r.mu.Lock()
	r.ups = append(r.ups, *u)
	r.mu.Unlock()
	r.ch <- *u
	return fax.ApplyResult{FaxID: u.FaxID, Applied: true}, nil
}

// next waits for the next update.
func (r *recorder) next(t *testing.T) fax.Update {
	t.Helper()
	select {
	case u := <-r.ch:
		return u
	case <-time.After(5 * time.Second):
		t.Fatal("no update applied within 5s")
		return fax.Update{}
	}
}

// none checks that no update arrives within d.
func (r *recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case u := <-r.ch:
		t.Errorf("got update %+v, want none", u)
	case <-time.After(d):
	}
}

// gsOrStandIn returns Ghostscript's path, or a program that exists, for
// tests that send fax TIFFs and so never run Ghostscript.
func gsOrStandIn() string {
	if p, err := exec.LookPath("gs"); err == nil {
		return p
	}
	if p, err := exec.LookPath("true"); err == nil {
		return p
	}
	return "/bin/sh"
}

// senderConfig is a sending configuration against fake, with short waits.
func senderConfig(t *testing.T, fake *fakeAMI, rec *recorder) Config {
	t.Helper()
	return Config{
		SpoolDir: t.TempDir(),
		AMIHost:  "127.0.0.1", AMIPort: fake.port(), AMIUser: amiUser, AMISecret: amiSecret,
		Apply:           rec.apply,
		GhostscriptPath: gsOrStandIn(),
		ReconnectMin:    20 * time.Millisecond,
		ReconnectMax:    100 * time.Millisecond,
		PingInterval:    time.Hour,
		ActionTimeout:   2 * time.Second,
		ConnectWait:     2 * time.Second,
		FaxTimeout:      5 * time.Second,
	}
}

func newSender(t *testing.T, cfg Config) *Provider {
	t.Helper()
	p := mustNew(t, cfg)
	t.Cleanup(func() { p.Close() })
	return p
}

func outboundJob(id, to string) *fax.DispatchJob {
	return &fax.DispatchJob{Attempt: 1, Fax: &fax.Fax{
		ID: id, Direction: fax.Outbound, Status: fax.StatusQueued, To: to, From: "+15551230000",
		Provider: Name, HeaderText: "Acme Clinic, Inc. (front desk)",
	}}
}

// faxTIFF builds a valid TIFF/F: pages white pages of width × height dots,
// CCITT G4 at 204×196 dpi. All-white G4 rows are each one V0 code ("1");
// the strip ends with EOFB.
func faxTIFF(pages int, width, height uint32, compression uint16) []byte {
	var out bytes.Buffer
	le := binary.LittleEndian
	out.Write([]byte("II*\x00\x00\x00\x00\x00"))
	var prevNext int // offset of the previous IFD's next-IFD field
	for pg := 0; pg < pages; pg++ {
		// Strip: height one-bits, then EOFB (000000000001 twice).
		var bits []byte
		var cur byte
		n := 0
		put := func(b byte) {
			cur = cur<<1 | b
			n++
			if n == 8 {
				bits = append(bits, cur)
				cur, n = 0, 0
			}
		}
		for range height {
			put(1)
		}
		for range 2 {
			for range 11 {
				put(0)
			}
			put(1)
		}
		for n != 0 {
			put(0)
		}
		stripOff := out.Len()
		out.Write(bits)
		if out.Len()%2 == 1 {
			out.WriteByte(0)
		}
		resOff := out.Len()
		binary.Write(&out, le, [4]uint32{204, 1, 196, 1})
		ifdOff := out.Len()
		type entry struct {
			tag, typ uint16
			count    uint32
			value    uint32
		}
		entries := []entry{
			{254, typeLong, 1, 2},
			{tagImageWidth, typeLong, 1, width},
			{tagImageLength, typeLong, 1, height},
			{tagBitsPerSample, typeShort, 1, 1},
			{tagCompression, typeShort, 1, uint32(compression)},
			{262, typeShort, 1, 0},
			{273, typeLong, 1, uint32(stripOff)},
			{tagSamplesPerPixel, typeShort, 1, 1},
			{278, typeLong, 1, height},
			{279, typeLong, 1, uint32(len(bits))},
			{tagXResolution, typeRational, 1, uint32(resOff)},
			{tagYResolution, typeRational, 1, uint32(resOff + 8)},
			{tagResolutionUnit, typeShort, 1, 2},
			{297, typeShort, 2, uint32(pg) | uint32(pages)<<16},
		}
		binary.Write(&out, le, uint16(len(entries)))
		for _, e := range entries {
			binary.Write(&out, le, e.tag)
			binary.Write(&out, le, e.typ)
			binary.Write(&out, le, e.count)
			binary.Write(&out, le, e.value)
		}
		next := out.Len()
		binary.Write(&out, le, uint32(0))
		b := out.Bytes()
		if pg == 0 {
			le.PutUint32(b[4:], uint32(ifdOff))
		} else {
			le.PutUint32(b[prevNext:], uint32(ifdOff))
		}
		prevNext = next
	}
	return out.Bytes()
}

// samplePDF builds a small PDF by hand: pages US Letter pages, each with a
// line of Helvetica text, and a correct cross-reference table.
func samplePDF(pages int) []byte {
	var objs []string
	kids := make([]string, pages)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	objs = append(objs,
		"<< /Type /Catalog /Pages 2 0 R >>",
		fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	)
	for i := range pages {
		content := fmt.Sprintf("BT /F1 36 Tf 72 680 Td (faxgate test page %d) Tj ET\n0 0 0 RG 8 w 72 600 m 540 600 l S", i+1)
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content)+1, content),
		)
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}
