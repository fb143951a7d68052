package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/faxgate/faxgate/internal/config"
	"github.com/faxgate/faxgate/internal/webhook"
)

// The soak (faxgate bench --soak 10m): the gateway runs as `faxgate serve`
// in a child process of its own, so that its resident set is the gateway's
// alone, not the load generator's and receiver's too. The bench offers
// signed Phaxio callbacks at a steady rate for the whole duration, every
// one causing a verified webhook, and samples the child's memory as it
// goes. Memory is flat when, past the warm-up (the first tenth), the later
// half of the run peaks no more than soakGrowthLimit above the earlier
// half.

// soakGrowthLimit is how much higher the later half's peak resident set may
// be than the earlier half's, as a fraction, for the memory to count as
// flat. It is a verdict on the run, not a test: timing and memory never
// fail tests.
const soakGrowthLimit = 0.10

// SoakSample is one reading of the child's memory.
type SoakSample struct {
	AtS        float64 `json:"at_s"`
	RSSMB      float64 `json:"rss_mb"`
	HeapMB     float64 `json:"heap_inuse_mb,omitempty"`
	Goroutines int     `json:"goroutines,omitempty"`
	Delivered  int64   `json:"webhooks_delivered"`
}

// SoakResults is what a soak measured.
type SoakResults struct {
	Machine   Machine      `json:"machine"`
	Rate      float64      `json:"offered_per_s"`
	Seconds   float64      `json:"seconds"`
	EndToEnd  Figure       `json:"end_to_end"`
	Samples   []SoakSample `json:"samples"`
	EarlyPeak float64      `json:"early_peak_rss_mb"`
	LatePeak  float64      `json:"late_peak_rss_mb"`
	Growth    float64      `json:"growth"`
	Flat      bool         `json:"flat"`
	Errors    []string     `json:"errors,omitempty"`
}

func (b *bench) runSoak(ctx context.Context, stdout io.Writer) error {
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

	// The faxes and the endpoint are made in this process, which then
	// closes the database for the child to open.
	n := int(o.soakRate * o.soak.Seconds())
	nFax := ceilDiv(n, o.pages+1)
	b.say("creating %d faxes (%d pages each) and the webhook endpoint in %s", nFax, o.pages, b.dir)
	var faxes []benchFax
	g, err := b.start(ctx, func(st Store) error {
		var err error
		faxes, err = b.setup(ctx, st, nFax, secret)
		return err
	})
	if err != nil {
		return err
	}
	if err := g.stop(); err != nil {
		return fmt.Errorf("bench: stopping the setup gateway: %w", err)
	}
	plan := newBenchPlan("soak", faxes, o.pages, n)
	b.say("signing %d callbacks", plan.n)
	plan.sign(b.token, b.cfg.PublicURL)

	child := exec.CommandContext(ctx, exe, "serve")
	child.Env = childEnv(os.Environ(), b.env)
	child.Stdout, child.Stderr = b.logFile, b.logFile
	child.Cancel = func() error { return child.Process.Signal(syscall.SIGTERM) }
	child.WaitDelay = 30 * time.Second
	if err := child.Start(); err != nil {
		return fmt.Errorf("bench: starting faxgate serve: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	defer func() {
		if child.ProcessState == nil {
			child.Process.Signal(syscall.SIGTERM)
			<-exited
		}
	}()
	if err := waitReady(ctx, b.cfg.PublicURL+"/readyz", 30*time.Second); err != nil {
		return fmt.Errorf("bench: faxgate serve (pid %d) did not become ready: %w", child.Process.Pid, err)
	}
	b.say("faxgate serve is pid %d; soaking for %v at %.0f callbacks/s, sampling every %v", child.Process.Pid, o.soak, o.soakRate, o.soakSample)

	res := &SoakResults{Machine: newMachine(o), Rate: o.soakRate, Seconds: o.soak.Seconds()}
	epoch := time.Now()
	var samples []SoakSample
	sample := func() {
		s := SoakSample{AtS: round(time.Since(epoch).Seconds(), 1), Delivered: b.recv.verified.Load()}
		rss, _ := procMemStatus(child.Process.Pid)
		s.RSSMB = mb(rss)
		s.HeapMB, s.Goroutines = childRuntimeStats("http://" + b.cfg.MetricsAddr + "/metrics")
		samples = append(samples, s)
		b.say("%6.0fs  rss %6.1f MB  heap %6.1f MB  goroutines %4d  webhooks %d", s.AtS, s.RSSMB, s.HeapMB, s.Goroutines, s.Delivered)
	}
	sample()
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(o.soakSample)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				sample()
			}
		}
	}()

	tr := newBenchTracker(plan, epoch)
	b.recv.track.Store(tr)
	sent := make([]atomic.Int64, plan.n)
	lr := newLoader(o.clients).run(ctx, b.cfg.PublicURL, plan, o.soakRate, epoch, sent)
	if lr.errors > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d of %d callbacks failed (first: %s)", lr.errors, lr.n, lr.firstErr))
	}
	if err := b.recv.waitVerified(ctx, int64(plan.webhooks()), 60*time.Second); err != nil {
		res.Errors = append(res.Errors, "webhooks: "+err.Error())
	}
	close(stopSampling)
	<-sampled
	sample()
	res.Samples = samples
	res.EndToEnd = e2eFigure(tr, sent, lr)
	if n := b.recv.invalid.Load(); n > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d webhooks failed verification", n))
	}

	child.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		res.Errors = append(res.Errors, "faxgate serve did not stop cleanly: "+err.Error())
	}
	res.judge(o.soak)
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
	if o.check && !res.Flat {
		return errors.New("bench: the soak's memory was not flat")
	}
	return nil
}

