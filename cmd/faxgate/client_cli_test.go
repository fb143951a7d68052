package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLISendStatusListen drives `faxgate send`, `status --wait` and
// `listen`, which talk to the gateway through package client.
func TestCLISendStatusListen(t *testing.T) {
	g := startGateway(t)
	env := func(k string) string {
		return map[string]string{"FAXGATE_URL": g.url, "FAXGATE_API_KEY": adminKey}[k]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var listenOut syncBuffer
	lctx, stopListen := context.WithCancel(ctx)
	listenDone := make(chan int, 1)
	go func() {
		listenDone <- run(lctx, []string{"listen", "--addr", "127.0.0.1:0"}, env, &listenOut, &listenOut)
	}()
	for !strings.Contains(listenOut.String(), "listening on") {
		select {
		case <-ctx.Done():
			t.Fatalf("listen did not start: %s", listenOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}

	doc := filepath.Join(t.TempDir(), "hello.txt")
	os.WriteFile(doc, []byte("hello from the CLI\n"), 0o600)
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"send", "--to", "+15551230100", "--idempotency-key", "cli-1", doc}, env, &out, &errOut); code != 0 {
		t.Fatalf("send: exit %d: %s", code, errOut.String())
	}
	var sent struct{ ID, Status string }
	if err := json.Unmarshal(out.Bytes(), &sent); err != nil || !strings.HasPrefix(sent.ID, "fax_") {
		t.Fatalf("send printed %q (%v), want a fax", out.String(), err)
	}
	out.Reset()
	if code := run(ctx, []string{"status", "--wait", sent.ID}, env, &out, &errOut); code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut.String())
	}
	var final struct{ ID, Status string }
	if err := json.Unmarshal(out.Bytes(), &final); err != nil || final.Status != "sent" {
		t.Fatalf("status --wait printed %q (%v), want status sent", out.String(), err)
	}
	for !strings.Contains(listenOut.String(), sent.ID) {
		select {
		case <-ctx.Done():
			t.Fatalf("listen printed no event of %s: %s", sent.ID, listenOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	stopListen()
	if code := <-listenDone; code != 0 {
		t.Fatalf("listen: exit %d: %s", code, listenOut.String())
	}
	got := listenOut.String()
	if !strings.Contains(got, "fax.sent") || !strings.Contains(got, "(signature ok)") || strings.Contains(got, "INVALID") || !strings.Contains(got, "removed webhook endpoint") {
		t.Fatalf("listen printed:\n%s\nwant fax.sent with a valid signature and the endpoint removed", got)
	}

	// An API error reaches the user with its code and request id.
	errOut.Reset()
	if code := run(ctx, []string{"status", "fax_nosuchfax"}, env, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "not_found") || !strings.Contains(errOut.String(), "request req_") {
		t.Fatalf("status of an unknown fax: exit %d, %q; want 1 naming not_found and the request id", code, errOut.String())
	}
}
