package bench

// faxgate bench --instances N: N `faxgate serve` children of this binary on
// one PostgreSQL database, each on its own loopback port with its own data
// directory and one shared document directory, as several instances run
// behind a load balancer. The load is spread the way a balancer spreads
// connections: each client keeps its connection to one instance, the
// clients taking the instances in turn. The bench measures the fleet's
// total throughput and checks that no work was claimed twice: the receiver
// counts the webhooks of each webhook-id, the fake carrier the sends of
// each fax, and any repeat fails the run.
//
// The children's webhook workers cannot be paused from here, so the
// scenarios differ from a single gateway's: the drain backlog is built by
// a gateway in this process before the children start and is measured from
// the tenth webhook on (past the children's start-up), and ingest runs with
// the workers delivering what it causes.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/webhook"
)

// InstancesResults is what a --instances run measured.
type InstancesResults struct {
	Machine   Machine `json:"machine"`
	Instances int     `json:"instances"`
	Clients   int     `json:"clients"`
	Pages     int     `json:"pages_per_fax"`
	Ingest    Figure  `json:"ingest"`
	Drain     Figure  `json:"drain"`
	Sends     Figure  `json:"sends"`
	EndToEnd  Figure  `json:"end_to_end"`
	// DuplicateWebhooks counts webhooks whose webhook-id had arrived
	// before; DuplicateSends counts faxes handed to the carrier again.
	DuplicateWebhooks int64    `json:"duplicate_webhooks"`
	DuplicateSends    int64    `json:"duplicate_sends"`
	Errors            []string `json:"errors,omitempty"`
}

// child is one `faxgate serve` of the fleet.
type child struct {
	cmd    *exec.Cmd
	url    string
	exited chan error
}

