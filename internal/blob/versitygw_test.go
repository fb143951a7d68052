package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gateway is a running Versity S3 gateway serving a temporary directory
// over the real S3 protocol on loopback.
type gateway struct {
	Endpoint  string // 127.0.0.1:PORT
	AccessKey string
	SecretKey string
}

// versitygwPath returns the gateway binary: FAXGATE_TEST_VERSITYGW, or one
// built by scripts/versitygw when CI=true or FAXGATE_TEST_S3=1 (the first
// build takes about a minute). Otherwise the test is skipped.
func versitygwPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FAXGATE_TEST_VERSITYGW"); p != "" {
		return p
	}
	if os.Getenv("CI") != "true" && os.Getenv("FAXGATE_TEST_S3") != "1" {
		t.Skip("S3 store tests need Versity's gateway: set FAXGATE_TEST_S3=1 to build it with scripts/versitygw (a few minutes, once), or FAXGATE_TEST_VERSITYGW=/path/to/versitygw")
	}
	var stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "versitygw"))
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/versitygw: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// MustStartGateway starts versitygw on a free loopback port and stops it
// when the test ends.
func MustStartGateway(t *testing.T) gateway {
	t.Helper()
	bin := versitygwPath(t)
	gw := gateway{AccessKey: "faxgate-test", SecretKey: "test-secret/with+chars"}
	root := filepath.Join(t.TempDir(), "s3")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	// A port picked then released can be taken before the gateway binds it:
	// try a few.
	var lastErr error
	for range 3 {
		gw.Endpoint = freePort(t)
		cmd := exec.Command(bin, "--port", gw.Endpoint, "--quiet", "posix", root)
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+gw.AccessKey, "ROOT_SECRET_KEY="+gw.SecretKey)
		var log syncBuffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatalf("start versitygw: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if lastErr = waitListening(gw.Endpoint, exited, 30*time.Second); lastErr != nil {
			_ = cmd.Process.Kill()
			<-exited
			t.Logf("versitygw on %s: %v\n%s", gw.Endpoint, lastErr, log.String())
			continue
		}
		t.Cleanup(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				t.Logf("versitygw log:\n%s", log.String())
			}
		})
		return gw
	}
	t.Fatalf("versitygw did not start: %v", lastErr)
	return gw
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitListening waits until the gateway answers HTTP on addr, whatever the
// status (an unsigned request is refused, which still shows it is serving).
func waitListening(addr string, exited <-chan error, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		resp, err := client.Get("http://" + addr + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("not answering after " + timeout.String())
}

// syncBuffer collects a child process's output written from two pipes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// config returns an S3Config for bucket on the gateway.
func (gw gateway) config(bucket string) S3Config {
	return S3Config{
		Endpoint:     gw.Endpoint,
		Bucket:       bucket,
		Region:       "us-east-1",
		AccessKey:    gw.AccessKey,
		SecretKey:    gw.SecretKey,
		CreateBucket: true,
	}
}

// MustNewS3 returns a store on the gateway, failing the test otherwise.
func MustNewS3(t *testing.T, cfg S3Config) *S3 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := NewS3(ctx, cfg)
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	return s
}
