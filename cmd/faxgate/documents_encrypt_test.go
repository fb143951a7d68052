package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docKey returns a FAXGATE_DOCUMENT_KEY value, the same for the same seed.
func docKey(seed byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{seed}, 32))
}

// documentFiles returns every file under the data directory's documents,
// by path, with its bytes.
func documentFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(filepath.Join(dir, "documents"), func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// clearFiles returns the document files that hold a PDF signature or the
// test's known text in clear.
func clearFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for p, b := range documentFiles(t, dir) {
		if bytes.Contains(b, []byte("%PDF")) || bytes.Contains(b, []byte("referral attached")) || bytes.Contains(b, []byte("Dr. Smith")) {
			out = append(out, filepath.Base(p))
		}
	}
	return out
}

// downloadAll fetches every fax's document and reports the ones that are
// not what was stored.
func downloadAll(t *testing.T, g *gateway, ids []string) {
	t.Helper()
	for _, id := range ids {
		var pdf []byte
		if code := g.do("GET", "/v1/faxes/"+id+"/document", nil, &pdf); code != http.StatusOK || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
			t.Errorf("document of %s: got %d %q, want 200 and a PDF", id, code, pdf[:min(len(pdf), 40)])
		}
	}
}

// TestDocumentsEncryptedAtRest drives the whole life of a data directory:
// documents stored before the key was set, documents sealed with it, the
// re-encrypt command moving all to a new key, reading with the new key
// alone, and clear errors (never the sealed bytes) without the key.
func TestDocumentsEncryptedAtRest(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) {
		t.Parallel()
		testDocumentsEncryptedAtRest(t, withEnv("FAXGATE_DATABASE_URL", ""))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		testDocumentsEncryptedAtRest(t, withEnv("FAXGATE_DATABASE_URL", freshDatabase(t)))
	})
}

func testDocumentsEncryptedAtRest(t *testing.T, store gatewayOption) {
	dir := t.TempDir()
	start := func(opts ...gatewayOption) *gateway {
		t.Helper()
		return startGatewayIn(t, dir, append([]gatewayOption{store}, opts...)...)
	}
	var ids []string
	add := func(g *gateway) {
		t.Helper()
		f := g.send("+15551234567", textDoc)
		g.waitFax(f.ID)
		var in faxObj
		if code := g.do("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "+15553334444", "pages": 2}, &in); code != http.StatusCreated {
			t.Fatalf("simulator inbound: got %d, want 201", code)
		}
		ids = append(ids, f.ID, in.ID)
	}

	// Before a key: documents in clear, as faxgate always stored them.
	g := start()
	add(g)
	g.stop()
	before := clearFiles(t, dir)
	if len(before) == 0 {
		t.Fatal("no document in clear before the key was set; the test cannot tell sealed from clear")
	}

	// With a key: new documents are sealed, old ones still read.
	g = start(withEnv("FAXGATE_DOCUMENT_KEY", docKey(1)))
	add(g)
	downloadAll(t, g, ids)
	if got := clearFiles(t, dir); len(got) != len(before) {
		t.Errorf("with a key set: %d files in clear (%v), want only the %d written before it", len(got), got, len(before))
	}
	// The command refuses to run beside a gateway on the same data.
	env := map[string]string{"FAXGATE_DATA_DIR": dir, "FAXGATE_DOCUMENT_KEY": docKey(2) + "," + docKey(1)}
	getenv := func(k string) string { return env[k] }
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"documents", "re-encrypt"}, getenv, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "in use") {
		t.Errorf("re-encrypt beside a running gateway: got exit %d, %q, want 1 and the lock's error", code, stderr.String())
	}
	g.stop()

	// Rotation: the command moves every document to the new key.
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"documents", "re-encrypt"}, getenv, &stdout, &stderr); code != 0 {
		t.Fatalf("re-encrypt: exit %d, %s", code, stderr.String())
	}
	files := len(documentFiles(t, dir))
	if !strings.Contains(stdout.String(), "re-encrypted "+strconv.Itoa(files)+" documents; 0 already") {
		t.Errorf("re-encrypt: got %q, want all %d documents re-encrypted", stdout.String(), files)
	}
	if got := clearFiles(t, dir); len(got) != 0 {
		t.Errorf("after re-encrypt: files in clear: %v", got)
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"documents", "re-encrypt"}, getenv, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "re-encrypted 0 documents; "+strconv.Itoa(files)+" already") {
		t.Errorf("second re-encrypt: exit %d, %q, want nothing left to do", code, stdout.String())
	}

	// The new key alone reads everything.
	g = start(withEnv("FAXGATE_DOCUMENT_KEY", docKey(2)))
	downloadAll(t, g, ids)
	g.stop()

	// Without the key, or with a wrong one: an error, never the sealed bytes.
	for _, opt := range []gatewayOption{withEnv("FAXGATE_DOCUMENT_KEY", ""), withEnv("FAXGATE_DOCUMENT_KEY", docKey(1))} {
		g = start(opt)
		for _, id := range ids {
			var body []byte
			if code := g.do("GET", "/v1/faxes/"+id+"/document", nil, &body); code != http.StatusInternalServerError || !bytes.Contains(body, []byte(`"error"`)) {
				t.Errorf("document of %s without its key: got %d %q, want 500 with the JSON error", id, code, body[:min(len(body), 60)])
			}
		}
		g.stop()
	}

	// A malformed key is refused, naming the setting without its value.
	stderr.Reset()
	env["FAXGATE_DOCUMENT_KEY"] = "not-a-key"
	if code := run(context.Background(), []string{"documents", "re-encrypt"}, getenv, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "FAXGATE_DOCUMENT_KEY") || strings.Contains(stderr.String(), "not-a-key") {
		t.Errorf("malformed key: got exit %d, %q, want 1 naming the setting without the value", code, stderr.String())
	}
}

// TestDocumentsEncryptedSweep: with a key set, the hourly sweep still
// reaches the directory under the sealing layer and removes what a crash
// left, while the documents faxes refer to stay readable.
func TestDocumentsEncryptedSweep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	g := startGatewayIn(t, dir, withEnv("FAXGATE_DOCUMENT_KEY", docKey(1)))
	f := g.send("+15551234567", textDoc)
	g.waitFax(f.ID)
	docs := filepath.Join(dir, "documents")
	orphan := filepath.Join(docs, "outbound", "orphan.pdf")
	tmp := filepath.Join(docs, "outbound", ".tmp-42")
	for _, p := range []string{orphan, tmp} {
		if err := os.WriteFile(p, []byte("left by a crash"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	// The fax's own document is as old: only references keep it.
	for p := range documentFiles(t, dir) {
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.m.Retention.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{orphan, tmp} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s after the sweep: got %v, want it removed", filepath.Base(p), err)
		}
	}
	downloadAll(t, g, []string{f.ID})
}
