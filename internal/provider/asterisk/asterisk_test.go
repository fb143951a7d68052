package asterisk

import (
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

func TestNew(t *testing.T) {
	spool, _ := testSpool(t)
	file := filepath.Join(spool, "1700000000.12.tiff")
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string // the setting the error must name; "" for none
	}{
		{name: "valid", edit: func(*Config) {}},
		{name: "no secrets", edit: func(c *Config) { c.InboundSecrets = nil }},
		{name: "no allow list", edit: func(c *Config) { c.InboundAllow = nil }},
		{name: "ami", edit: func(c *Config) { c.AMIHost, c.AMIUser, c.AMISecret = "pbx.internal", "faxgate", "amipass" }},
		{name: "relative spool", edit: func(c *Config) { c.SpoolDir, _ = filepath.Rel(mustGetwd(t), spool) }},
		{name: "empty secret", edit: func(c *Config) { c.InboundSecrets = []string{testSecret, ""} }, wantErr: "ASTERISK_INBOUND_SECRET"},
		{name: "spaced secret", edit: func(c *Config) { c.InboundSecrets = []string{testSecret + " "} }, wantErr: "ASTERISK_INBOUND_SECRET"},
		{name: "invalid network", edit: func(c *Config) { c.InboundAllow = []netip.Prefix{{}} }, wantErr: "ASTERISK_INBOUND_ALLOW"},
		{name: "no spool", edit: func(c *Config) { c.SpoolDir = "" }, wantErr: "ASTERISK_SPOOL_DIR"},
		{name: "missing spool", edit: func(c *Config) { c.SpoolDir = filepath.Join(spool, "nope") }, wantErr: "ASTERISK_SPOOL_DIR"},
		{name: "spool is a file", edit: func(c *Config) { c.SpoolDir = file }, wantErr: "ASTERISK_SPOOL_DIR"},
		{name: "bad port", edit: func(c *Config) { c.AMIPort = "50380" + "0" }, wantErr: "ASTERISK_AMI_PORT"},
		{name: "port not a number", edit: func(c *Config) { c.AMIPort = "ami" }, wantErr: "ASTERISK_AMI_PORT"},
		{name: "host with scheme", edit: func(c *Config) { c.AMIHost = "tcp://pbx:5038" }, wantErr: "ASTERISK_AMI_HOST"},
		{name: "user without secret", edit: func(c *Config) { c.AMIUser = "faxgate" }, wantErr: "ASTERISK_AMI_SECRET"},
		{name: "secret without user", edit: func(c *Config) { c.AMISecret = "amipass" }, wantErr: "ASTERISK_AMI_USER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(spool)
			tt.edit(&cfg)
			p, err := New(cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("got error %v, want none", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("got no error, want one naming %s", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("got error %q, want it to name %s", err, tt.wantErr)
			case err != nil && (strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "amipass")):
				t.Fatalf("error %q echoes a secret", err)
			case err == nil && p.amiPort == "":
				t.Fatalf("got empty AMI port, want the default %s", DefaultAMIPort)
			}
		})
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestVerifyInbound(t *testing.T) {
	spool, _ := testSpool(t)
	full := testConfig(spool)
	secretOnly := full
	secretOnly.InboundAllow = nil
	none := Config{SpoolDir: spool}
	insecure := Config{SpoolDir: spool, Insecure: true}
	insecureAllow := insecure
	insecureAllow.InboundAllow = full.InboundAllow
	fullInsecure := full
	fullInsecure.Insecure = true
	v6 := full
	v6.InboundAllow = []netip.Prefix{netip.MustParsePrefix("fd00:fa::/32"), netip.MustParsePrefix("::ffff:192.0.2.0/120")}

	const ok, unauthorized = "", fax.ECodeUnauthorized
	tests := []struct {
		name     string
		cfg      Config
		secrets  []string // header values; nil for none
		remote   string   // "" for defaultRemote
		xff      string
		wantCode string
	}{
		{name: "right", cfg: full, secrets: []string{testSecret}, wantCode: ok},
		{name: "rotated", cfg: full, secrets: []string{testSecretOld}, wantCode: ok},
		{name: "wrong", cfg: full, secrets: []string{"ast-in-7Hq2Lk9Xw3Vb5Nm"}, wantCode: unauthorized},
		{name: "prefix of right", cfg: full, secrets: []string{testSecret[:10]}, wantCode: unauthorized},
		{name: "empty", cfg: full, secrets: []string{""}, wantCode: unauthorized},
		{name: "missing", cfg: full, wantCode: unauthorized},
		{name: "twice", cfg: full, secrets: []string{testSecret, testSecret}, wantCode: unauthorized},
		{name: "both rotation values", cfg: full, secrets: []string{testSecretOld, testSecret}, wantCode: unauthorized},
		{name: "loopback allowed", cfg: full, secrets: []string{testSecret}, remote: "127.0.0.1:9", wantCode: ok},
		{name: "source refused", cfg: full, secrets: []string{testSecret}, remote: "10.21.0.1:40000", wantCode: unauthorized},
		{name: "forwarded-for ignored", cfg: full, secrets: []string{testSecret}, remote: "203.0.113.50:40000", xff: "10.20.0.9", wantCode: unauthorized},
		{name: "forwarded-for does not refuse", cfg: full, secrets: []string{testSecret}, xff: "203.0.113.50", wantCode: ok},
		{name: "bare ip", cfg: full, secrets: []string{testSecret}, remote: "10.20.9.9", wantCode: ok},
		{name: "unparseable remote", cfg: full, secrets: []string{testSecret}, remote: "pbx:5060", wantCode: unauthorized},
		{name: "empty remote", cfg: full, secrets: []string{testSecret}, remote: "@", wantCode: unauthorized},
		{name: "mapped v4 source", cfg: full, secrets: []string{testSecret}, remote: "[::ffff:10.20.1.1]:1", wantCode: ok},
		{name: "v6 allowed", cfg: v6, secrets: []string{testSecret}, remote: "[fd00:fa:1::5]:1", wantCode: ok},
		{name: "v6 with zone allowed", cfg: v6, secrets: []string{testSecret}, remote: "[fd00:fa:1::5%eth0]:1", wantCode: ok},
		{name: "v6 refused", cfg: v6, secrets: []string{testSecret}, remote: "[fd00:fb::5]:1", wantCode: unauthorized},
		{name: "mapped network, v4 source", cfg: v6, secrets: []string{testSecret}, remote: "192.0.2.77:1", wantCode: ok},
		{name: "secret only, any source", cfg: secretOnly, secrets: []string{testSecret}, remote: "203.0.113.50:1", wantCode: ok},
		{name: "nothing configured", cfg: none, wantCode: unauthorized},
		{name: "nothing configured, secret sent", cfg: none, secrets: []string{testSecret}, wantCode: unauthorized},
		{name: "insecure", cfg: insecure, wantCode: ok},
		{name: "insecure keeps allow list", cfg: insecureAllow, remote: "203.0.113.50:1", wantCode: unauthorized},
		{name: "insecure, allowed source", cfg: insecureAllow, wantCode: ok},
		{name: "insecure ignored when configured", cfg: fullInsecure, wantCode: unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustNew(t, tt.cfg)
			r := &http.Request{Method: http.MethodPost, Header: http.Header{}, RemoteAddr: defaultRemote}
			if tt.remote == "@" {
				r.RemoteAddr = ""
			} else if tt.remote != "" {
				r.RemoteAddr = tt.remote
			}
			for _, s := range tt.secrets {
				r.Header.Add(SecretHeader, s)
			}
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			err := p.VerifyInbound(r, nil)
			if got := fax.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("got code %q (%v), want %q", got, err, tt.wantCode)
			}
			if err != nil && (strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), testSecretOld)) {
				t.Errorf("error %q echoes a secret", err)
			}
		})
	}
}

