package carrier

import (
	"errors"
	"net"
	"net/url"
	"syscall"
	"testing"
)

// TestLostRequestDown: only a request that never reached the carrier
// (name not found, connection not made) says the carrier is down.
func TestLostRequestDown(t *testing.T) {
	dns := &url.Error{Op: "Post", URL: "https://api.example", Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: "api.example", IsNotFound: true}}}
	refused := &url.Error{Op: "Post", URL: "https://api.example", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	reset := &url.Error{Op: "Post", URL: "https://api.example", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}
	for _, tt := range []struct {
		name    string
		err     error
		arrived bool
		down    bool
	}{
		{"dns", dns, false, true},
		{"refused", refused, false, true},
		{"reset before the last byte", reset, false, false},
		{"canceled", errors.New("context canceled"), false, false},
		{"reset after the request", reset, true, false},
	} {
		if se := LostRequest("phaxio: send", tt.err, tt.arrived); se.Down != tt.down {
			t.Errorf("%s: got Down %v, want %v", tt.name, se.Down, tt.down)
		}
	}
}
