package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/webhook"
	"github.com/faxgate/faxgate/internal/wire"
)

// TestBenchSmall runs the bench command end to end at a small size: every
// scenario completes without errors (every callback answered 200, every
// webhook verified and matched) and the JSON has every figure. Speed is
// not checked: the figures are the bench's to report, not a test's to
// assert.
func TestBenchSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateways")
	}
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--clients", "4", "--ingest", "300", "--drain", "200", "--e2e-rate", "300", "--e2e-duration", "1s",
		"--pages", "3", "--json", out}
	if code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("bench exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"ceiling (net/http)", "ingest", "drain", "end to end", "memory: idle", "start to ready"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res benchResults
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	for _, f := range []benchFigure{res.Ceiling, res.Ingest, res.Drain, res.EndToEnd} {
		if f.Count == 0 || f.Rate <= 0 || f.Errors != 0 {
			t.Errorf("%s: %+v, want a count, a rate and no errors", f.Name, f)
		}
	}
	if res.EndToEnd.Count != 300 {
		t.Errorf("end to end matched %d webhooks to callbacks, want 300", res.EndToEnd.Count)
	}
	if res.Memory.IdleRSSMB <= 0 || res.Memory.PeakRSSMB < res.Memory.IdleRSSMB || res.StartToReadyMS <= 0 {
		t.Errorf("memory %+v, start to ready %v ms", res.Memory, res.StartToReadyMS)
	}
	if len(res.Errors) != 0 {
		t.Errorf("errors: %v", res.Errors)
	}
}

// TestBenchBadDatabaseURL: a database URL the gateway cannot open is an
// error that says so.
func TestBenchBadDatabaseURL(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--database-url", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", "--ingest", "10", "--drain", "10"}
	if code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr); code == 0 {
		t.Fatalf("bench against an unreachable database exited 0:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "did not start") {
		t.Errorf("stderr %q, want it to say the gateway did not start", stderr.String())
	}
}

// TestEventKeyFields reads what the receiver needs from real payloads.
func TestEventKeyFields(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	f := &fax.Fax{ID: "fax_01", Direction: fax.Outbound, Status: fax.StatusSending, To: "+15551230000", Provider: "phaxio",
		HeaderText: `"page":99 "type":"x"`, CreatedAt: now, UpdatedAt: now}
	for _, tc := range []struct {
		typ  fax.EventType
		page int
	}{{fax.EventFaxPageSent, 7}, {fax.EventFaxSent, 0}} {
		data, err := wire.MarshalEventData(f, tc.page, 0)
		if err != nil {
			t.Fatal(err)
		}
		body, err := webhook.Payload(fax.Event{ID: "evt_01", Type: tc.typ, FaxID: f.ID, CreatedAt: now, Data: data}, "")
		if err != nil {
			t.Fatal(err)
		}
		typ, id, page, ok := eventKeyFields(body)
		if !ok || typ != string(tc.typ) || id != f.ID || page != tc.page {
			t.Errorf("eventKeyFields(%s) = %q %q %d %v, want %s %s %d", body, typ, id, page, ok, tc.typ, f.ID, tc.page)
		}
	}
}

// TestBenchSoakSmall runs a short soak from the built binary, which starts
// `faxgate serve` as its child: every callback answered and its webhook
// verified, the child's memory sampled, the JSON complete.
func TestBenchSoakSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gateways")
	}
	bin := buildBinary(t)
	out := filepath.Join(t.TempDir(), "soak.json")
	cmd := exec.Command(bin, "bench", "--soak", "3s", "--soak-rate", "200", "--soak-sample", "500ms", "--clients", "4", "--pages", "3", "--json", out)
	// A setting of the user's must not reach the child: this one would
	// stop it from starting.
	cmd.Env = append(os.Environ(), "FAXGATE_ADDR=256.0.0.1:1")
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench --soak: %v\n%s", err, output)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res soakResults
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.EndToEnd.Count != 600 || res.EndToEnd.Errors != 0 || len(res.Errors) != 0 {
		t.Errorf("end to end %+v, errors %v; want 600 webhooks and none lost", res.EndToEnd, res.Errors)
	}
	if len(res.Samples) < 4 {
		t.Fatalf("%d samples, want one every 500ms over 3s", len(res.Samples))
	}
	last := res.Samples[len(res.Samples)-1]
	if last.RSSMB <= 0 || last.HeapMB <= 0 || last.Goroutines <= 0 || last.Delivered != 750 {
		t.Errorf("last sample %+v, want the child's memory and 750 webhooks (600 + 150 fax.sending)", last)
	}
	if res.EarlyPeak <= 0 || res.LatePeak <= 0 {
		t.Errorf("peaks %v and %v, want both halves sampled", res.EarlyPeak, res.LatePeak)
	}
}

