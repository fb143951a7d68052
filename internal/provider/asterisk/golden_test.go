package asterisk

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// Test secrets, as the fixtures in testdata use them.
const (
	testSecret    = "ast-in-7Hq2Lk9Xw3Vb5Nm1"
	testSecretOld = "ast-in-old-3Zp9Rv6Tc8Yq"
	defaultRemote = "10.20.0.7:50312"
	spoolMark     = "@SPOOL@"
)

// tiffHeader is enough of a TIFF for files that are never decoded here.
const tiffHeader = "II*\x00\x08\x00\x00\x00"

// testSpool builds, in a fresh temporary directory, a spool and a sibling
// "outside" directory:
//
//	spool/1700000000.12.tiff            a received fax
//	spool/in/1700000100.7.tiff          one in a subdirectory
//	spool/partial/1700000200.3.tiff     a partial reception
//	spool/inner-link.tiff -> 1700000000.12.tiff            stays inside
//	spool/escape.tiff -> ../outside/secret.tiff            escapes
//	spool/dirlink -> ../outside                            escapes
//	spool/dangling.tiff -> nowhere.tiff                    missing target
//	spool/fifo                                             not a regular file
//	outside/secret.tiff
func testSpool(t testing.TB) (spool, outside string) {
	t.Helper()
	base := t.TempDir()
	spool = filepath.Join(base, "spool")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{spool, outside, filepath.Join(spool, "in"), filepath.Join(spool, "partial")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{
		filepath.Join(spool, "1700000000.12.tiff"),
		filepath.Join(spool, "in", "1700000100.7.tiff"),
		filepath.Join(spool, "partial", "1700000200.3.tiff"),
		filepath.Join(outside, "secret.tiff"),
	} {
		if err := os.WriteFile(f, []byte(tiffHeader), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"inner-link.tiff": "1700000000.12.tiff",
		"escape.tiff":     "../outside/secret.tiff",
		"dirlink":         "../outside",
		"dangling.tiff":   "nowhere.tiff",
	} {
		if err := os.Symlink(target, filepath.Join(spool, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(spool, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return spool, outside
}

// testConfig is the configuration the fixtures were written for.
func testConfig(spool string) Config {
	return Config{
		InboundSecrets: []string{testSecret, testSecretOld},
		InboundAllow:   []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("127.0.0.1/32")},
		SpoolDir:       spool,
	}
}

func mustNew(t testing.TB, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// readFixture reads an HTTP request written as text: "#" comment lines (one
// may be "# remote-addr: host:port"), the request line, headers, a blank line
// and the body, in which @SPOOL@ stands for the spool directory.
// Content-Length is computed, so fixtures stay hand-editable.
func readFixture(t testing.TB, path, spool string) (*http.Request, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	remote := defaultRemote
	for strings.HasPrefix(s, "#") {
		var line string
		line, s, _ = strings.Cut(s, "\n")
		if v, ok := strings.CutPrefix(line, "# remote-addr:"); ok {
			remote = strings.TrimSpace(v)
		}
	}
	head, body, _ := strings.Cut(s, "\n\n")
	body = strings.ReplaceAll(strings.TrimSuffix(body, "\n"), spoolMark, spool)
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n")))
	if err != nil {
		t.Fatalf("fixture request: %v", err)
	}
	r.ContentLength = int64(len(body))
	r.Body = http.NoBody
	r.RemoteAddr = remote
	return r, []byte(body)
}

// wireError is an error as a golden file records it.
type wireError struct {
	Code    string
	Message string
}

func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	var fe *fax.Error
	if errors.As(err, &fe) {
		return &wireError{Code: fe.Code, Message: fe.Message}
	}
	return &wireError{Code: fax.ECodeInternal, Message: err.Error()}
}

// result is what a golden file holds.
type result struct {
	VerifyError *wireError   `json:",omitempty"`
	ParseError  *wireError   `json:",omitempty"`
	Updates     []fax.Update `json:",omitempty"`
}

func handle(p *Provider, r *http.Request, body []byte) result {
	if err := p.VerifyInbound(r, body); err != nil {
		return result{VerifyError: toWire(err)}
	}
	ups, err := p.ParseInbound(r, body)
	if err != nil {
		return result{ParseError: toWire(err)}
	}
	return result{Updates: ups}
}

func TestGolden(t *testing.T) {
	spool, _ := testSpool(t)
	realSpool, err := filepath.EvalSymlinks(spool)
	if err != nil {
		t.Fatal(err)
	}
	p := mustNew(t, testConfig(spool))
	files, err := filepath.Glob("testdata/*.http")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".http")
		t.Run(name, func(t *testing.T) {
			r, body := readFixture(t, file, spool)
			got := handle(p, r, body)
			// Paths in the output are the real spool's; the golden file
			// holds @SPOOL@ instead of this run's temporary directory.
			for _, u := range got.Updates {
				if u.Document != nil {
					u.Document.TIFFPath = strings.Replace(u.Document.TIFFPath, realSpool, spoolMark, 1)
				}
			}
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), spool) || strings.Contains(string(b), testSecret) || strings.Contains(string(b), testSecretOld) {
				t.Fatalf("output holds the temporary spool path or a secret:\n%s", b)
			}
			golden := strings.TrimSuffix(file, ".http") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wb, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			var want result
			if err := json.Unmarshal(wb, &want); err != nil {
				t.Fatalf("golden %s: %v", golden, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: mismatch (-want +got):\n%s", name, diff)
			}
		})
	}
}