func (b *bench) runInstances(ctx context.Context, stdout io.Writer) error {
	o := b.o
	cleanup, err := b.prepare()
	if err != nil {
		return err
	}
	defer cleanup()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: the faxgate executable: %w", err)
	}
	secret := webhook.NewSecret()
	if b.recv, err = newBenchReceiver(secret); err != nil {
		return fmt.Errorf("bench: receiver: %w", err)
	}
	defer b.recv.close()
	b.recv.ids = map[string]int32{}

	// The faxes, the endpoint and the drain's backlog are made by a gateway
	// in this process, which then closes the database for the children.
	e2eN := int(o.e2eRate * o.e2eDuration.Seconds())
	perFax := o.pages + 1
	nFax := ceilDiv(o.ingest, perFax) + ceilDiv(o.drain, o.pages+2) + ceilDiv(e2eN, perFax)
	b.say("creating %d faxes (%d pages each) and the webhook endpoint", nFax, o.pages)
	var faxes []benchFax
	g, err := b.start(ctx, func(st Store) error {
		var err error
		faxes, err = b.setup(ctx, st, nFax, secret)
		return err
	})
	if err != nil {
		return err
	}
	ingestPlan := newBenchPlan("ingest", faxes, o.pages, o.ingest)
	faxes = faxes[len(ingestPlan.faxes):]
	drainPlan := newBenchPlan("drain", faxes, o.pages, callbacksFor(o.drain, o.pages))
	faxes = faxes[len(drainPlan.faxes):]
	e2ePlan := newBenchPlan("end to end", faxes, o.pages, e2eN)
	for _, p := range []*benchPlan{ingestPlan, drainPlan, e2ePlan} {
		p.sign(b.token, b.cfg.PublicURL)
	}
	load := newLoader(o.clients)
	b.say("building a backlog of %d deliveries", drainPlan.webhooks())
	if err := g.stopWorker(); err != nil {
		g.stop()
		return fmt.Errorf("bench: stopping the webhook worker: %w", err)
	}
	lr := load.run(ctx, g.gw.URL(), drainPlan, 0, time.Now(), nil)
	if err := g.stop(); err != nil {
		return fmt.Errorf("bench: stopping the setup gateway: %w", err)
	}
	res := &InstancesResults{Machine: newMachine(o), Instances: o.instances, Clients: o.clients, Pages: o.pages}
	res.addErrors("drain backlog", lr)
	timeout := func(n int) time.Duration { return 30*time.Second + time.Duration(n)*time.Millisecond }

	// The fleet. It starts delivering the backlog as each instance comes up.
	children, err := b.startChildren(ctx, exe)
	stopped := false
	defer func() {
		if !stopped {
			stopChildren(children, res)
		}
	}()
	if err != nil {
		return err
	}
	urls := make([]string, len(children))
	for i, c := range children {
		urls[i] = c.url
	}

	// Drain, from the tenth webhook on.
	n := int64(drainPlan.webhooks())
	first := max(n/10, 1)
	var t0 time.Time
	err = b.recv.waitVerified(ctx, first, timeout(int(n)))
	t0 = time.Now()
	if err == nil {
		err = b.recv.waitVerified(ctx, n, timeout(int(n)))
	}
	res.Drain = rateFigure("drain", int(n-first), time.Since(t0))
	if err != nil {
		res.Errors = append(res.Errors, "drain: "+err.Error())
		res.Drain.Errors++
	}

	// Ingest, spread over the fleet.
	b.say("ingest: %d callbacks, %d clients over %d instances", ingestPlan.n, o.clients, len(urls))
	base := b.recv.verified.Load()
	lr = load.runOn(ctx, urls, ingestPlan, 0, time.Now(), nil)
	res.Ingest = loadFigure("ingest", lr)
	res.addErrors("ingest", lr)
	if err := b.recv.waitVerified(ctx, base+int64(ingestPlan.webhooks()), timeout(ingestPlan.webhooks())); err != nil {
		res.Errors = append(res.Errors, "ingest's webhooks: "+err.Error())
	}

	// Sends through the API, spread over the fleet, until the carrier has
	// every one.
	b.say("sends: %d faxes through the API, %d clients over %d instances", o.sends, o.clients, len(urls))
	start := time.Now()
	res.Sends = b.sendAll(ctx, urls, o.sends)
	if res.Sends.Errors > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("sends: %d of %d failed (%s)", res.Sends.Errors, o.sends, res.Sends.Note))
	}
	if err := b.waitSent(ctx, int64(o.sends), timeout(o.sends)); err != nil {
		res.Errors = append(res.Errors, "sends: "+err.Error())
		res.Sends.Errors++
	}
	// The rate is the carrier's: sends it received a second, from the
	// first POST /v1/faxes to the last fax handed over; the latencies are
	// the API's answers.
	carried := time.Since(start)
	res.Sends.Seconds, res.Sends.Rate = round(carried.Seconds(), 3), round(float64(b.carrier.sent.Load())/carried.Seconds(), 0)

	// End to end at a set rate, spread over the fleet.
	b.say("end to end: %d callbacks at %.0f/s", e2ePlan.n, o.e2eRate)
	epoch := time.Now()
	tr := newBenchTracker(e2ePlan, epoch)
	b.recv.track.Store(tr)
	sent := make([]atomic.Int64, e2ePlan.n)
	base = b.recv.verified.Load()
	lr = load.runOn(ctx, urls, e2ePlan, o.e2eRate, epoch, sent)
	res.addErrors("end to end", lr)
	// The sends cause webhooks of their own (fax.queued, fax.sending); the
	// tracker waits for the plan's.
	deadline := time.Now().Add(timeout(e2ePlan.webhooks()))
	for tr.matched.Load() < int64(e2ePlan.n) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if m := tr.matched.Load(); m < int64(e2ePlan.n) {
		res.Errors = append(res.Errors, fmt.Sprintf("end to end: %d webhooks matched to callbacks, want %d", m, e2ePlan.n))
	}
	b.recv.track.Store(nil)
	res.EndToEnd = e2eFigure(tr, sent, lr)

	// Give late repeats a moment to show before counting them.
	time.Sleep(500 * time.Millisecond)
	res.DuplicateWebhooks = b.recv.dupIDs.Load()
	res.DuplicateSends = b.carrier.dupSends.Load()
	if res.DuplicateWebhooks > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d webhooks arrived again with a webhook-id already received: a delivery was claimed twice", res.DuplicateWebhooks))
	}
	if res.DuplicateSends > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d faxes were handed to the carrier more than once: a send was claimed twice", res.DuplicateSends))
	}
	if n := b.recv.invalid.Load(); n > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d webhooks failed verification (first: %s)", n, *b.recv.firstBad.Load()))
	}
	if n := b.carrier.calls.Load(); n > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("the carrier got %d calls other than sends", n))
	}
	stopped = true
	stopChildren(children, res)

	res.print(stdout)
	if o.jsonFile != "" {
		j, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.jsonFile, append(j, '\n'), 0o644); err != nil {
			return fmt.Errorf("bench: --json: %w", err)
		}
	}
	if len(res.Errors) > 0 {
		return fmt.Errorf("bench: %d problems:\n  %s", len(res.Errors), strings.Join(res.Errors, "\n  "))
	}
	return nil
}

