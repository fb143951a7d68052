package webhook

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"syscall"
	"time"
)

// ClientOptions configures NewClient. The zero value is the production
// setting.
type ClientOptions struct {
	// AllowNetworks lets webhooks reach addresses that are otherwise refused,
	// for a receiver on the operator's own network or loopback in tests.
	// Default: none.
	AllowNetworks []netip.Prefix
	// Timeout bounds one whole attempt: connecting, TLS, sending the request
	// and reading the response. Default: 15s.
	Timeout time.Duration
}

// Client defaults.
const (
	DefaultClientTimeout = 15 * time.Second
	// maxIdleConnsPerHost keeps a connection per worker of a 64-strong pool
	// alive to one busy receiver.
	maxIdleConnsPerHost = 64
	maxIdleConns        = 256
	// maxResponseHeaderBytes is far more than any webhook receiver answers
	// with, and far less than the 1 MiB net/http would otherwise read.
	maxResponseHeaderBytes = 64 << 10
)

// NewClient returns the HTTP client deliveries go through. It refuses, as
// each connection is made, every address a user-supplied URL must not reach
// (see CheckURL) unless it is inside opts.AllowNetworks. Checking the address
// actually dialled rather than the name in the URL is what defeats DNS
// rebinding: a name that resolved to a public address when the endpoint was
// created and to 169.254.169.254 now is still refused.
//
// It does not follow redirects (the 3xx is the attempt's answer, so a
// receiver cannot bounce faxgate to an internal address), ignores proxy
// settings in the environment (a proxy would make the dialled address
// meaningless), and keeps connections alive for a pool of workers.
func NewClient(opts ClientOptions) *http.Client {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultClientTimeout
	}
	allow := slices.Clone(opts.AllowNetworks)
	dialer := &net.Dialer{
		Timeout:   opts.Timeout,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			return controlDial(network, address, allow)
		},
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialCounting(dialer.DialContext),
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// controlDial runs after the socket is made and before it connects, with the
// resolved address: the one place a check cannot be raced.
func controlDial(network, address string, allow []netip.Prefix) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return &addressNotAllowedError{}
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &addressNotAllowedError{}
	}
	if !allowed(ap.Addr(), allow) {
		return &addressNotAllowedError{addr: ap.Addr()}
	}
	return nil
}
