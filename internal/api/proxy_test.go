package api

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestWithTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	var got string
	h := WithTrustedProxies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }), trusted)
	tests := []struct{ remote, xff, want string }{
		{"10.0.0.5:4000", "203.0.113.9", "203.0.113.9:0"},
		{"10.0.0.5:4000", "198.51.100.1, 203.0.113.9, 10.0.0.7", "203.0.113.9:0"},
		{"203.0.113.50:4000", "127.0.0.1", "203.0.113.50:4000"}, // untrusted peer: header ignored
		{"10.0.0.5:4000", "", "10.0.0.5:4000"},
		{"10.0.0.5:4000", "garbage", "10.0.0.5:4000"},
		{"10.0.0.5:4000", "10.0.0.9", "10.0.0.9:0"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != tt.want {
			t.Errorf("remote %s, XFF %q: got %s, want %s", tt.remote, tt.xff, got, tt.want)
		}
	}
}
