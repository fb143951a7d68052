package asterisk

import (
	"context"
	"fmt"
	"net"
)

// Check proves ASTERISK_AMI_USER and ASTERISK_AMI_SECRET by logging in to
// AMI once (banner, Login, Logoff) on a connection of its own, apart from
// the gateway's session. A receiving-only setup (no ASTERISK_AMI_HOST) has
// no credentials Asterisk could check: it is reported as such, not as a
// failure, since its inbound secret is checked by faxgate itself.
func (p *Provider) Check(ctx context.Context) (string, error) {
	if p.amiHost == "" {
		return "receiving only: no ASTERISK_AMI_HOST to log in to", nil
	}
	if p.amiUser == "" || p.amiSecret == "" {
		return "", fmt.Errorf("asterisk: cannot check the AMI login: set ASTERISK_AMI_USER and ASTERISK_AMI_SECRET")
	}
	c := newAMIClient(amiOptions{
		addr: net.JoinHostPort(p.amiHost, p.amiPort), user: p.amiUser, secret: p.amiSecret,
		actionTimeout: p.out.actionTimeout, log: p.out.log,
	})
	defer c.cancel()
	stop := context.AfterFunc(ctx, c.cancel)
	defer stop()
	s, err := c.connect()
	if err != nil {
		return "", err
	}
	defer s.conn.Close()
	if b, err := encodeMessage([]Field{{"Action", "Logoff"}, {"ActionID", c.nextID("logoff")}}); err == nil {
		s.write(b, p.out.actionTimeout)
	}
	return fmt.Sprintf("AMI login accepted as %q", p.amiUser), nil
}
