package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// WithTrustedProxies sets each request's RemoteAddr to the client's address
// when the request comes through a trusted reverse proxy: the right-most
// address in X-Forwarded-For that is not itself a trusted proxy. Requests
// from anywhere else keep their connection's address, so a client cannot
// choose its own address by sending the header.
func WithTrustedProxies(next http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		peer, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || !isTrusted(peer) {
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			if !isTrusted(a) || i == 0 {
				r2 := r.Clone(r.Context())
				r2.RemoteAddr = netip.AddrPortFrom(a.Unmap(), 0).String()
				next.ServeHTTP(w, r2)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
