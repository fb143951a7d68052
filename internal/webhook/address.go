package webhook

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// maxURLLength bounds an endpoint URL; browsers and proxies cope with about
// this much, and a longer one is almost certainly a mistake.
const maxURLLength = 2048

// resolveTimeout bounds CheckURL's name resolution.
const resolveTimeout = 5 * time.Second

// addressNotAllowedError is a connection faxgate refused to make: the address
// is one a user's webhook must not reach (the machine itself, its private
// networks, cloud metadata) and is not in the operator's AllowNetworks.
type addressNotAllowedError struct {
	addr netip.Addr
}

func (e *addressNotAllowedError) Error() string {
	if !e.addr.IsValid() {
		return "webhook: refused to connect: address not allowed"
	}
	return "webhook: refused to connect to " + e.addr.String() + ": address not allowed"
}

// allowed reports whether a webhook may connect to a: it is inside one of
// allow, or it is none of the addresses that reach the host itself or its
// networks rather than the internet.
func allowed(a netip.Addr, allow []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	a = a.WithZone("")
	for _, p := range allow {
		if p.Contains(a) || p.Contains(a.Unmap()) {
			return true
		}
	}
	return !internal(a.Unmap())
}

// internal reports whether a is loopback, private, link-local (which holds the
// cloud metadata address 169.254.169.254), unspecified, multicast, shared
// (CGNAT) or otherwise reserved, including IPv6 forms that embed such an IPv4
// address. IPv4-mapped addresses must be unmapped first.
func internal(a netip.Addr) bool {
	if a.Is4() {
		return internal4(a.As4())
	}
	if a.IsLoopback() || a.IsUnspecified() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsMulticast() {
		return true
	}
	b := a.As16()
	switch {
	case b[0] == 0xfe && b[1]&0xc0 == 0xc0: // fec0::/10, deprecated site-local
		return true
	case isZero(b[:12]): // ::/96, deprecated IPv4-compatible (holds :: and ::1)
		return true
	case b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b: // NAT64
		if isZero(b[4:12]) { // 64:ff9b::/96 reaches the embedded IPv4 address
			return internal4([4]byte(b[12:16]))
		}
		return b[4] == 0x00 && b[5] == 0x01 // 64:ff9b:1::/48, local-use NAT64
	case b[0] == 0x20 && b[1] == 0x02: // 2002::/16, 6to4 embeds an IPv4 address
		return internal4([4]byte(b[2:6]))
	case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00: // 2001::/32, Teredo
		return true
	}
	return false
}

// internal4 is internal for IPv4.
func internal4(b [4]byte) bool {
	switch {
	case b[0] == 0: // 0.0.0.0/8 "this network", 0.0.0.0 reaches the host itself
		return true
	case b[0] == 10: // 10.0.0.0/8
		return true
	case b[0] == 100 && b[1]&0xc0 == 64: // 100.64.0.0/10, shared address space (CGNAT)
		return true
	case b[0] == 127: // 127.0.0.0/8, loopback
		return true
	case b[0] == 169 && b[1] == 254: // 169.254.0.0/16, link-local and cloud metadata
		return true
	case b[0] == 172 && b[1]&0xf0 == 16: // 172.16.0.0/12
		return true
	case b[0] == 192 && b[1] == 0 && b[2] == 0: // 192.0.0.0/24, IETF protocol assignments
		return true
	case b[0] == 192 && b[1] == 168: // 192.168.0.0/16
		return true
	case b[0] == 198 && b[1]&0xfe == 18: // 198.18.0.0/15, benchmarking
		return true
	case b[0] >= 224: // 224/4 multicast, 240/4 reserved, 255.255.255.255 broadcast
		return true
	}
	return false
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// CheckURL validates an endpoint URL when it is created or changed, so users
// learn at once that faxgate will not deliver there. http and https URLs need
// a host; a literal IP address is checked directly, a name is resolved with
// resolver (net.DefaultResolver when nil) and refused if any of its addresses
// is internal and outside allow. mailto: URLs are accepted as they are.
// Anything else is refused. The error is an *fax.Error with code invalid and
// a message that can be shown to the user; it never repeats the URL, which may
// carry credentials.
//
// Resolution here is advice, not protection: the name may resolve elsewhere
// later. The client from NewClient checks every address again as it connects.
func CheckURL(raw string, allow []netip.Prefix, resolver func(ctx context.Context, host string) ([]netip.Addr, error)) error {
	if raw == "" {
		return fax.Errorf(fax.ECodeInvalid, "url is required")
	}
	if len(raw) > maxURLLength {
		return fax.Errorf(fax.ECodeInvalid, "url is longer than %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fax.Errorf(fax.ECodeInvalid, "url is not a valid URL")
	}
	switch u.Scheme {
	case "mailto":
		return nil
	case "http", "https":
	case "":
		return fax.Errorf(fax.ECodeInvalid, "url must be absolute, starting with https://, http:// or mailto:")
	default:
		return fax.Errorf(fax.ECodeInvalid, "url scheme %q is not supported: use https, http or mailto", u.Scheme)
	}
	if u.Opaque != "" {
		return fax.Errorf(fax.ECodeInvalid, "url must be of the form %s://host/path", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return fax.Errorf(fax.ECodeInvalid, "url has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fax.Errorf(fax.ECodeInvalid, "url port must be between 1 and 65535")
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !allowed(a, allow) {
			return fax.Errorf(fax.ECodeInvalid, "url host %s is a loopback, private, link-local or reserved address, which webhooks may not reach", a.WithZone(""))
		}
		return nil
	}
	if numericHost(host) {
		// 127.1, 0x7f.1, 2130706433, 010.0.0.1: resolvers read these as IPv4
		// addresses in ways that differ between libraries.
		return fax.Errorf(fax.ECodeInvalid, "url host looks like an IPv4 address but is not written as four decimal numbers")
	}
	if resolver == nil {
		resolver = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	addrs, err := resolver(ctx, host)
	if err != nil || len(addrs) == 0 {
		return fax.Errorf(fax.ECodeInvalid, "url host %q could not be resolved", host)
	}
	for _, a := range addrs {
		if !allowed(a, allow) {
			return fax.Errorf(fax.ECodeInvalid, "url host %q resolves to %s, a loopback, private, link-local or reserved address, which webhooks may not reach", host, a.WithZone(""))
		}
	}
	return nil
}

// numericHost reports whether host's last label is a number (decimal, or hex
// after 0x), which makes it an IPv4 address to the WHATWG URL parser and to
// inet_aton however many labels there are.
func numericHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		for _, c := range last[2:] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
		return true
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
