package client_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// adminKey is the FAXGATE_ADMIN_KEY of the gateway the tests start.
const adminKey = "client-test-admin-key-0123456789"

// TestMain builds the faxgate binary and runs one gateway (SQLite, the
// simulator carrier, webhooks allowed to loopback) for the whole package,
// exporting FAXGATE_URL and FAXGATE_API_KEY as a user would, so that the
// examples read like real programs. A package outside cmd/faxgate cannot
// import its Main, so the test runs the binary.
func TestMain(m *testing.M) {
	os.Exit(runWithGateway(m))
}

func runWithGateway(m *testing.M) int {
	flag.Parse()
	// A fuzzing worker runs only the fuzz target, which needs no gateway.
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "faxgate-client-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "faxgate")
	build := exec.Command("go", "build", "-o", bin, "github.com/faxgate/faxgate/cmd/faxgate")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build faxgate:", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = append(os.Environ(),
		"FAXGATE_ADDR="+addr,
		"FAXGATE_DATA_DIR="+filepath.Join(dir, "data"),
		"FAXGATE_ADMIN_KEY="+adminKey,
		"FAXGATE_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8",
		"FAXGATE_RATE_LIMIT=0",
		"FAXGATE_LOG_LEVEL=warn",
		// The simulator's busy number fails at once, without a redial.
		"FAXGATE_REDIAL_ATTEMPTS=1",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cmd.Wait()
	defer cmd.Process.Signal(os.Interrupt)
	url := "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "the gateway did not start:", err)
			return 1
		}
		time.Sleep(100 * time.Millisecond)
	}
	os.Setenv("FAXGATE_URL", url)
	os.Setenv("FAXGATE_API_KEY", adminKey)
	return m.Run()
}
