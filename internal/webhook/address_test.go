package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
)

// loopback is what tests pass as AllowNetworks to reach httptest servers.
func loopback() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// fakeResolver answers from a fixed table and never touches real DNS.
func fakeResolver(table map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		addrs, ok := table[host]
		if !ok {
			return nil, errors.New("no such host")
		}
		var out []netip.Addr
		for _, a := range addrs {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
}

func TestAllowed(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"8.8.8.8", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"172.15.255.255", true},
		{"172.32.0.0", true},
		{"198.20.0.0", true},
		{"223.255.255.255", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8
		{"::ffff:93.184.216.34", true},
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"192.0.0.170", false},
		{"198.18.0.1", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"::1", false},
		{"::", false},
		{"::127.0.0.1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fec0::1", false},
		{"ff02::1", false},
		{"64:ff9b::7f00:1", false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::1", false},
		{"2002:7f00:1::1", false}, // 6to4 of 127.0.0.1
		{"2001:0:4136:e378::1", false},
	}
	for _, tt := range tests {
		if got := allowed(netip.MustParseAddr(tt.addr), nil); got != tt.want {
			t.Errorf("allowed(%s, nil) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	allow := append(loopback(), netip.MustParsePrefix("10.1.0.0/16"))
	for addr, want := range map[string]bool{
		"127.0.0.1":        true,
		"::1":              true,
		"::ffff:127.0.0.1": true,
		"10.1.2.3":         true,
		"10.2.0.1":         false,
		"169.254.169.254":  false,
		"93.184.216.34":    true,
	} {
		if got := allowed(netip.MustParseAddr(addr), allow); got != want {
			t.Errorf("allowed(%s, loopback+10.1/16) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	resolve := fakeResolver(map[string][]string{
		"localhost":           {"127.0.0.1", "::1"},
		"example.com":         {"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"},
		"rebind.example":      {"93.184.216.34", "10.0.0.7"},
		"metadata.example":    {"169.254.169.254"},
		"v4only.localhost.to": {"127.0.0.1"},
	})
	tests := []struct {
		url   string
		allow []netip.Prefix
		ok    bool
	}{
		{url: "http://10.0.0.1/hook"},
		{url: "http://169.254.169.254/latest/meta-data/"},
		{url: "http://[::1]:8080/"},
		{url: "http://localhost/"},
		{url: "http://127.1/"},
		{url: "http://0x7f.1/"},
		{url: "http://2130706433/"},
		{url: "http://017700000001/"},
		{url: "http://1.2.3.4./"},
		{url: "http://[::ffff:127.0.0.1]/"},
		{url: "http://[fe80::1%25eth0]/"},
		{url: "http://0.0.0.0/"},
		{url: "http://100.64.1.1/"},
		{url: "file:///etc/passwd"},
		{url: "ftp://example.com/"},
		{url: "javascript:alert(1)"},
		{url: "http:///path"},
		{url: "http://"},
		{url: "https://user:pass@/x"},
		{url: "http:example.com"},
		{url: "//example.com/hook"},
		{url: "example.com/hook"},
		{url: ""},
		{url: "http://example.com:0/"},
		{url: "http://example.com:99999/"},
		{url: "http://rebind.example/"},
		{url: "http://metadata.example/"},
		{url: "http://unknown.example/"},
		{url: "https://example.com/" + strings.Repeat("a", maxURLLength)},
		{url: "http://93.184.216.34/hook", ok: true},
		{url: "https://example.com/hooks/fax?x=1", ok: true},
		{url: "https://alice:s3cret@example.com:8443/hook", ok: true},
		{url: "https://[2606:2800:220:1:248:1893:25c8:1946]/", ok: true},
		{url: "mailto:ops@example.com", ok: true},
		{url: "http://127.0.0.1:8080/hook", allow: loopback(), ok: true},
		{url: "http://[::1]/hook", allow: loopback(), ok: true},
		{url: "http://localhost/hook", allow: loopback(), ok: true},
		{url: "http://v4only.localhost.to/", allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, ok: true},
		{url: "http://localhost/hook", allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, // ::1 is not allowed
		{url: "http://10.0.0.1/", allow: loopback()},
	}
	for _, tt := range tests {
		err := CheckURL(tt.url, tt.allow, resolve)
		switch {
		case tt.ok && err != nil:
			t.Errorf("CheckURL(%q) = %v, want nil", tt.url, err)
		case !tt.ok && err == nil:
			t.Errorf("CheckURL(%q) = nil, want an error", tt.url)
		case err != nil && fax.ErrorCode(err) != fax.ECodeInvalid:
			t.Errorf("CheckURL(%q) error code = %q, want %q", tt.url, fax.ErrorCode(err), fax.ECodeInvalid)
		case err != nil && strings.Contains(err.Error(), "pass"):
			t.Errorf("CheckURL(%q) error %q repeats the credentials", tt.url, err)
		}
	}
}

// FuzzCheckURL checks that CheckURL never panics, refuses only with an
// invalid *fax.Error, and never accepts an http(s) URL whose host is an
// internal address.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"http://10.0.0.1/hook", "http://[::ffff:127.0.0.1]/", "http://127.1/", "http://0x7f.1",
		"https://example.com/x", "mailto:a@b", "http://[fe80::1%25eth0]:80/", "http://a:b@c:1/d?e#f",
		"http://example.com:99999", "http://%31%32%37.0.0.1/", "http:///", "ftp://x",
	} {
		f.Add(s)
	}
	resolve := fakeResolver(map[string][]string{"example.com": {"93.184.216.34"}, "c": {"127.0.0.1"}})
	f.Fuzz(func(t *testing.T, raw string) {
		err := CheckURL(raw, nil, resolve)
		if err != nil {
			if fax.ErrorCode(err) != fax.ECodeInvalid {
				t.Fatalf("CheckURL(%q) error code = %q (%v), want invalid", raw, fax.ErrorCode(err), err)
			}
			return
		}
		u, perr := url.Parse(raw)
		if perr != nil {
			t.Fatalf("CheckURL(%q) accepted a URL url.Parse refuses: %v", raw, perr)
		}
		if u.Scheme == "mailto" {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("CheckURL(%q) accepted scheme %q", raw, u.Scheme)
		}
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && !allowed(a, nil) {
			t.Fatalf("CheckURL(%q) accepted internal address %s", raw, a)
		}
		if u.Hostname() == "c" {
			t.Fatalf("CheckURL(%q) accepted a name resolving to loopback", raw)
		}
	})
}

func TestClientRefusesLoopbackByDefault(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	t.Cleanup(srv.Close)

	resp, err := NewClient(ClientOptions{}).Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s succeeded, want refusal", srv.URL)
	}
	var refused *addressNotAllowedError
	if !errors.As(err, &refused) {
		t.Errorf("error = %v, want an addressNotAllowedError in the chain", err)
	}
	if got := describeError(err); got != "refused: address not allowed" {
		t.Errorf("describeError = %q, want %q", got, "refused: address not allowed")
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}

	resp, err = NewClient(ClientOptions{AllowNetworks: loopback()}).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with loopback allowed: %v", err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) {
		followed.Store(true)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	resp, err := NewClient(ClientOptions{AllowNetworks: loopback()}).Post(srv.URL+"/hook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status = %d, want %d", resp.StatusCode, http.StatusTemporaryRedirect)
	}
	if followed.Load() {
		t.Error("the redirect was followed")
	}
}
