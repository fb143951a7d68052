package asterisk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// amiOptions configure an amiClient; zero durations are not allowed here
// (the Provider fills in defaults).
type amiOptions struct {
	addr, user, secret string
	backoffMin         time.Duration // first reconnect delay
	backoffMax         time.Duration // cap of the doubling delay
	pingEvery          time.Duration // keepalive period
	actionTimeout      time.Duration // wait for a response, and for the handshake
	// onEvent receives every event, on the reader goroutine: it must hand
	// work off rather than block for long.
	onEvent func(Message)
	log     *slog.Logger
}

// amiClient keeps one logged-in AMI session to Asterisk: it dials, reads the
// banner, logs in, then one reader goroutine routes responses to the action
// waiting for their ActionID and events to onEvent. When the connection
// drops it fails the actions in flight on it and dials again after a
// capped, jittered exponential backoff. A Ping every pingEvery finds dead
// connections that TCP alone would not.
type amiClient struct {
	opt    amiOptions
	seq    atomic.Uint64
	ctx    context.Context // ends with close
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	mu       sync.Mutex
	sess     *amiSession   // nil while disconnected
	lastErr  error         // why the last attempt or session ended
	attempts int           // connection attempts finished, for waiters
	changed  chan struct{} // closed and replaced at every state change
}

// amiSession is one connection, logged in.
type amiSession struct {
	conn    net.Conn
	r       *bufio.Reader
	wmu     sync.Mutex // one writer at a time
	mu      sync.Mutex
	pending map[string]chan Message // by ActionID
	lists   map[string]*eventList   // event lists being collected, by ActionID
	dead    chan struct{}           // closed when the session ends
	err     error                   // why it ended; set before dead closes
}

// maxListEvents bounds an event list (Status lists every channel): more is
// refused rather than kept.
const maxListEvents = 10000

// eventList collects the events an action answers with (Status, …), which
// carry its ActionID, until the one marked "EventList: Complete".
type eventList struct {
	events   []Message
	overflow bool
	done     chan struct{}
}

// actionError is a failed action; written says whether Asterisk may have
// received it, which decides between trying again and asking first.
type actionError struct {
	written bool
	err     error
}

func (e *actionError) Error() string { return e.err.Error() }
func (e *actionError) Unwrap() error { return e.err }

// loginError is Asterisk refusing the credentials; its text never holds the
// secret.
type loginError struct{ user, message string }

func (e *loginError) Error() string {
	return fmt.Sprintf("asterisk: AMI login as %q refused: %s (check ASTERISK_AMI_USER and ASTERISK_AMI_SECRET)", e.user, e.message)
}

func newAMIClient(opt amiOptions) *amiClient {
	ctx, cancel := context.WithCancel(context.Background())
	return &amiClient{opt: opt, ctx: ctx, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{})}
}

// start runs the connection loop until close.
func (c *amiClient) start() { go c.run() }

// close ends the client: the session is closed, actions in flight fail and
// the loop returns before close does.
func (c *amiClient) close() {
	c.cancel()
	c.mu.Lock()
	s := c.sess
	c.mu.Unlock()
	if s != nil {
		s.conn.Close()
	}
	<-c.done
}

func (c *amiClient) run() {
	defer close(c.done)
	failures := 0
	for c.ctx.Err() == nil {
		s, err := c.connect()
		if err != nil {
			failures++
			c.setState(nil, err, true)
			if c.ctx.Err() == nil {
				c.opt.log.Warn("AMI connection failed; retrying", "provider", Name, "err", err, "attempt", failures)
			}
			if !c.sleep(c.backoff(failures)) {
				return
			}
			continue
		}
		failures = 0
		// Closing the client closes the session, even one that close did
		// not see yet.
		stopClose := context.AfterFunc(c.ctx, func() { s.conn.Close() })
		c.setState(s, nil, true)
		c.opt.log.Info("AMI connected", "provider", Name, "addr", c.opt.addr)
		go c.keepalive(s)
		err = c.read(s)
		stopClose()
		s.end(err)
		c.setState(nil, err, false)
		if c.ctx.Err() != nil {
			return
		}
		c.opt.log.Warn("AMI connection lost; reconnecting", "provider", Name, "err", err)
		if !c.sleep(c.backoff(1)) {
			return
		}
	}
}

