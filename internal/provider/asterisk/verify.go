package asterisk

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/netip"

	"github.com/faxgate/faxgate/internal/fax"
)

// SecretHeader carries ASTERISK_INBOUND_SECRET on the dialplan's posts.
const SecretHeader = "X-Internal-Secret"

// VerifyInbound checks a post from the dialplan. When ASTERISK_INBOUND_ALLOW
// is set the connection's own address (RemoteAddr, never X-Forwarded-For,
// which the sender writes) must be inside one of the networks; and the
// X-Internal-Secret header must equal one of the configured secrets, compared
// in constant time against every one. With no secret configured posts are
// refused unless Insecure, which still leaves the network check in force.
// Failures are *fax.Error with code unauthorized and never echo a secret.
func (p *Provider) VerifyInbound(r *http.Request, body []byte) error {
	if len(p.allow) > 0 && !p.allowed(r.RemoteAddr) {
		return fax.Errorf(fax.ECodeUnauthorized, "Asterisk inbound post from a source outside ASTERISK_INBOUND_ALLOW")
	}
	if len(p.secrets) == 0 {
		if p.insecure {
			return nil
		}
		return fax.Errorf(fax.ECodeUnauthorized, "Asterisk inbound verification is not configured: set ASTERISK_INBOUND_SECRET (or FAXGATE_INSECURE_WEBHOOKS=1)")
	}
	vals := r.Header.Values(SecretHeader)
	switch {
	case len(vals) == 0:
		return fax.Errorf(fax.ECodeUnauthorized, "the %s header is missing", SecretHeader)
	case len(vals) > 1:
		return fax.Errorf(fax.ECodeUnauthorized, "the %s header is given more than once", SecretHeader)
	}
	got := sha256.Sum256([]byte(vals[0]))
	ok := 0
	for _, s := range p.secrets {
		want := sha256.Sum256([]byte(s))
		ok |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	if ok != 1 {
		return fax.Errorf(fax.ECodeUnauthorized, "the %s header does not match", SecretHeader)
	}
	return nil
}

// allowed reports whether remote, an http.Request's RemoteAddr ("ip:port",
// or a bare ip from some servers), is inside an allowed network.
func (p *Provider) allowed(remote string) bool {
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(remote); err == nil {
		addr = a
	} else {
		return false
	}
	addr = addr.Unmap().WithZone("")
	for _, pr := range p.allow {
		if pr.Contains(addr) {
			return true
		}
	}
	return false
}

// PreverifyInbound is VerifyInbound before the body is read, which it
// never needs: a post with the right secret is authenticated, one in
// insecure mode without a secret is accepted but not authenticated.
func (p *Provider) PreverifyInbound(r *http.Request) (bool, error) {
	if err := p.VerifyInbound(r, nil); err != nil {
		return false, err
	}
	return len(p.secrets) > 0, nil
}
