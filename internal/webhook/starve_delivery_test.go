package webhook

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/email"
	"github.com/faxgate/faxgate/internal/email/smtptest"
	"github.com/faxgate/faxgate/internal/fax"
)

// stallServer is a raw TCP server on loopback that accepts every connection
// and reads the request, then either never answers or trickles the status
// line a byte at a time, so that each attempt runs to the client's timeout.
type stallServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
	done  chan struct{}
}

func newStallServer(t *testing.T, trickle bool) *stallServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stallServer{ln: ln, done: make(chan struct{})}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() { s.serve(c, trickle) })
		}
	})
	t.Cleanup(s.close)
	return s
}

func (s *stallServer) serve(c net.Conn, trickle bool) {
	go io.Copy(io.Discard, c)
	if !trickle {
		<-s.done
		return
	}
	for _, b := range []byte("HTTP/1.1 200 OK\r\n") {
		select {
		case <-s.done:
			return
		case <-time.After(500 * time.Millisecond):
		}
		if _, err := c.Write([]byte{b}); err != nil {
			return
		}
	}
	<-s.done
}

func (s *stallServer) url() string { return "http://" + s.ln.Addr().String() }

// close drops every connection, which ends the attempts still waiting.
func (s *stallServer) close() {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
	}
	close(s.done)
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}