func (r *InstancesResults) addErrors(what string, lr loadResult) {
	if lr.errors > 0 {
		r.Errors = append(r.Errors, fmt.Sprintf("%s: %d of %d requests failed (first: %s)", what, lr.errors, lr.n, lr.firstErr))
	}
}

// startChildren starts the fleet and waits until every instance is ready.
// The first instance listens where the setup gateway did, so FAXGATE_ADDR
// and FAXGATE_PUBLIC_URL stay as configured; the others get ports of
// their own. All share FAXGATE_PUBLIC_URL, as instances behind one
// balancer do, so that every one verifies the carrier's signatures.
func (b *bench) startChildren(ctx context.Context, exe string) ([]*child, error) {
	var children []*child
	for i := range b.o.instances {
		env := make(map[string]string, len(b.env)+2)
		for k, v := range b.env {
			env[k] = v
		}
		env["FAXGATE_DATA_DIR"] = filepath.Join(b.dir, fmt.Sprintf("instance-%d", i+1))
		if i > 0 {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return children, fmt.Errorf("bench: %w", err)
			}
			env["FAXGATE_ADDR"] = ln.Addr().String()
			ln.Close()
			delete(env, "FAXGATE_METRICS_ADDR")
		}
		cmd := exec.CommandContext(ctx, exe, "serve")
		cmd.Env = childEnv(os.Environ(), env)
		cmd.Stdout, cmd.Stderr = b.logFile, b.logFile
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 30 * time.Second
		if err := cmd.Start(); err != nil {
			return children, fmt.Errorf("bench: starting faxgate serve: %w", err)
		}
		c := &child{cmd: cmd, url: "http://" + env["FAXGATE_ADDR"], exited: make(chan error, 1)}
		go func() { c.exited <- cmd.Wait() }()
		children = append(children, c)
	}
	for _, c := range children {
		if err := waitReady(ctx, c.url+"/readyz", 30*time.Second); err != nil {
			return children, fmt.Errorf("bench: faxgate serve (pid %d) did not become ready: %w", c.cmd.Process.Pid, err)
		}
	}
	b.say("%d instances of faxgate serve are ready", len(children))
	return children, nil
}

// stopChildren ends the fleet with SIGTERM, noting an unclean exit.
func stopChildren(children []*child, res *InstancesResults) {
	for _, c := range children {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range children {
		if err := <-c.exited; err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("faxgate serve (pid %d) did not stop cleanly: %v", c.cmd.Process.Pid, err))
		}
	}
}

