package asterisk

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// seed is one testdata request.
type seed struct {
	r    *http.Request
	body []byte
}

// fixtureSeeds returns every testdata request, @SPOOL@ replaced by spool.
func fixtureSeeds(f *testing.F, spool string) []seed {
	f.Helper()
	files, err := filepath.Glob("testdata/*.http")
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	var seeds []seed
	for _, file := range files {
		r, body := readFixture(f, file, spool)
		seeds = append(seeds, seed{r, body})
	}
	return seeds
}

func FuzzVerifyInbound(f *testing.F) {
	spool, _ := testSpool(f)
	for _, s := range fixtureSeeds(f, spool) {
		f.Add(s.r.Header.Get(SecretHeader), s.r.RemoteAddr, s.r.Header.Get("X-Forwarded-For"))
	}
	f.Add(testSecret+"\x00", "[::1%lo]:80", "127.0.0.1")
	f.Add(testSecretOld, "10.20.255.255", "")
	full := mustNew(f, testConfig(spool))
	none := mustNew(f, Config{SpoolDir: spool})
	f.Fuzz(func(t *testing.T, secret, remote, xff string) {
		r := &http.Request{Method: http.MethodPost, Header: http.Header{}, RemoteAddr: remote}
		r.Header.Set(SecretHeader, secret)
		r.Header.Set("X-Forwarded-For", xff)
		err := full.VerifyInbound(r, nil)
		if code := fax.ErrorCode(err); code != "" && code != fax.ECodeUnauthorized {
			t.Fatalf("got code %q (%v), want unauthorized or nil", code, err)
		}
		if err == nil && secret != testSecret && secret != testSecretOld {
			t.Fatalf("accepted secret %q", secret)
		}
		if err == nil && !full.allowed(remote) {
			t.Fatalf("accepted source %q", remote)
		}
		if err != nil && (strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), testSecretOld)) {
			t.Fatalf("error %q echoes a secret", err)
		}
		if none.VerifyInbound(r, nil) == nil {
			t.Fatal("nothing configured: accepted")
		}
	})
}

func FuzzParseInbound(f *testing.F) {
	spool, outside := testSpool(f)
	realSpool, err := filepath.EvalSymlinks(spool)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range fixtureSeeds(f, spool) {
		f.Add(s.body)
	}
	f.Add([]byte(`{"faxpages":"` + "\u00a0" + `1","uniqueid":"\u0000"}`))
	f.Add([]byte(`{"tiff_path":"dirlink/secret.tiff","to_number":"+15559870000","faxstatus":"success","faxpages":1,"uniqueid":"1.1"}`))
	p := mustNew(f, testConfig(spool))
	f.Fuzz(func(t *testing.T, body []byte) {
		ups, err := p.ParseInbound(&http.Request{Method: http.MethodPost, Header: http.Header{}}, body)
		if err != nil {
			if code := fax.ErrorCode(err); code != fax.ECodeInvalid && code != fax.ECodeTooLarge {
				t.Fatalf("got code %q (%v), want invalid or too_large", code, err)
			}
			return
		}
		if len(ups) != 1 {
			t.Fatalf("got %d updates, want 1", len(ups))
		}
		u := ups[0]
		if u.Provider != Name || u.Kind != fax.UpdateInbound || u.EventKey != "asterisk:in:"+u.ProviderFaxID || !validID(u.ProviderFaxID) || u.ProviderFaxID == "" {
			t.Fatalf("got %+v", u)
		}
		if u.Status != fax.StatusReceived && u.Status != fax.StatusPartial {
			t.Fatalf("got status %q", u.Status)
		}
		if _, err := fax.ParseNumber(u.To); err != nil {
			t.Fatalf("got To %q: %v", u.To, err)
		}
		if _, err := fax.ParseNumber(u.From); u.From != "" && err != nil {
			t.Fatalf("got From %q: %v", u.From, err)
		}
		if u.Document == nil {
			if u.Status != fax.StatusPartial || u.Pages != 0 {
				t.Fatalf("got no document for %q with %d pages", u.Status, u.Pages)
			}
			return
		}
		checkInside(t, realSpool, outside, u.Document.TIFFPath)
	})
}

func FuzzResolveSpoolPath(f *testing.F) {
	spool, outside := testSpool(f)
	realSpool, err := filepath.EvalSymlinks(spool)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		"1700000000.12.tiff", "in/1700000100.7.tiff", "./in/../1700000000.12.tiff", "inner-link.tiff",
		"escape.tiff", "dirlink/secret.tiff", "dirlink/../1700000000.12.tiff", "../outside/secret.tiff",
		"/etc/passwd", "in", ".", "", "fifo", "dangling.tiff", "in//1700000100.7.tiff",
		filepath.Join(spool, "1700000000.12.tiff"), filepath.Join(spool, "..", "outside", "secret.tiff"),
		filepath.Join(outside, "secret.tiff"), spool + "/../spool/1700000000.12.tiff",
	} {
		f.Add(s)
	}
	p := mustNew(f, testConfig(spool))
	f.Fuzz(func(t *testing.T, path string) {
		got, err := p.ResolveSpoolPath(path)
		if err != nil {
			if code := fax.ErrorCode(err); code != fax.ECodeInvalid {
				t.Fatalf("got code %q (%v), want invalid", code, err)
			}
			return
		}
		checkInside(t, realSpool, outside, got)
	})
}

// checkInside fails unless path is a regular file strictly inside the real
// spool and never the outside secret.
func checkInside(t *testing.T, realSpool, outside, path string) {
	t.Helper()
	if !filepath.IsAbs(path) || !strings.HasPrefix(path, realSpool+string(filepath.Separator)) {
		t.Fatalf("got %q outside %q", path, realSpool)
	}
	if r, err := filepath.EvalSymlinks(path); err != nil || r != path {
		t.Fatalf("got %q, which resolves to %q (%v)", path, r, err)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("got %q, not a regular file (%v)", path, err)
	}
	if strings.HasPrefix(path, outside) {
		t.Fatalf("got the outside file %q", path)
	}
}
