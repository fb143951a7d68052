package bench

// What a run measured, how it is judged against the budget, and how it is
// printed.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
)

// Figure is one row of the results.
type Figure struct {
	Name    string  `json:"name"`
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"rate_per_s"`
	P50MS   float64 `json:"p50_ms,omitempty"`
	P90MS   float64 `json:"p90_ms,omitempty"`
	P99MS   float64 `json:"p99_ms,omitempty"`
	MaxMS   float64 `json:"max_ms,omitempty"`
	Errors  int64   `json:"errors"`
	// Offered is the rate callbacks were sent at (end to end only).
	Offered   float64 `json:"offered_per_s,omitempty"`
	VsCeiling float64 `json:"rate_vs_ceiling,omitempty"`
	// CPUUS is the CPU time the whole process (gateway, clients and
	// receiver) used per operation, user and system.
	CPUUS  float64 `json:"cpu_us_per_op"`
	Budget string  `json:"budget,omitempty"`
	Pass   *bool   `json:"pass,omitempty"`
	Note   string  `json:"note,omitempty"`
}

func loadFigure(name string, lr loadResult) Figure {
	f := rateFigure(name, lr.n, lr.elapsed)
	f.Errors = lr.errors
	f.setLatency(sortedDurations(lr.lat))
	return f
}

func (f *Figure) setCPU(d time.Duration) {
	if f.Count > 0 {
		f.CPUUS = round(float64(d.Microseconds())/float64(f.Count), 1)
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func rateFigure(name string, n int, d time.Duration) Figure {
	return Figure{Name: name, Count: n, Seconds: round(d.Seconds(), 3), Rate: round(float64(n)/d.Seconds(), 0)}
}

func (f *Figure) setLatency(sorted []time.Duration) {
	if len(sorted) == 0 {
		return
	}
	f.P50MS, f.P90MS, f.P99MS = ms(percentile(sorted, .50)), ms(percentile(sorted, .90)), ms(percentile(sorted, .99))
	f.MaxMS = ms(sorted[len(sorted)-1])
}

// e2eFigure measures from each callback's send to its webhook's arrival.
// Its rate is the sustained one: the webhooks that arrived while callbacks
// were still being sent, after the first tenth of the sending (connections
// warming up), per second of that window. A gateway that keeps up delivers
// at the offered rate; one that falls behind, at what it manages.
func e2eFigure(tr *benchTracker, sent []atomic.Int64, lr loadResult) Figure {
	var lat []time.Duration
	var first, last int64 = -1, 0
	for i := range sent {
		s := sent[i].Load()
		if first < 0 || s < first {
			first = s
		}
		last = max(last, s)
	}
	warm := first + (last-first)/10
	inWindow := 0
	for i := range sent {
		s, a := sent[i].Load(), tr.arrived[i].Load()
		if a == 0 {
			continue
		}
		if a >= warm && a <= last {
			inWindow++
		}
		lat = append(lat, time.Duration(a-s))
	}
	f := Figure{Name: "end to end", Count: len(lat), Seconds: round(time.Duration(last-first).Seconds(), 3)}
	if last > warm {
		f.Rate = round(float64(inWindow)/time.Duration(last-warm).Seconds(), 0)
	}
	if last > first {
		f.Offered = round(float64(len(sent)-1)/time.Duration(last-first).Seconds(), 0)
	}
	f.Errors = lr.errors + int64(len(sent)-len(lat))
	f.setLatency(sortedDurations(lat))
	cb := sortedDurations(lr.lat)
	f.Note = fmt.Sprintf("offered %.0f/s, sustained %.0f/s; callbacks answered p50 %.2f ms, p99 %.2f ms; %d fax.sending webhooks besides",
		f.Offered, f.Rate, ms(percentile(cb, .5)), ms(percentile(cb, .99)), tr.extra.Load())
	return f
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

// Results is everything one run measured.
type Results struct {
	Machine  Machine `json:"machine"`
	Clients  int     `json:"clients"`
	Pages    int     `json:"pages_per_fax"`
	Ceiling  Figure  `json:"ceiling"`
	Ingest   Figure  `json:"ingest"`
	Drain    Figure  `json:"drain"`
	EndToEnd Figure  `json:"end_to_end"`
	Memory   struct {
		IdleRSSMB float64 `json:"idle_rss_mb"`
		PeakRSSMB float64 `json:"peak_rss_mb"`
		IdlePass  bool    `json:"idle_pass"`
		PeakPass  bool    `json:"peak_pass"`
	} `json:"memory"`
	StartNewMS     float64  `json:"start_new_ms"`
	StartToReadyMS float64  `json:"start_to_ready_ms"`
	ReadyPass      bool     `json:"start_to_ready_pass"`
	Errors         []string `json:"errors,omitempty"`
}

// Machine is what a run ran on.
type Machine struct {
	CPUs  int    `json:"cpus"`
	CPU   string `json:"cpu"`
	Go    string `json:"go"`
	GOGC  int    `json:"gogc"`
	OS    string `json:"os"`
	Store string `json:"store"`
}

func newMachine(o options) Machine {
	m := Machine{CPUs: runtime.NumCPU(), CPU: cpuModel(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Store: "sqlite"}
	// The collector's setting (cmd/faxgate's gcPercent), read by setting it back.
	m.GOGC = debug.SetGCPercent(-1)
	debug.SetGCPercent(m.GOGC)
	if o.databaseURL != "" {
		m.Store = "postgres"
	}
	return m
}

func newResults(o options) *Results {
	return &Results{Machine: newMachine(o), Clients: o.clients, Pages: o.pages}
}

func (r *Results) addErrors(what string, lr loadResult) {
	if lr.errors > 0 {
		r.Errors = append(r.Errors, fmt.Sprintf("%s: %d of %d callbacks failed (first: %s)", what, lr.errors, lr.n, lr.firstErr))
	}
}

// finish compares each figure with the ceiling and the budget.
func (r *Results) finish() {
	check := func(f *Figure, budget string, ok bool) {
		if r.Ceiling.Rate > 0 {
			f.VsCeiling = round(f.Rate/r.Ceiling.Rate, 3)
		}
		f.Budget = budget
		ok = ok && f.Errors == 0
		f.Pass = &ok
	}
	check(&r.Ingest, fmt.Sprintf("≥%d/s, p99 ≤%v", budgetIngestRate, budgetIngestP99),
		r.Ingest.Rate >= budgetIngestRate && r.Ingest.P99MS <= ms(budgetIngestP99))
	check(&r.Drain, fmt.Sprintf("≥%d/s", budgetDrainRate), r.Drain.Rate >= budgetDrainRate)
	// Sustaining the budget's rate means delivering at least that much a
	// second, as offered (within 1%, the pacing's grain), every webhook
	// arriving, with the latency bound kept.
	e := &r.EndToEnd
	check(e, fmt.Sprintf("≥%d/s sustained, p99 ≤%v", budgetE2ERate, budgetE2EP99),
		e.Rate >= budgetE2ERate && e.Rate >= 0.99*e.Offered && e.P99MS <= ms(budgetE2EP99))
	r.Memory.IdlePass = r.Memory.IdleRSSMB <= mb(budgetIdleRSS)
	r.Memory.PeakPass = r.Memory.PeakRSSMB <= mb(budgetPeakRSS)
	r.ReadyPass = r.StartToReadyMS <= ms(budgetReady)
}

// missed lists the figures over budget.
func (r *Results) missed() []string {
	var out []string
	for _, f := range []Figure{r.Ingest, r.Drain, r.EndToEnd} {
		if f.Pass != nil && !*f.Pass {
			out = append(out, f.Name)
		}
	}
	if !r.Memory.IdlePass {
		out = append(out, "idle memory")
	}
	if !r.Memory.PeakPass {
		out = append(out, "peak memory")
	}
	if !r.ReadyPass {
		out = append(out, "start to ready")
	}
	return out
}

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func (r *Results) print(w io.Writer) {
	fmt.Fprintf(w, "faxgate bench: %s, %d clients, %d pages + fax_completed per fax; %d CPUs (%s), %s (GOGC %d), %s\n\n",
		r.Machine.Store, r.Clients, r.Pages, r.Machine.CPUs, r.Machine.CPU, r.Machine.Go, r.Machine.GOGC, r.Machine.OS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tcount\trate/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\tcpu µs/op\tvs ceiling\t budget\t")
	row := func(f Figure) {
		lat := func(v float64) string {
			if v == 0 {
				return "-"
			}
			return strconv.FormatFloat(v, 'f', 2, 64)
		}
		ratio, budget := "-", ""
		if f.VsCeiling > 0 {
			ratio = strconv.FormatFloat(f.VsCeiling, 'f', 2, 64) + "×"
		}
		if f.Pass != nil {
			budget = f.Budget + " " + verdict(*f.Pass)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\t%d\t%.0f\t%s\t %s\t\n", f.Name, f.Count, f.Rate,
			lat(f.P50MS), lat(f.P90MS), lat(f.P99MS), lat(f.MaxMS), f.Errors, f.CPUUS, ratio, budget)
	}
	row(r.Ceiling)
	row(r.Ingest)
	row(r.Drain)
	row(r.EndToEnd)
	tw.Flush()
	if r.EndToEnd.Note != "" {
		fmt.Fprintf(w, "\nend to end: %s\n", r.EndToEnd.Note)
	}
	fmt.Fprintf(w, "memory: idle %.1f MB (≤%d MB %s), peak %.1f MB (≤%d MB %s), resident set of the whole process\n",
		r.Memory.IdleRSSMB, budgetIdleRSS>>20, verdict(r.Memory.IdlePass), r.Memory.PeakRSSMB, budgetPeakRSS>>20, verdict(r.Memory.PeakPass))
	fmt.Fprintf(w, "start to ready: %.1f ms on the existing database (≤%v %s); %.1f ms on a new one\n",
		r.StartToReadyMS, budgetReady, verdict(r.ReadyPass), r.StartNewMS)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