// runStarveCase adds, for each of n events, one delivery to each stalled
// endpoint (first, as the older ones) and one to the healthy receiver, runs
// the worker, and checks that the healthy receiver gets all n. The lease is
// an hour, so a healthy delivery dropped back to its lease cannot come back
// before the generous deadline: the count says whether the stalled
// endpoints cost the healthy one any delivery.
func runStarveCase(t *testing.T, stalled []string, n int, opts Options, closeStalled func()) {
	t.Helper()
	healthy := newReceiver(t)
	store := newFakeStore()
	for i := range n {
		for k, u := range stalled {
			id := "s" + strconv.Itoa(k)
			store.add(jobTo("dlv_"+id+"_"+strconv.Itoa(i), "we_"+id, u))
		}
		store.add(jobTo("dlv_h_"+strconv.Itoa(i), "we_healthy", healthy.srv.URL))
	}
	opts.Now = time.Now
	opts.LeaseFor = time.Hour
	opts.PollInterval = 20 * time.Millisecond
	if opts.Client == nil {
		opts.Client = NewClient(ClientOptions{AllowNetworks: loopback(), Timeout: 20 * time.Second})
	}
	w := NewWorker(store, opts)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()

	deadline := time.Now().Add(45 * time.Second)
	for len(healthy.got()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := len(healthy.got())
	closeStalled()
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got != n {
		t.Fatalf("healthy endpoint got %d of %d events beside %d stalled endpoints, want all", got, n, len(stalled))
	}
}

// TestStalledReceiversDoNotStarveHealthy: an endpoint that never answers and
// one that trickles its status line, each with a backlog, beside a healthy
// endpoint.
func TestStalledReceiversDoNotStarveHealthy(t *testing.T) {
	t.Parallel()
	stall, trickle := newStallServer(t, false), newStallServer(t, true)
	runStarveCase(t, []string{stall.url(), trickle.url()}, 300, Options{}, func() { stall.close(); trickle.close() })
}

// TestManySlowEndpointsOnOneHostDoNotStarveHealthy: 100 endpoints on one
// host that never answers share that host's limit instead of taking every
// worker.
func TestManySlowEndpointsOnOneHostDoNotStarveHealthy(t *testing.T) {
	t.Parallel()
	stall := newStallServer(t, false)
	urls := make([]string, 100)
	for i := range urls {
		urls[i] = stall.url() + "/hook/" + strconv.Itoa(i)
	}
	runStarveCase(t, urls, 5, Options{}, stall.close)
}

// TestManyStalledHostsDoNotStarveHealthy: 100 endpoints that never
// answer, each on a host of its own, more than the workers: their attempts
// are handed off instead of holding the workers until the timeout.
func TestManyStalledHostsDoNotStarveHealthy(t *testing.T) {
	t.Parallel()
	var (
		urls    []string
		servers []*stallServer
	)
	for range 100 {
		s := newStallServer(t, false)
		servers = append(servers, s)
		urls = append(urls, s.url())
	}
	runStarveCase(t, urls, 5, Options{}, func() {
		for _, s := range servers {
			s.close()
		}
	})
}

// slowRelay is a Sender through the repo's SMTP peer, whose DATA answers only
// once the test releases it.
func slowRelay(t *testing.T) (*email.Sender, func()) {
	t.Helper()
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	srv := smtptest.NewServer(t, smtptest.Options{Data: func([]byte) (int, string) {
		<-release
		return 0, ""
	}})
	t.Cleanup(unblock) // before the server's Close, which waits for sessions
	sender, err := email.New(email.Config{URL: srv.URL("smtp", "", "", ""), From: "faxgate@example.com", Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return sender, unblock
}

// TestSlowSMTPRelayDoesNotStarveHealthy: four mailto: endpoints on one slow
// relay beside a healthy HTTP endpoint.
func TestSlowSMTPRelayDoesNotStarveHealthy(t *testing.T) {
	t.Parallel()
	sender, unblock := slowRelay(t)
	mailtos := []string{"mailto:a@example.com", "mailto:b@example.com", "mailto:c@example.com", "mailto:d@example.com"}
	runStarveCase(t, mailtos, 200, Options{Email: sender}, unblock)
}

// TestGateEvictsFromTheLargestHold: with the total held reached, a job for a
// destination holding few takes the place of the newest job of the one
// holding the most; a job of the largest holder is dropped itself.
func TestGateEvictsFromTheLargestHold(t *testing.T) {
	t0 := newFakeClock().Now()
	job := func(id string) *fax.DeliveryJob {
		j := jobTo(id, "we_"+id, "http://x")
		return &j
	}
	g := newGate(1, -1, 3, 0)
	for _, id := range []string{"s0", "s1", "s2", "s3"} {
		g.admit(heldJob{job: job(id), key: "stalled", since: t0}) // s0 runs, s1..s3 are held
	}
	h0, h1 := job("h0"), job("h1")
	if a, _ := g.admit(heldJob{job: h0, key: "healthy", since: t0}); a != admitStart {
		t.Fatalf("admit(h0) = %v, want start", a)
	}
	a, evicted := g.admit(heldJob{job: h1, key: "healthy", since: t0})
	if a != admitHold || evicted == nil || evicted.Delivery.ID != "s3" {
		t.Fatalf("admit(h1) = %v, evicted %v; want held in place of s3", a, evicted)
	}
	if a, evicted := g.admit(heldJob{job: job("s4"), key: "stalled", since: t0}); a != admitDrop || evicted != nil {
		t.Errorf("admit(s4) = %v, evicted %v; want dropped: the stalled destination holds the most", a, evicted)
	}
	if next, _ := g.done("healthy", t0); next.job != h1 {
		t.Errorf("done(healthy) started %v, want h1", next.job)
	}
}

// TestGateEvictsStalledFirst: a stalled destination gives up its held jobs
// to one that is not, even holding fewer; a stalled one never takes the
// place of one that is not.
func TestGateEvictsStalledFirst(t *testing.T) {
	t0 := newFakeClock().Now()
	job := func(id string) *fax.DeliveryJob {
		j := jobTo(id, "we_"+id, "http://x")
		return &j
	}
	g := newGate(1, -1, 4, 0)
	g.stalled = func(key string) bool { return key == "stalled" }
	for _, id := range []string{"f0", "f1", "f2", "f3"} {
		g.admit(heldJob{job: job(id), key: "fast", since: t0}) // f0 runs, f1..f3 are held
	}
	for _, id := range []string{"s0", "s1", "s2"} {
		g.admit(heldJob{job: job(id), key: "stalled", since: t0}) // s0 runs, s1 is held, s2 is dropped
	}
	if a, evicted := g.admit(heldJob{job: job("f4"), key: "fast", since: t0}); a != admitHold || evicted == nil || evicted.Delivery.ID != "s1" {
		t.Errorf("admit(f4) = %v, evicted %v; want held in place of the stalled s1", a, evicted)
	}
	if a, evicted := g.admit(heldJob{job: job("s3"), key: "stalled", since: t0}); a != admitDrop || evicted != nil {
		t.Errorf("admit(s3) = %v, evicted %v; want dropped", a, evicted)
	}
}

// TestGateCapComesDown: when a key's cap comes down, its running attempts
// end without starting held ones until it is under the new cap.
func TestGateCapComesDown(t *testing.T) {
	t0 := newFakeClock().Now()
	job := func(id string) *fax.DeliveryJob {
		j := jobTo(id, "we_"+id, "http://x")
		return &j
	}
	g := newGate(3, -1, -1, 0)
	capNow := 3
	g.capFor = func(string) int { return capNow }
	for _, id := range []string{"a0", "a1", "a2", "a3", "a4"} {
		g.admit(heldJob{job: job(id), key: "a", since: t0}) // a0..a2 run, a3 and a4 are held
	}
	capNow = 1
	for i := range 2 {
		if next, _ := g.done("a", t0); next.job != nil {
			t.Fatalf("done %d started %s over the lowered cap", i, next.job.Delivery.ID)
		}
	}
	if next, _ := g.done("a", t0); next.job == nil || next.job.Delivery.ID != "a3" {
		t.Errorf("done at the cap started %v, want a3", next.job)
	}
	if a, _ := g.admit(heldJob{job: job("a5"), key: "a", since: t0}); a != admitHold {
		t.Errorf("admit(a5) = %v, want held at the lowered cap", a)
	}
}