// sendAll posts n faxes to the API, the clients taking the instances in
// turn, and measures the API's answers; the carrier's count is waited for
// separately.
func (b *bench) sendAll(ctx context.Context, urls []string, n int) Figure {
	// A one-page PDF made once here, so that the gateway stores it as it
	// comes rather than converting each send's document.
	pdf, err := document.TextToPDF("faxgate bench\n")
	if err != nil {
		return Figure{Name: "sends", Errors: int64(n), Note: "making the document: " + err.Error()}
	}
	body, _ := json.Marshal(map[string]string{"to": benchTo, "filename": "bench.pdf", "content_base64": base64.StdEncoding.EncodeToString(pdf)})
	key := b.env["FAXGATE_ADMIN_KEY"]
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var firstErr atomic.Pointer[string]
	var wg sync.WaitGroup
	start := time.Now()
	// The API gives one key at most 16 sends in progress on an instance
	// (its share; a 17th is answered 429), so the sends come from fewer
	// clients than the callbacks, the same number whatever the fleet.
	for c := range min(b.o.clients, sendClients) {
		wg.Go(func() {
			client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			url := urls[c%len(urls)] + "/v1/faxes"
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				err := postFax(ctx, client, url, key, body)
				for tries := 0; errors.Is(err, errBusy) && tries < 100 && ctx.Err() == nil; tries++ {
					// Refused for the moment: a client sends again, as
					// Retry-After asks, and the answer's time counts.
					time.Sleep(20 * time.Millisecond)
					err = postFax(ctx, client, url, key, body)
				}
				lat[i] = time.Since(t)
				if err != nil {
					errs.Add(1)
					msg := err.Error()
					firstErr.CompareAndSwap(nil, &msg)
				}
			}
		})
	}
	wg.Wait()
	f := rateFigure("sends", n, time.Since(start))
	f.setLatency(sortedDurations(lat))
	f.Errors = errs.Load()
	if p := firstErr.Load(); p != nil {
		f.Note = "first error: " + *p
	}
	return f
}

// sendClients is how many clients send faxes in the sends scenario: below
// one key's share of an instance's sends in progress.
const sendClients = 12

// errBusy is a send refused for the moment (429 or 503): sent again.
var errBusy = errors.New("busy")

func postFax(ctx context.Context, client *http.Client, url, key string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		return fmt.Errorf("POST /v1/faxes answered %d: %s: %w", resp.StatusCode, bytes.TrimSpace(msg), errBusy)
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST /v1/faxes answered %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// waitSent waits until the carrier has accepted n sends.
func (b *bench) waitSent(ctx context.Context, n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for b.carrier.sent.Load() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("the carrier got %d sends, want %d", b.carrier.sent.Load(), n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

func (r *InstancesResults) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "faxgate bench --instances %d: %s, %d clients spread over the instances, %d pages + fax_completed per fax; %d CPUs (%s), %s, %s\n\n",
		r.Instances, m.Store, r.Clients, r.Pages, m.CPUs, m.CPU, m.Go, m.OS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tcount\ttotal rate/s\tp50 ms\tp99 ms\terrors\t")
	for _, f := range []Figure{r.Ingest, r.Drain, r.Sends, r.EndToEnd} {
		lat := func(v float64) string {
			if v == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", v)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\t\n", f.Name, f.Count, f.Rate, lat(f.P50MS), lat(f.P99MS), f.Errors)
	}
	tw.Flush()
	fmt.Fprintln(w, "\ndrain: from the tenth webhook of the backlog on; ingest: with the instances' webhook workers delivering meanwhile;")
	fmt.Fprintln(w, "sends: handed to the carrier a second, from the first POST /v1/faxes to the last fax the carrier received; latencies are the API's answers")
	if r.EndToEnd.Note != "" {
		fmt.Fprintf(w, "end to end: %s\n", r.EndToEnd.Note)
	}
	fmt.Fprintf(w, "claimed twice: %d webhooks, %d sends\n", r.DuplicateWebhooks, r.DuplicateSends)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}