func TestResolveSpoolPath(t *testing.T) {
	spool, outside := testSpool(t)
	p := mustNew(t, testConfig(spool))
	main := filepath.Join(spool, "1700000000.12.tiff")
	long := strings.Repeat("a/", maxPathLen)
	tests := []struct {
		name, path, want string // want "" means refused
		wantMsg          string
	}{
		{name: "absolute", path: main, want: main},
		{name: "relative", path: "1700000000.12.tiff", want: main},
		{name: "subdirectory", path: "in/1700000100.7.tiff", want: filepath.Join(spool, "in", "1700000100.7.tiff")},
		{name: "dot-dot staying inside", path: "./in/../1700000000.12.tiff", want: main},
		{name: "symlink inside", path: "inner-link.tiff", want: main},
		{name: "trailing slash cleaned", path: main + "/", want: main},
		{name: "relative dot-dot out", path: "../outside/secret.tiff", wantMsg: "inside ASTERISK_SPOOL_DIR"},
		{name: "absolute dot-dot out", path: spool + "/../outside/secret.tiff", wantMsg: "inside ASTERISK_SPOOL_DIR"},
		{name: "deep dot-dot out", path: "in/../../../../../../etc/passwd", wantMsg: "inside ASTERISK_SPOOL_DIR"},
		{name: "absolute outside", path: "/etc/passwd", wantMsg: "inside ASTERISK_SPOOL_DIR"},
		{name: "sibling outside", path: filepath.Join(outside, "secret.tiff"), wantMsg: "inside ASTERISK_SPOOL_DIR"},
		{name: "sibling with spool as prefix", path: spool + "-other/x.tiff", wantMsg: "inside ASTERISK_SPOOL_DIR"},
		{name: "symlink escaping", path: "escape.tiff", wantMsg: "inside ASTERISK_SPOOL_DIR"},
		{name: "symlinked directory escaping", path: "dirlink/secret.tiff", wantMsg: "inside ASTERISK_SPOOL_DIR"},
		{name: "directory", path: "in", wantMsg: "not a regular file"},
		{name: "spool itself", path: spool, wantMsg: "not a regular file"},
		{name: "dot", path: ".", wantMsg: "not a regular file"},
		{name: "fifo", path: "fifo", wantMsg: "not a regular file"},
		{name: "nonexistent", path: "1700000400.6.tiff", wantMsg: "does not exist"},
		{name: "dangling symlink", path: "dangling.tiff", wantMsg: "does not exist"},
		{name: "file as directory", path: "1700000000.12.tiff/x", wantMsg: "cannot be resolved"},
		{name: "empty", path: "", wantMsg: "empty"},
		{name: "nul", path: "1700000000.12.tiff\x00.png", wantMsg: "NUL"},
		{name: "too long", path: long, wantMsg: "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.ResolveSpoolPath(tt.path)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want refused", got)
			}
			if fax.ErrorCode(err) != fax.ECodeInvalid || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %v, want invalid saying %q", err, tt.wantMsg)
			}
		})
	}
}

