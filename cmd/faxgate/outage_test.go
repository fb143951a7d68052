package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDatabaseOutage: with its PostgreSQL server down, faxgate answers 503
// to sends and carrier webhooks (so clients and carriers retry), never
// acknowledging what it did not store; when the server returns, faxgate
// recovers by itself, without a restart.
func TestDatabaseOutage(t *testing.T) {
	if os.Getenv("FAXGATE_TEST_DATABASE_URL") == "" && os.Getenv("CI") != "true" {
		t.Skip("needs PostgreSQL's tools (scripts/pg); run under bash scripts/test")
	}
	if testing.Short() {
		t.Skip("starts its own PostgreSQL server")
	}
	// Not under t.TempDir: the server runs as the postgres user, which must
	// reach the directory.
	parent, err := os.MkdirTemp("", "faxgate-outage-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(parent, 0o755)
	t.Cleanup(func() { os.RemoveAll(parent) })
	dir := filepath.Join(parent, "pg")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	pg := func(cmd string) string {
		t.Helper()
		c := exec.Command("bash", "../../scripts/pg", cmd, dir)
		c.Env = append(os.Environ(), "FAXGATE_TEST_PG_PORT="+port)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("scripts/pg %s: %v %s", cmd, err, out)
		}
		return string(out)
	}
	out := pg("start")
	t.Cleanup(func() { exec.Command("bash", "../../scripts/pg", "stop", dir).Run() })
	dbURL := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "export FAXGATE_TEST_DATABASE_URL="))
	g := startGateway(t, withEnv("FAXGATE_DATABASE_URL", dbURL), withEnv("FAXGATE_PUBLIC_URL", publicURL),
		withEnv("PHAXIO_API_SECRET", "api-secret"))
	before := g.send("+15551234567", textDoc)
	g.waitFax(before.ID)

	pg("halt")
	body := multipartSend(map[string]string{"to": "+15551234568"}, textDoc)
	var e errorBody
	if code := g.do("POST", "/v1/faxes", body, &e); code != 503 || e.Error.Code != "unavailable" {
		t.Errorf("send during the outage: got %d %+v, want 503 unavailable", code, e)
	}
	inbound := []byte(`{"fax":{"id":555,"from":"+15551230007","to":"+15559870002","num_pages":1,"status":"received","file_url":"https://files.phaxio.com/x.pdf"}}`)
	if code, resp := g.post("/phaxio-inbound", "application/json", inbound, map[string]string{"X-Phaxio-Signature": hmacHex("api-secret", inbound)}); code != 503 {
		t.Errorf("carrier webhook during the outage: got %d %s, want 503", code, resp)
	}
	if code := g.doKey("", "GET", "/readyz", nil, nil); code != 503 {
		t.Errorf("readyz during the outage: got %d, want 503", code)
	}

	pg("resume")
	deadline := time.Now().Add(30 * time.Second)
	for g.doKey("", "GET", "/readyz", nil, nil) != 200 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	after := g.send("+15551234569", textDoc)
	if done := g.waitFax(after.ID); done.Status != "sent" {
		t.Errorf("after the outage: got %s, want sent", done.Status)
	}
	if code, resp := g.post("/phaxio-inbound", "application/json", inbound, map[string]string{"X-Phaxio-Signature": hmacHex("api-secret", inbound)}); code != 200 {
		t.Errorf("carrier webhook after the outage: got %d %s", code, resp)
	}
	// Nothing half-stored: only the two faxes that were acknowledged exist.
	var list struct{ Data []faxObj }
	g.do("GET", "/v1/faxes?direction=outbound", nil, &list)
	if len(list.Data) != 2 {
		t.Errorf("got %d outbound faxes, want 2 (the refused send must not exist)", len(list.Data))
	}
}
