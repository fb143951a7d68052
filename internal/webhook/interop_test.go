package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// nodeDir holds verify.js and the pinned standardwebhooks package.
const nodeDir = "testdata/node"

// requireTool skips the test for a missing tool, or fails it under CI, where
// every tool must be there.
func requireTool(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", reason)
	}
	t.Skip(reason)
}

// nodeVerifier returns the node binary, installing the pinned packages with
// npm ci the first time.
func nodeVerifier(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		requireTool(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "standardwebhooks", "package.json")); err == nil {
		return node
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		requireTool(t, "npm is not installed, so the standardwebhooks package cannot be")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = nodeDir
	if out, err := cmd.CombinedOutput(); err != nil {
		requireTool(t, "npm ci of standardwebhooks failed: "+err.Error()+"\n"+string(out))
	}
	return node
}

// nodeVerify runs verify.js on one message and reports whether the
// standardwebhooks library accepted it.
func nodeVerify(t *testing.T, node, secret string, headers map[string]string, body []byte) bool {
	t.Helper()
	in, err := json.Marshal(map[string]any{
		"secret":      secret,
		"headers":     headers,
		"body_base64": base64.StdEncoding.EncodeToString(body),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "verify.js")
	cmd.Dir = nodeDir
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		return false
	}
	t.Fatalf("node verify.js: %v\n%s", err, out)
	return false
}

// TestStandardWebhooksInterop checks real deliveries, signed during a secret
// rotation, with the spec's reference library: each secret must verify the
// message, and a tampered body or a stranger's secret must not.
func TestStandardWebhooksInterop(t *testing.T) {
	node := nodeVerifier(t)

	rc := newReceiver(t)
	store := newFakeStore()
	cur, old := NewSecret(), NewSecret()
	// The reference library checks the timestamp against the real clock.
	expires := time.Now().Add(time.Hour)
	job := newJob("dlv_1", rc.srv.URL)
	job.Endpoint.Secret, job.Endpoint.PreviousSecret, job.Endpoint.PreviousSecretExpiresAt = cur, old, &expires
	store.add(job)
	w := NewWorker(store, Options{Client: NewClient(ClientOptions{AllowNetworks: loopback()})})
	mustDeliverOnce(t, w, 1)
	reqs := rc.got()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	headers := map[string]string{}
	for _, k := range []string{HeaderID, HeaderTimestamp, HeaderSignature} {
		headers[k] = r.header.Get(k)
	}

	for name, secret := range map[string]string{"current": cur, "previous": old} {
		if !nodeVerify(t, node, secret, headers, r.body) {
			t.Errorf("standardwebhooks rejected the delivery verified with the %s secret", name)
		}
	}
	tampered := bytes.Replace(r.body, []byte("fax.sent"), []byte("fax.fail"), 1)
	if nodeVerify(t, node, cur, headers, tampered) {
		t.Error("standardwebhooks accepted a tampered body")
	}
	if nodeVerify(t, node, NewSecret(), headers, r.body) {
		t.Error("standardwebhooks accepted the delivery with an unrelated secret")
	}

	// And the spec's own vector, through the same library, so a failure
	// above is faxgate's and not the harness's.
	now := time.Now()
	sig, err := Sign(specSecret, specMsgID, now, []byte(specPayload))
	if err != nil {
		t.Fatal(err)
	}
	spec := map[string]string{HeaderID: specMsgID, HeaderTimestamp: strconv.FormatInt(now.Unix(), 10), HeaderSignature: sig}
	if !nodeVerify(t, node, specSecret, spec, []byte(specPayload)) {
		t.Error("standardwebhooks rejected Sign's signature of the spec payload")
	}
}
