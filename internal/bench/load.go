package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faxgate/faxgate/internal/provider/phaxio"
)

// benchFax is an outbound fax the bench created and handed to "Phaxio":
// the gateway's id and the carrier's.
type benchFax struct {
	id  string
	pid int64
}

// benchPlan is the carrier callbacks of one scenario. Each fax gets
// transmitting_page callbacks for pages 1..pages and then fax_completed
// (the last fax may stop short); a fax's callbacks form a contiguous run of
// request indexes, sent in order by one client so that none is stale.
//
// The signatures, which cost the JSON and the HMAC, are computed before
// timing. The bodies are not kept: a client renders each again into its
// buffer as it sends it, a few appends of constant text around the fax's
// ids (well under a microsecond), so that a run does not hold ~850 bytes
// for every callback it will send.
type benchPlan struct {
	name   string
	pages  int
	faxes  []benchFax
	steps  []int // callbacks of each fax
	offset []int // request index of each fax's first callback
	// sigs holds each request's X-Phaxio-Signature (HMAC-SHA1), computed
	// before timing and kept raw: 20 bytes a callback.
	sigs [][sha1.Size]byte
	n    int
}

// newBenchPlan lays out n callbacks over faxes, pages+1 per fax.
func newBenchPlan(name string, faxes []benchFax, pages, n int) *benchPlan {
	p := &benchPlan{name: name, pages: pages}
	for _, f := range faxes {
		if p.n == n {
			break
		}
		k := min(pages+1, n-p.n)
		p.faxes = append(p.faxes, f)
		p.steps = append(p.steps, k)
		p.offset = append(p.offset, p.n)
		p.n += k
	}
	return p
}

// webhooks is how many user webhooks the plan's callbacks cause at an
// endpoint that wants every event: the first page also moves the fax from
// queued to sending.
func (p *benchPlan) webhooks() int {
	w := p.n
	for _, k := range p.steps {
		if k > 0 {
			w++
		}
	}
	return w
}

// sign computes every request's signature the way Phaxio does.
func (p *benchPlan) sign(token, publicURL string) {
	p.sigs = make([][sha1.Size]byte, p.n)
	var fj []byte
	for fi, f := range p.faxes {
		for s := 1; s <= p.steps[fi]; s++ {
			fj = appendFaxJSON(fj[:0], f.pid, p.pages, s)
			fields := map[string][]string{"fax": {string(fj)}}
			if s <= p.pages {
				fields["event_type"] = []string{"transmitting_page"}
				fields["page"] = []string{strconv.Itoa(s)}
				fields["recipient_phone_number"] = []string{benchTo}
			} else {
				fields["event_type"] = []string{"fax_completed"}
			}
			sig := phaxio.Sign(token, publicURL+callbackPath(f.id), fields, nil)
			if _, err := hex.Decode(p.sigs[p.offset[fi]+s-1][:], []byte(sig)); err != nil {
				panic("bench: phaxio.Sign gave " + sig)
			}
		}
	}
}

const (
	benchTo       = "+15557654321"
	benchBoundary = "------------------------faxgatebench7c41e8"
)

var benchContentType = "multipart/form-data; boundary=" + benchBoundary

func callbackPath(faxID string) string { return "/phaxio-callback?job_id=" + faxID }

// appendFaxJSON renders Phaxio's fax object for step s of a fax of pages
// pages: in progress for a page, success after the last.
func appendFaxJSON(dst []byte, pid int64, pages, s int) []byte {
	status, recip, done := "inprogress", "callactive", "null"
	if s > pages {
		status, recip, done = "success", "success", `"2026-03-14T20:09:38.000-06:00"`
	}
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, pid, 10)
	dst = append(dst, `,"direction":"sent","num_pages":`...)
	dst = strconv.AppendInt(dst, int64(pages), 10)
	dst = append(dst, `,"status":"`...)
	dst = append(dst, status...)
	dst = append(dst, `","is_test":false,"created_at":"2026-03-14T20:08:10.000-06:00","caller_id":"+15559870001","from_number":null,"completed_at":`...)
	dst = append(dst, done...)
	dst = append(dst, `,"cost":21,"to_number":null,"error_id":null,"error_type":null,"error_message":null,"tags":{},"barcodes":[],"recipients":[{"phone_number":"`+benchTo+`","status":"`...)
	dst = append(dst, recip...)
	dst = append(dst, `","retry_count":0,"completed_at":`...)
	dst = append(dst, done...)
	return append(dst, `,"bitrate":14400,"resolution":8040,"error_type":null,"error_id":null,"error_message":null}]}`...)
}

// appendCallback renders the multipart body Phaxio posts for step s.
func appendCallback(dst []byte, pid int64, pages, s int) []byte {
	field := func(name string) {
		dst = append(dst, "--"+benchBoundary+"\r\nContent-Disposition: form-data; name=\""...)
		dst = append(dst, name...)
		dst = append(dst, "\"\r\n\r\n"...)
	}
	field("fax")
	dst = appendFaxJSON(dst, pid, pages, s)
	dst = append(dst, "\r\n"...)
	field("event_type")
	if s <= pages {
		dst = append(dst, "transmitting_page\r\n"...)
		field("page")
		dst = strconv.AppendInt(dst, int64(s), 10)
		dst = append(dst, "\r\n"...)
		field("recipient_phone_number")
		dst = append(dst, benchTo+"\r\n"...)
	} else {
		dst = append(dst, "fax_completed\r\n"...)
	}
	return append(dst, "--"+benchBoundary+"--\r\n"...)
}

