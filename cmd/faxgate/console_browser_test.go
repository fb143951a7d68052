package main

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var consoleScreenshots = flag.Bool("console-screenshots", false, "write the console browser test's screenshots to docs/screenshots")

// TestConsoleBrowser drives Debian's Chromium through the console with
// playwright-core (internal/console/testdata/browser/flows.js): sign in;
// send a text document and watch it reach sent; receive through the
// simulator and see the PDF preview; create a failing endpoint, see the
// failed attempt, fix the URL and retry; refuse a forged post; sign out;
// a read-only key sees no send or delete controls. scripts/test installs
// Chromium and the npm package and sets FAXGATE_BROWSER_TESTS=1, under
// which a missing piece fails instead of skipping.
func TestConsoleBrowser(t *testing.T) {
	const dir = "../../internal/console/testdata/browser"
	required := os.Getenv("FAXGATE_BROWSER_TESTS") == "1"
	missing := func(what string) {
		if required {
			t.Fatalf("FAXGATE_BROWSER_TESTS=1 but %s", what)
		}
		t.Skip(what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		missing("chromium is not installed (apt-get install chromium chromium-driver)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing("playwright-core is not installed (npm ci in " + dir + ")")
	}

	g := startGateway(t, withEnv("FAXGATE_RATE_LIMIT", "100"))
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("upstream down"))
	}))
	t.Cleanup(failing.Close)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(ok.Close)

	shots := t.TempDir()
	if *consoleScreenshots {
		shots, _ = filepath.Abs("../../docs/screenshots")
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node, "flows.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+g.url, "ADMIN_KEY="+adminKey, "FAIL_URL="+failing.URL+"/hook",
		"OK_URL="+ok.URL+"/hook", "SHOTS="+shots, "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	t.Logf("flows.js:\n%s", out)
	if err != nil {
		t.Fatalf("the browser flows failed: %v", err)
	}
}
