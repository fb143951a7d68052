package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// buildBinary compiles faxgate once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "faxgate")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// process is a faxgate serve subprocess.
type process struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func startProcess(t *testing.T, bin, dir, addr string, env ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "FAXGATE_ADDR="+addr, "FAXGATE_DATA_DIR="+dir, "FAXGATE_ADMIN_KEY="+adminKey, "FAXGATE_RATE_LIMIT=0")
	cmd.Env = append(cmd.Env, env...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, url: "http://" + addr, logs: logs}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("faxgate did not become ready: %s", logs)
	return nil
}

func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// waitSent polls until fax id is sent, failing the test if it ends
// otherwise or is still on its way at deadline.
func (p *process) waitSent(id string, deadline time.Time) {
	p.t.Helper()
	for {
		_, b := p.request("GET", "/v1/faxes/"+id, "", nil)
		var f faxObj
		json.Unmarshal(b, &f)
		if f.Status == "sent" {
			return
		}
		if f.Status != "queued" && f.Status != "sending" {
			p.t.Fatalf("%s: got %s, want sent", id, f.Status)
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s still %s; logs:\n%s", id, f.Status, p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *process) request(method, path, ct string, body io.Reader) (int, []byte) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.url+path, body)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestSIGKILLAfterAccept kills the gateway with SIGKILL right after it
// answers 202, at several moments of the send: every accepted fax must end
// sent after a restart, with exactly one fax.sent event.
func TestSIGKILLAfterAccept(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	var accepted []string
	// Kill at once, during the first page, and between pages.
	for i, delay := range []time.Duration{0, 50 * time.Millisecond, 150 * time.Millisecond, 250 * time.Millisecond, 400 * time.Millisecond} {
		p := startProcess(t, bin, dir, addr, append([]string{"FAXGATE_SIMULATOR_PAGE_DELAY=100ms"}, fastResume...)...)
		body := multipartSend(map[string]string{"to": fmt.Sprintf("+1555123%04d", 100+i)}, textDoc)
		code, b := p.request("POST", "/v1/faxes", body.ct, bytes.NewReader(body.buf.Bytes()))
		if code != http.StatusAccepted {
			t.Fatalf("send: got %d %s", code, b)
		}
		time.Sleep(delay)
		p.kill()
		var f faxObj
		json.Unmarshal(b, &f)
		accepted = append(accepted, f.ID)
	}
	p := startProcess(t, bin, dir, addr, fastResume...)
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range accepted {
		p.waitSent(id, deadline)
		_, b := p.request("GET", "/v1/faxes/"+id+"/events", "", nil)
		var evs struct{ Data []struct{ Type string } }
		json.Unmarshal(b, &evs)
		count := map[string]int{}
		for _, e := range evs.Data {
			count[e.Type]++
		}
		if count["fax.sent"] != 1 || count["fax.queued"] != 1 || count["fax.sending"] != 1 {
			t.Errorf("%s: events %v, want one each of queued, sending, sent", id, count)
		}
	}
}

// fastResume shortens the lease a killed send waits out and the lookups
// before it is sent again, so that crash tests settle in seconds.
var fastResume = []string{"FAXGATE_CLAIM_LEASE=1s", "FAXGATE_SEND_FIND_SETTLE=200ms", "FAXGATE_SEND_FIND_SPACING=200ms"}

// TestSIGTERMGraceful: SIGTERM stops the gateway cleanly with exit code 0,
// and a second gateway on the same data directory is refused while the
// first runs.
func TestSIGTERMGraceful(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short mode")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startProcess(t, bin, dir, freeAddr(t))
	second := exec.Command(bin, "serve")
	second.Env = append(os.Environ(), "FAXGATE_ADDR="+freeAddr(t), "FAXGATE_DATA_DIR="+dir)
	out, err := second.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("in use by another faxgate")) {
		t.Errorf("second gateway on the same data dir: got %v %s, want refusal", err, out)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v; logs:\n%s", err, p.logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("faxgate did not stop within 20s of SIGTERM")
	}
	if !bytes.Contains(p.logs.Bytes(), []byte("stopped")) {
		t.Errorf("no clean stop in the logs:\n%s", p.logs)
	}
}