// loadResult is what one run of the load generator measured.
type loadResult struct {
	n        int
	elapsed  time.Duration
	lat      []time.Duration // per request
	errors   int64
	firstErr string
}

// loader drives HTTP load from a fixed pool of client goroutines, each
// with one keep-alive connection. The client is a minimal HTTP/1.1 one
// (write the request, read the status line, headers and a Content-Length
// or chunked body) rather than net/http's: the load generator shares the
// machine with the gateway, and the less CPU it takes, the more the
// figures say about the gateway. The ceiling is measured with the same
// client.
type loader struct {
	clients int
}

func newLoader(clients int) *loader { return &loader{clients: clients} }

// run posts every callback of p to base, at most rate a second (0: as fast
// as the clients go). sent, when not nil, receives each request's send time
// relative to epoch.
func (l *loader) run(ctx context.Context, base string, p *benchPlan, rate float64, epoch time.Time, sent []atomic.Int64) loadResult {
	return l.runOn(ctx, []string{base}, p, rate, epoch, sent)
}

// runOn is run spread over several gateways, as a load balancer spreads
// connections: client c keeps its connection to bases[c % len(bases)].
func (l *loader) runOn(ctx context.Context, bases []string, p *benchPlan, rate float64, epoch time.Time, sent []atomic.Int64) loadResult {
	res := loadResult{n: p.n, lat: make([]time.Duration, p.n)}
	var tokens chan struct{}
	stop := make(chan struct{})
	defer close(stop)
	start := time.Now()
	if rate > 0 {
		tokens = make(chan struct{}, l.clients)
		go pace(tokens, stop, rate, p.n, start)
	}
	var errs atomic.Int64
	var errOnce sync.Once
	var wg sync.WaitGroup
	for c := range l.clients {
		wg.Go(func() {
			host := strings.TrimPrefix(bases[c%len(bases)], "http://")
			hc := &rawClient{host: host}
			defer hc.close()
			var req []byte
			for fi := c; fi < len(p.faxes); fi += l.clients {
				f := p.faxes[fi]
				for s := 1; s <= p.steps[fi]; s++ {
					i := p.offset[fi] + s - 1
					if tokens != nil {
						select {
						case <-tokens:
						case <-ctx.Done():
							return
						}
					}
					req = appendCallbackRequest(req[:0], host, f, p.pages, s, &p.sigs[i])
					t := time.Now()
					if sent != nil {
						sent[i].Store(int64(t.Sub(epoch)))
					}
					code, err := hc.do(req)
					if err == nil && code != http.StatusOK {
						err = &statusError{code}
					}
					res.lat[i] = time.Since(t)
					if err != nil {
						errs.Add(1)
						errOnce.Do(func() { res.firstErr = err.Error() })
						if ctx.Err() != nil {
							return
						}
					}
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.errors = errs.Load()
	return res
}

// appendCallbackRequest renders the whole HTTP request of a callback.
func appendCallbackRequest(dst []byte, host string, f benchFax, pages, s int, sig *[sha1.Size]byte) []byte {
	var body [1280]byte
	b := appendCallback(body[:0], f.pid, pages, s)
	dst = append(dst, "POST "...)
	dst = append(dst, callbackPath(f.id)...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nUser-Agent: faxgate-bench\r\nContent-Type: "...)
	dst = append(dst, benchContentType...)
	dst = append(dst, "\r\n"+phaxio.SignatureHeader+": "...)
	dst = hex.AppendEncode(dst, sig[:])
	dst = append(dst, "\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, b...)
}

// rawClient is one keep-alive HTTP/1.1 connection that sends requests
// already rendered and reads just enough of each response.
type rawClient struct {
	host string
	conn net.Conn
	br   *bufio.Reader
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// do sends req and returns the response's status code. A connection that
// fails is closed, and the next request dials a new one.
func (c *rawClient) do(req []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.host, 5*time.Second)
		if err != nil {
			return 0, err
		}
		c.conn = conn
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 4096)
		} else {
			c.br.Reset(conn)
		}
	}
	c.conn.SetDeadline(time.Now().Add(60 * time.Second))
	code, keep, err := c.exchange(req)
	if err != nil || !keep {
		c.close()
	}
	return code, err
}

func (c *rawClient) exchange(req []byte) (code int, keep bool, err error) {
	if _, err := c.conn.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h := bytes.TrimRight(line, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		for {
			line, err := c.br.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
			n, err := strconv.ParseInt(string(size), 16, 64)
			if err != nil {
				return 0, false, fmt.Errorf("bad chunk size %q", size)
			}
			if _, err := c.br.Discard(int(n) + 2); err != nil {
				return 0, false, err
			}
			if n == 0 {
				break
			}
		}
	case length > 0:
		if _, err := c.br.Discard(length); err != nil {
			return 0, false, err
		}
	case length < 0:
		return code, false, nil // the body runs to the end of the connection
	}
	return code, keep, nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "answered " + strconv.Itoa(e.code) + ", want 200" }

// pace issues n tokens at rate a second from start; when the clients fall
// behind it waits for them.
func pace(tokens chan<- struct{}, stop <-chan struct{}, rate float64, n int, start time.Time) {
	issued := 0
	for issued < n {
		due := min(n, int(time.Since(start).Seconds()*rate)+1)
		for ; issued < due; issued++ {
			select {
			case tokens <- struct{}{}:
			case <-stop:
				return
			}
		}
		select {
		case <-stop:
			return
		case <-time.After(200 * time.Microsecond):
		}
	}
}
