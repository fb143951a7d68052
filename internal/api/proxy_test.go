package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
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

type fakePinger struct{ err error }

func (f fakePinger) Ping(context.Context) error { return f.err }

func TestUnavailableIfDown(t *testing.T) {
	internal := errors.New("sqlite: commit: disk I/O error")
	if got := fax.ErrorCode(UnavailableIfDown(context.Background(), fakePinger{errors.New("down")}, internal)); got != fax.ECodeUnavailable {
		t.Errorf("database down: got %s, want unavailable", got)
	}
	if got := fax.ErrorCode(UnavailableIfDown(context.Background(), fakePinger{}, internal)); got != fax.ECodeInternal {
		t.Errorf("database up: got %s, want internal", got)
	}
	bad := fax.Errorf(fax.ECodeInvalid, "x")
	if got := UnavailableIfDown(context.Background(), fakePinger{errors.New("down")}, bad); got != bad {
		t.Errorf("user errors pass through: got %v", got)
	}
}