// backoff is the wait before reconnect attempt n (1-based): backoffMin
// doubling up to backoffMax, then a random point in its upper half, so that
// several gateways do not reconnect in step.
func (c *amiClient) backoff(n int) time.Duration {
	d := c.opt.backoffMin
	for i := 1; i < n && d < c.opt.backoffMax; i++ {
		d *= 2
	}
	d = min(d, c.opt.backoffMax)
	half := d / 2
	return half + rand.N(half+1)
}

func (c *amiClient) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// setState records the current session (nil when down) and why the last
// one ended, and wakes every waiter.
func (c *amiClient) setState(s *amiSession, err error, attempt bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sess = s
	if err != nil {
		c.lastErr = err
	}
	if attempt {
		c.attempts++
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// connect dials, reads the banner and logs in, all within actionTimeout.
func (c *amiClient) connect() (*amiSession, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opt.actionTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.opt.addr)
	if err != nil {
		return nil, fmt.Errorf("asterisk: connect to AMI at %s: %w", c.opt.addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	s := &amiSession{conn: conn, r: newReader(conn), pending: map[string]chan Message{}, lists: map[string]*eventList{}, dead: make(chan struct{})}
	if err := c.handshake(s); err != nil {
		conn.Close()
		if ctx.Err() != nil && c.ctx.Err() == nil {
			err = fmt.Errorf("%w (no answer within %v)", err, c.opt.actionTimeout)
		}
		return nil, err
	}
	if !stop() {
		conn.Close()
		return nil, fmt.Errorf("asterisk: AMI login at %s timed out", c.opt.addr)
	}
	return s, nil
}

// handshake reads the banner and logs in. Events cannot arrive before the
// login succeeds, so the login's response is read here, not by the reader.
func (c *amiClient) handshake(s *amiSession) error {
	banner, err := readLine(s.r)
	if err != nil {
		return fmt.Errorf("asterisk: read AMI banner from %s: %w", c.opt.addr, err)
	}
	if !strings.HasPrefix(banner, "Asterisk Call Manager/") {
		return fmt.Errorf("asterisk: %s does not speak AMI: banner %q", c.opt.addr, carrier.Clip(banner, 80))
	}
	id := c.nextID("login")
	b, err := encodeMessage([]Field{
		{"Action", "Login"}, {"ActionID", id}, {"Username", c.opt.user}, {"Secret", c.opt.secret},
		// Only what faxgate reads: OriginateResponse is a call event,
		// FaxResult a user event.
		{"Events", "call,user"},
	})
	if err != nil {
		return fmt.Errorf("asterisk: AMI login: ASTERISK_AMI_USER or ASTERISK_AMI_SECRET holds a line break")
	}
	if _, err := s.conn.Write(b); err != nil {
		return fmt.Errorf("asterisk: AMI login at %s: %w", c.opt.addr, err)
	}
	for {
		m, err := readMessage(s.r)
		if err != nil {
			return fmt.Errorf("asterisk: AMI login at %s: %w", c.opt.addr, err)
		}
		if m.Has("Event") || m.Get("ActionID") != id {
			continue
		}
		if strings.EqualFold(m.Get("Response"), "Success") {
			return nil
		}
		msg := carrier.Clip(m.Get("Message"), 200)
		if msg == "" {
			msg = "Response: " + carrier.Clip(m.Get("Response"), 40)
		}
		return &loginError{user: c.opt.user, message: msg}
	}
}

// read routes messages until the connection fails.
func (c *amiClient) read(s *amiSession) error {
	for {
		m, err := readMessage(s.r)
		if err != nil {
			return err
		}
		switch {
		case m.Has("Event"):
			if s.collect(m) {
				continue
			}
			if c.opt.onEvent != nil {
				c.opt.onEvent(m)
			}
		case m.Get("ActionID") != "":
			s.deliver(m.Get("ActionID"), m)
		}
	}
}

// keepalive pings while the session lives; a ping without an answer ends
// the session, and the run loop dials again.
func (c *amiClient) keepalive(s *amiSession) {
	t := time.NewTicker(c.opt.pingEvery)
	defer t.Stop()
	for {
		select {
		case <-s.dead:
			return
		case <-t.C:
			if _, err := c.actionOn(c.ctx, s, "Ping"); err != nil {
				if s.alive() && c.ctx.Err() == nil {
					c.opt.log.Warn("AMI ping failed; dropping the connection", "provider", Name, "err", err)
				}
				s.conn.Close()
				return
			}
		}
	}
}

func (c *amiClient) nextID(kind string) string {
	return "faxgate:" + kind + ":" + strconv.FormatUint(c.seq.Add(1), 10)
}

// current returns the live session or nil.
func (c *amiClient) current() *amiSession {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// waitReady returns the live session, waiting for one at most wait: until
// a connection attempt that ends after the call began fails, wait passes or
// ctx ends. The error says why Asterisk cannot be reached.
func (c *amiClient) waitReady(ctx context.Context, wait time.Duration) (*amiSession, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	c.mu.Lock()
	start := c.attempts
	for {
		if c.sess != nil {
			s := c.sess
			c.mu.Unlock()
			return s, nil
		}
		if c.ctx.Err() != nil {
			c.mu.Unlock()
			return nil, errors.New("asterisk: AMI client is closed")
		}
		if c.attempts > start && c.lastErr != nil {
			err := c.lastErr
			c.mu.Unlock()
			return nil, err
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			c.mu.Lock()
			err := c.lastErr
			c.mu.Unlock()
			if err == nil {
				err = fmt.Errorf("asterisk: AMI at %s not connected after %v", c.opt.addr, wait)
			}
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
	}
}

// action sends an action on the live session and waits for its response.
func (c *amiClient) action(ctx context.Context, name string, fields ...Field) (Message, error) {
	s := c.current()
	if s == nil {
		c.mu.Lock()
		err := c.lastErr
		c.mu.Unlock()
		if err == nil {
			err = errors.New("not connected")
		}
		return Message{}, &actionError{err: fmt.Errorf("asterisk: AMI %s: %w", name, err)}
	}
	return c.actionOn(ctx, s, name, fields...)
}

// actionOn sends an action on s and waits for the response with its
// ActionID. A failed write is never seen by Asterisk (a message counts only
// once its blank line arrives, and the connection is closed); once written,
// a lost connection, a timeout or ctx leaves the outcome unknown.
func (c *amiClient) actionOn(ctx context.Context, s *amiSession, name string, fields ...Field) (Message, error) {
	id := c.nextID(strings.ToLower(name))
	if a := actionIDOf(fields); a != "" {
		id = a
	} else {
		fields = append([]Field{{"ActionID", id}}, fields...)
	}
	b, err := encodeMessage(append([]Field{{"Action", name}}, fields...))
	if err != nil {
		return Message{}, &actionError{err: fmt.Errorf("asterisk: AMI %s: %w", name, err)}
	}
	ch := make(chan Message, 1)
	if !s.register(id, ch) {
		return Message{}, &actionError{err: fmt.Errorf("asterisk: AMI %s: %w", name, s.cause())}
	}
	defer s.unregister(id)
	if err := s.write(b, c.opt.actionTimeout); err != nil {
		s.conn.Close()
		return Message{}, &actionError{err: fmt.Errorf("asterisk: AMI %s: write: %w", name, err)}
	}
	t := time.NewTimer(c.opt.actionTimeout)
	defer t.Stop()
	select {
	case m := <-ch:
		return m, nil
	case <-s.dead:
		// The response may have arrived just before the end.
		select {
		case m := <-ch:
			return m, nil
		default:
		}
		return Message{}, &actionError{written: true, err: fmt.Errorf("asterisk: AMI %s: connection lost before the response: %w", name, s.cause())}
	case <-t.C:
		// A manager that does not answer is stuck: start afresh.
		s.conn.Close()
		return Message{}, &actionError{written: true, err: fmt.Errorf("asterisk: AMI %s: no response within %v", name, c.opt.actionTimeout)}
	case <-ctx.Done():
		return Message{}, &actionError{written: true, err: fmt.Errorf("asterisk: AMI %s: %w", name, ctx.Err())}
	}
}

// actionList sends an action answered by a list of events (Status, …) and
// returns its response and, when that is a success, the events listed.
func (c *amiClient) actionList(ctx context.Context, name string, fields ...Field) (Message, []Message, error) {
	s := c.current()
	if s == nil {
		return Message{}, nil, &actionError{err: fmt.Errorf("asterisk: AMI %s: not connected", name)}
	}
	id := c.nextID(strings.ToLower(name))
	l := &eventList{done: make(chan struct{})}
	if !s.registerList(id, l) {
		return Message{}, nil, &actionError{err: fmt.Errorf("asterisk: AMI %s: %w", name, s.cause())}
	}
	defer s.unregisterList(id)
	resp, err := c.actionOn(ctx, s, name, append([]Field{{"ActionID", id}}, fields...)...)
	if err != nil || !strings.EqualFold(resp.Get("Response"), "Success") {
		return resp, nil, err
	}
	t := time.NewTimer(c.opt.actionTimeout)
	defer t.Stop()
	select {
	case <-l.done:
	case <-s.dead:
		return resp, nil, &actionError{written: true, err: fmt.Errorf("asterisk: AMI %s: connection lost during the list: %w", name, s.cause())}
	case <-t.C:
		return resp, nil, &actionError{written: true, err: fmt.Errorf("asterisk: AMI %s: list not complete within %v", name, c.opt.actionTimeout)}
	case <-ctx.Done():
		return resp, nil, &actionError{written: true, err: fmt.Errorf("asterisk: AMI %s: %w", name, ctx.Err())}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.overflow {
		return resp, nil, fmt.Errorf("asterisk: AMI %s: more than %d events listed", name, maxListEvents)
	}
	return resp, l.events, nil
}

func (s *amiSession) registerList(id string, l *eventList) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lists == nil {
		return false
	}
	s.lists[id] = l
	return true
}

func (s *amiSession) unregisterList(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lists != nil {
		delete(s.lists, id)
	}
}

// collect keeps an event that belongs to an event list being collected and
// reports whether it did.
func (s *amiSession) collect(m Message) bool {
	id := m.Get("ActionID")
	if id == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lists[id]
	if l == nil {
		return false
	}
	select {
	case <-l.done:
		return true // after the end: a duplicate, dropped
	default:
	}
	if strings.EqualFold(m.Get("EventList"), "Complete") {
		close(l.done)
		return true
	}
	if len(l.events) >= maxListEvents {
		l.overflow = true
	} else {
		l.events = append(l.events, m)
	}
	return true
}

func actionIDOf(fields []Field) string {
	for _, f := range fields {
		if strings.EqualFold(f.Key, "ActionID") {
			return f.Value
		}
	}
	return ""
}

func (s *amiSession) write(b []byte, timeout time.Duration) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := s.conn.Write(b)
	return err
}

func (s *amiSession) register(id string, ch chan Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		return false
	}
	s.pending[id] = ch
	return true
}

func (s *amiSession) unregister(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending != nil {
		delete(s.pending, id)
	}
}

func (s *amiSession) deliver(id string, m Message) {
	s.mu.Lock()
	ch := s.pending[id]
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- m:
		default: // a second response to one action: keep the first
		}
	}
}

// end fails the actions in flight and marks the session dead.
func (s *amiSession) end(err error) {
	s.conn.Close()
	s.mu.Lock()
	if err == nil {
		err = errors.New("connection closed")
	}
	s.err = err
	s.pending = nil
	s.lists = nil
	s.mu.Unlock()
	close(s.dead)
}

func (s *amiSession) alive() bool {
	select {
	case <-s.dead:
		return false
	default:
		return true
	}
}

func (s *amiSession) cause() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return errors.New("connection closed")
	}
	return s.err
}
