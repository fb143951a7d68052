package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config configures a Sender. It is read from the environment by the config
// package; a field's zero value is its default.
type Config struct {
	// URL is FAXGATE_SMTP_URL, the relay: smtp://user:pass@host:port (plain
	// SMTP upgraded with STARTTLS when the relay offers it; add
	// ?starttls=required to refuse relays that do not) or
	// smtps://user:pass@host:port (TLS from the first byte). Credentials are
	// optional and percent-encoded. Default port: 587 for smtp, 465 for
	// smtps. Required.
	URL string
	// From is the sender address. Default: faxgate@<hostname>.
	From string
	// Timeout bounds one Send: connecting, TLS, the SMTP conversation and the
	// message. Default: 30s.
	Timeout time.Duration
	// TLSConfig is used for STARTTLS and smtps; ServerName is set to the
	// relay's host when empty. Default: the system roots. Tests set RootCAs.
	TLSConfig *tls.Config
	// AllowNetworks are networks, besides loopback, where the relay may be
	// sent credentials over a connection without TLS: a relay on the
	// operator's own network (FAXGATE_WEBHOOK_ALLOW_NETWORKS). The relay is
	// the operator's choice, not a user's, so nothing else about the
	// connection is restricted. Default: none.
	AllowNetworks []netip.Prefix
}

// Defaults.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultSMTPPort  = "587"
	DefaultSMTPSPort = "465"
)

// STARTTLS policies for smtp:// relays, from the URL's starttls parameter.
const (
	startTLSOpportunistic = "opportunistic" // the default: upgrade when offered
	startTLSRequired      = "required"      // refuse relays that do not offer it
)

// Sender sends emails through one relay. It is safe for concurrent use: each
// Send has its own connection.
type Sender struct {
	addr      string // host:port
	host      string
	implicit  bool // smtps
	startTLS  string
	user      string
	pass      string
	hasAuth   bool
	from      string // bare address
	fromHdr   string // formatted From header
	helo      string
	timeout   time.Duration
	tlsConfig *tls.Config
	allow     []netip.Prefix
}

// New validates cfg and returns a Sender. It does not connect: a relay that
// is down at start-up is a delivery failure to retry, not a reason to refuse
// to start. Errors name FAXGATE_SMTP_URL and never repeat its password.
func New(cfg Config) (*Sender, error) {
	if cfg.URL == "" {
		return nil, errors.New("email: FAXGATE_SMTP_URL is not set")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// url.Parse's error repeats the URL, password included.
		return nil, errors.New("email: FAXGATE_SMTP_URL is not a valid URL")
	}
	s := &Sender{startTLS: startTLSOpportunistic}
	port := ""
	switch u.Scheme {
	case "smtp":
		port = DefaultSMTPPort
	case "smtps":
		port = DefaultSMTPSPort
		s.implicit = true
	default:
		return nil, errors.New("email: FAXGATE_SMTP_URL must start with smtp:// or smtps://")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, errors.New("email: FAXGATE_SMTP_URL has no host: use smtp://user:pass@host:port")
	}
	if u.Path != "" && u.Path != "/" || u.Fragment != "" {
		return nil, errors.New("email: FAXGATE_SMTP_URL must not have a path or fragment")
	}
	s.host = u.Hostname()
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("email: FAXGATE_SMTP_URL port must be between 1 and 65535")
		}
		port = p
	}
	s.addr = net.JoinHostPort(s.host, port)
	for k, vs := range u.Query() {
		switch {
		case k != "starttls":
			return nil, errors.New("email: FAXGATE_SMTP_URL has an unknown parameter: only starttls is known")
		case s.implicit:
			return nil, errors.New("email: FAXGATE_SMTP_URL parameter starttls applies to smtp:// only; smtps:// is TLS from the start")
		case len(vs) != 1 || (vs[0] != startTLSRequired && vs[0] != startTLSOpportunistic):
			return nil, fmt.Errorf("email: FAXGATE_SMTP_URL parameter starttls must be %q or %q", startTLSRequired, startTLSOpportunistic)
		}
		s.startTLS = vs[0]
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" || s.pass == "" {
			return nil, errors.New("email: FAXGATE_SMTP_URL credentials need both a user and a password (smtp://user:pass@host)")
		}
		s.hasAuth = true
	}

	hostname, _ := os.Hostname()
	s.helo = heloName(hostname)
	from := cfg.From
	if from == "" {
		from = "faxgate@" + s.helo
	}
	addr, err := mail.ParseAddress(from)
	if err != nil || strings.ContainsAny(addr.Address, "\r\n") {
		return nil, errors.New("email: the sender address (From) is not a valid email address")
	}
	s.from = addr.Address
	s.fromHdr = addr.String()

	s.timeout = cfg.Timeout
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if cfg.TLSConfig != nil {
		s.tlsConfig = cfg.TLSConfig.Clone()
	} else {
		s.tlsConfig = &tls.Config{}
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = s.host
	}
	if s.tlsConfig.MinVersion == 0 {
		s.tlsConfig.MinVersion = tls.VersionTLS12
	}
	s.allow = slices.Clone(cfg.AllowNetworks)
	return s, nil
}

// heloName is the name faxgate gives in EHLO and in the default sender
// address: the machine's host name when it is a plausible domain name, else
// "localhost".
func heloName(hostname string) string {
	if hostname == "" || len(hostname) > 253 {
		return "localhost"
	}
	for _, c := range hostname {
		if !(c == '.' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "localhost"
		}
	}
	return hostname
}

// From returns the sender address the Sender uses.
func (s *Sender) From() string { return s.from }
