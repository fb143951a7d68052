package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var updateTypeScript = flag.Bool("update-typescript", false, "rewrite clients/typescript/openapi.json and src/schema.d.ts from the router's document")

const tsDir = "../../clients/typescript"

// TestTypeScriptTypesFresh regenerates the TypeScript package's types with
// openapi-typescript from the /openapi.json a running gateway serves, and
// fails when the committed ones differ: run
// `go test ./cmd/faxgate -run TestTypeScriptTypesFresh -update-typescript`
// after changing the API.
func TestTypeScriptTypesFresh(t *testing.T) {
	node := nodeProject(t, tsDir, "openapi-typescript/package.json")
	g := startGateway(t)
	resp, err := http.Get(g.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var doc bytes.Buffer
	if err := json.Indent(&doc, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	os.WriteFile(filepath.Join(tmp, "openapi.json"), doc.Bytes(), 0o600)
	gen := exec.Command(node, filepath.Join("node_modules", "openapi-typescript", "bin", "cli.js"), filepath.Join(tmp, "openapi.json"), "-o", filepath.Join(tmp, "schema.d.ts"))
	gen.Dir = tsDir
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("openapi-typescript: %v\n%s", err, out)
	}
	for _, f := range [][2]string{{"openapi.json", "openapi.json"}, {"schema.d.ts", "src/schema.d.ts"}} {
		fresh, err := os.ReadFile(filepath.Join(tmp, f[0]))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(tsDir, f[1])
		if *updateTypeScript {
			if err := os.WriteFile(path, fresh, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		committed, _ := os.ReadFile(path)
		if !bytes.Equal(committed, fresh) {
			t.Errorf("clients/typescript/%s is stale against the router's /openapi.json; run go test ./cmd/faxgate -run TestTypeScriptTypesFresh -update-typescript", f[1])
		}
	}
}

// TestTypeScriptClientSendsFax builds the TypeScript package and, under
// Node, sends a fax through a live gateway with it, waits until it is sent,
// verifies the fax.sent webhook with verifyWebhook and reads an API error.
func TestTypeScriptClientSendsFax(t *testing.T) {
	node := nodeProject(t, tsDir, "openapi-fetch/package.json")
	runNode(t, tsDir, nil, node, filepath.Join("node_modules", "typescript", "bin", "tsc"), "-p", ".")
	g := startGateway(t)
	b := runNode(t, tsDir, []string{"FAXGATE_URL=" + g.url, "FAXGATE_API_KEY=" + adminKey}, node, "test/send.mjs")
	var out struct {
		FaxID            string `json:"fax_id"`
		Status           string `json:"status"`
		Idempotent       bool   `json:"idempotent"`
		WebhookType      string `json:"webhook_type"`
		WebhookFax       string `json:"webhook_fax"`
		TamperedRejected bool   `json:"tampered_rejected"`
		Listed           bool   `json:"listed"`
		Error            string `json:"error"`
		BatchListed      int    `json:"batch_listed"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("send.mjs printed %s: %v", b, err)
	}
	if out.Status != "sent" || !out.Idempotent || out.WebhookType != "fax.sent" || out.WebhookFax != out.FaxID ||
		!out.TamperedRejected || !out.Listed || out.Error != "404 not_found true" {
		t.Fatalf("got %+v, want the fax sent once, its fax.sent webhook verified, a tampered one refused, the fax listed and a 404 FaxgateError", out)
	}
	if out.BatchListed != 2 {
		t.Errorf("sendBatch to two numbers, listed by batch_id: got %d faxes, want 2", out.BatchListed)
	}
	var f struct{ Status string }
	if g.do("GET", "/v1/faxes/"+out.FaxID, nil, &f) != 200 || f.Status != "sent" {
		t.Fatalf("the gateway has fax %s as %+v, want sent", out.FaxID, f)
	}
}
