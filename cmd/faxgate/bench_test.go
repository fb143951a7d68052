package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/bench"
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
	var res bench.Results
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	for _, f := range []bench.Figure{res.Ceiling, res.Ingest, res.Drain, res.EndToEnd} {
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
	var res bench.SoakResults
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