// judge compares the peak resident set of the earlier and later halves of
// the run past its warm-up (the first tenth).
func (r *SoakResults) judge(d time.Duration) {
	warm := d.Seconds() / 10
	mid := warm + (d.Seconds()-warm)/2
	for _, s := range r.Samples {
		switch {
		case s.AtS < warm:
		case s.AtS < mid:
			r.EarlyPeak = max(r.EarlyPeak, s.RSSMB)
		default:
			r.LatePeak = max(r.LatePeak, s.RSSMB)
		}
	}
	if r.EarlyPeak > 0 {
		r.Growth = round(r.LatePeak/r.EarlyPeak-1, 3)
		r.Flat = r.Growth <= soakGrowthLimit
	}
}

func (r *SoakResults) print(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "faxgate bench --soak: %s, %.0f callbacks/s offered for %.0f s to faxgate serve in its own process; %d CPUs (%s), %s (GOGC %d), %s\n\n",
		m.Store, r.Rate, r.Seconds, m.CPUs, m.CPU, m.Go, m.GOGC, m.OS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "at s\trss MB\theap MB\tgoroutines\twebhooks delivered\t")
	for _, s := range r.Samples {
		fmt.Fprintf(tw, "%.0f\t%.1f\t%.1f\t%d\t%d\t\n", s.AtS, s.RSSMB, s.HeapMB, s.Goroutines, s.Delivered)
	}
	tw.Flush()
	e := r.EndToEnd
	fmt.Fprintf(w, "\nend to end: %d webhooks, sustained %.0f/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d errors\n",
		e.Count, e.Rate, e.P50MS, e.P99MS, e.MaxMS, e.Errors)
	fmt.Fprintf(w, "memory: peak resident set %.1f MB in the earlier half, %.1f MB in the later half (past the first tenth): %+.1f%%, %s (≤%+.0f%%)\n",
		r.EarlyPeak, r.LatePeak, 100*r.Growth, map[bool]string{true: "flat", false: "GROWING"}[r.Flat], 100*soakGrowthLimit)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// childEnv is the bench's environment without any faxgate or carrier
// setting of the user's, plus the gateway's settings.
func childEnv(environ []string, settings map[string]string) []string {
	prefixes := map[string]bool{}
	for _, d := range config.Docs() {
		if p, _, ok := strings.Cut(d.Name, "_"); ok {
			prefixes[p+"_"] = true
		}
	}
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if p, _, ok := strings.Cut(k, "_"); ok && prefixes[p+"_"] {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range settings {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// procMemStatus reads a process's resident set and its high-water mark.
func procMemStatus(pid int) (rss, hwm int64) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	return parseMemStatus(f)
}

// childRuntimeStats reads the Go heap in use and the goroutines from a
// gateway's /metrics; zeros when it does not answer.
func childRuntimeStats(url string) (heapMB float64, goroutines int) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			heapMB = mb(int64(f))
		case "go_goroutines":
			goroutines = int(f)
		}
	}
	return heapMB, goroutines
}