func TestSoakJudge(t *testing.T) {
	samples := func(rss ...float64) []soakSample {
		var s []soakSample
		for i, v := range rss {
			s = append(s, soakSample{AtS: float64(i * 10), RSSMB: v})
		}
		return s
	}
	for _, tc := range []struct {
		name        string
		rss         []float64
		flat        bool
		early, late float64
	}{
		// 0..90 s over 100 s: warm-up below 10 s, earlier half to 55 s.
		{"flat past a warm-up", []float64{90, 40, 41, 40, 42, 41, 42, 41, 43, 42}, true, 42, 43},
		{"growing", []float64{20, 40, 40, 41, 42, 43, 45, 47, 49, 52}, false, 43, 52},
		{"shrinking", []float64{20, 60, 60, 50, 50, 50, 45, 45, 45, 45}, true, 60, 45},
	} {
		r := soakResults{Samples: samples(tc.rss...)}
		r.judge(100 * time.Second)
		if r.Flat != tc.flat || r.EarlyPeak != tc.early || r.LatePeak != tc.late {
			t.Errorf("%s: flat %v (early %v late %v growth %v), want %v (%v, %v)", tc.name, r.Flat, r.EarlyPeak, r.LatePeak, r.Growth, tc.flat, tc.early, tc.late)
		}
	}
}

func TestChildEnv(t *testing.T) {
	env := childEnv([]string{"PATH=/bin", "HOME=/root", "FAXGATE_ADDR=:1", "PHAXIO_API_KEY=users", "SINCH_PROJECT_ID=p", "FAXGATE_UNKNOWN=x"},
		map[string]string{"FAXGATE_ADDR": "127.0.0.1:9", "PHAXIO_API_KEY": "bench", "FAXGATE_DATABASE_URL": ""})
	slices.Sort(env)
	want := []string{"FAXGATE_ADDR=127.0.0.1:9", "HOME=/root", "PATH=/bin", "PHAXIO_API_KEY=bench"}
	if !slices.Equal(env, want) {
		t.Errorf("childEnv = %q, want %q", env, want)
	}
}

// TestBenchE2EVerdict checks the end-to-end budget's verdict: the sustained
// rate itself must reach 5000/s, as offered, with the p99 bound kept.
func TestBenchE2EVerdict(t *testing.T) {
	for _, c := range []struct {
		name          string
		offered, rate float64
		p99           float64
		errors        int64
		want          bool
	}{
		{"keeps up above the budget", 5244, 5246, 17, 0, true},
		{"keeps up just below the budget", 4992, 4994, 17, 0, false},
		{"falls behind what is offered", 5244, 5050, 17, 0, false},
		{"over the latency bound", 5244, 5246, 51, 0, false},
		{"a webhook missing", 5244, 5246, 17, 1, false},
	} {
		r := &benchResults{}
		r.EndToEnd = benchFigure{Name: "end to end", Offered: c.offered, Rate: c.rate, P99MS: c.p99, Errors: c.errors}
		r.finish()
		if got := *r.EndToEnd.Pass; got != c.want {
			t.Errorf("%s: pass = %v, want %v", c.name, got, c.want)
		}
	}
}