// TestResolveSpoolPathSymlinkedSpool configures the spool through a symlink,
// as /var/spool/asterisk/fax often is: the file may be named through either
// path, and the answer is the real one.
func TestResolveSpoolPathSymlinkedSpool(t *testing.T) {
	spool, outside := testSpool(t)
	link := filepath.Join(filepath.Dir(spool), "spool-link")
	if err := os.Symlink(spool, link); err != nil {
		t.Fatal(err)
	}
	p := mustNew(t, testConfig(link))
	want := filepath.Join(spool, "1700000000.12.tiff")
	for _, path := range []string{filepath.Join(link, "1700000000.12.tiff"), want, "1700000000.12.tiff"} {
		if got, err := p.ResolveSpoolPath(path); err != nil || got != want {
			t.Errorf("ResolveSpoolPath(%q): got %q, %v; want %q", path, got, err, want)
		}
	}
	for _, path := range []string{filepath.Join(link, "..", "outside", "secret.tiff"), filepath.Join(outside, "secret.tiff"), "escape.tiff"} {
		if got, err := p.ResolveSpoolPath(path); err == nil {
			t.Errorf("ResolveSpoolPath(%q): got %q, want refused", path, got)
		}
	}
}

func TestOpenSpoolFile(t *testing.T) {
	spool, _ := testSpool(t)
	p := mustNew(t, testConfig(spool))
	f, err := p.OpenSpoolFile("in/1700000100.7.tiff")
	if err != nil {
		t.Fatalf("OpenSpoolFile: %v", err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(b) != tiffHeader {
		t.Errorf("got %q, %v; want the TIFF header", b, err)
	}
	for _, path := range []string{"escape.tiff", "../outside/secret.tiff", "in", "fifo"} {
		if f, err := p.OpenSpoolFile(path); err == nil {
			f.Close()
			t.Errorf("OpenSpoolFile(%q): opened, want refused", path)
		}
	}
}

// TestParseNeverReadsOutside checks that a refused tiff_path leaves the file
// untouched: its access time is not what matters (noatime mounts), so the
// outside file is made unreadable and must still be refused for being
// outside, not for being unreadable.
func TestParseNeverReadsOutside(t *testing.T) {
	spool, outside := testSpool(t)
	secret := filepath.Join(outside, "secret.tiff")
	if err := os.Chmod(secret, 0); err != nil {
		t.Fatal(err)
	}
	p := mustNew(t, testConfig(spool))
	body := `{"tiff_path":"` + secret + `","to_number":"+15559870000","faxstatus":"SUCCESS","faxpages":1,"uniqueid":"1.1"}`
	_, err := p.ParseInbound(&http.Request{Header: http.Header{}}, []byte(body))
	if err == nil || !strings.Contains(err.Error(), "inside ASTERISK_SPOOL_DIR") {
		t.Fatalf("got %v, want refused as outside the spool", err)
	}
}

func TestParseInboundLimits(t *testing.T) {
	spool, _ := testSpool(t)
	p := mustNew(t, testConfig(spool))
	big := `{"uniqueid":"1.1","pad":"` + strings.Repeat("x", maxBodyLen) + `"}`
	if _, err := p.ParseInbound(&http.Request{}, []byte(big)); fax.ErrorCode(err) != fax.ECodeTooLarge {
		t.Errorf("oversized body: got %v, want too_large", err)
	}
	for _, body := range []string{``, `null`, `"x"`, `{`, `{"uniqueid":}`, `{} {}`, `{}x`, "{}\n"} {
		_, err := p.ParseInbound(&http.Request{}, []byte(body))
		if fax.ErrorCode(err) != fax.ECodeInvalid {
			t.Errorf("body %q: got %v, want invalid", body, err)
		}
	}
	pages := []struct {
		v    string
		want int
		ok   bool
	}{
		{`0`, 0, true}, {`"0"`, 0, true}, {`" 7 "`, 7, true}, {`""`, 0, true}, {`null`, 0, true},
		{`10000`, 10000, true}, {`10001`, 0, false}, {`-1`, 0, false}, {`1e2`, 0, false}, {`"two"`, 0, false}, {`[]`, 0, false},
	}
	for _, tt := range pages {
		body := `{"tiff_path":"1700000000.12.tiff","to_number":"+15559870000","faxstatus":"SUCCESS","faxpages":` + tt.v + `,"uniqueid":"1.1"}`
		ups, err := p.ParseInbound(&http.Request{}, []byte(body))
		if (err == nil) != tt.ok || (err == nil && ups[0].Pages != tt.want) {
			t.Errorf("faxpages %s: got %v, %v; want %d ok=%v", tt.v, ups, err, tt.want, tt.ok)
		}
	}
}
