package asterisk

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

// Name is the carrier's name faxgate uses in config, updates and the API.
const Name = "asterisk"

// InboundPath is where the dialplan posts received faxes (CONTRACT.md).
const InboundPath = "/_internal/asterisk/inbound"

// DefaultAMIPort is Asterisk's manager interface port.
const DefaultAMIPort = "5038"

// Config is Asterisk's settings, loaded from the environment by the config
// package. A rotation list holds the current value first.
type Config struct {
	// InboundSecrets are the values the dialplan may send in
	// X-Internal-Secret (ASTERISK_INBOUND_SECRET, comma-separated). Default
	// empty: inbound posts are refused unless Insecure.
	InboundSecrets []string
	// InboundAllow limits inbound posts to these source networks
	// (ASTERISK_INBOUND_ALLOW, CIDRs). Default empty: any source.
	InboundAllow []netip.Prefix
	// SpoolDir is the directory shared with Asterisk where faxes are written
	// and read (ASTERISK_SPOOL_DIR). Required: an existing directory.
	SpoolDir string
	// Insecure accepts inbound posts when no secret is configured
	// (FAXGATE_INSECURE_WEBHOOKS). Default false.
	Insecure bool

	// AMIHost is the Asterisk manager host for sending (ASTERISK_AMI_HOST).
	// Default empty: sending not configured.
	AMIHost string
	// AMIPort is the manager port (ASTERISK_AMI_PORT). Default "5038".
	AMIPort string
	// AMIUser is the manager user (ASTERISK_AMI_USER). Default empty.
	AMIUser string
	// AMISecret is the manager password (ASTERISK_AMI_SECRET). Required when
	// AMIUser is set.
	AMISecret string

	// Sending. Every setting below has a default; sending needs AMIHost,
	// AMIUser, AMISecret, Apply and Ghostscript (see SendProblem).

	// Channel is the Originate dial string; {number} stands for the
	// destination's E.164 digits without "+", {e164} for them with it
	// (ASTERISK_CHANNEL). Default DefaultChannel.
	Channel string
	// Context, Exten and Priority are where the answered call runs the
	// dialplan that calls SendFAX (ASTERISK_CONTEXT, ASTERISK_EXTEN).
	// Defaults "faxgate-out", "s" and 1, as deploy/asterisk/extensions.conf
	// has them.
	Context  string
	Exten    string
	Priority int
	// DialTimeout is how long the call may ring before it counts as not
	// answered (Originate's Timeout). Default 60 s.
	DialTimeout time.Duration
	// FaxTimeout is how long after Originate was queued a fax may go
	// without a final result before it fails with code timeout
	// (ASTERISK_FAX_TIMEOUT). Default 10 min.
	FaxTimeout time.Duration
	// GhostscriptPath is the gs binary that renders PDFs into fax TIFFs
	// (ASTERISK_GHOSTSCRIPT). Default "gs", looked up in PATH.
	GhostscriptPath string
	// ConvertTimeout bounds one Ghostscript run. Default 2 min.
	ConvertTimeout time.Duration
	// PaperSize is the page Ghostscript fits documents to: letter, a4 or
	// legal (ASTERISK_PAPER_SIZE). Default "letter".
	PaperSize string
	// Apply records what Asterisk reports about a sent fax (the gateway's
	// ingest path, as carrier webhooks use). Required for sending.
	Apply func(ctx context.Context, u *fax.Update) (fax.ApplyResult, error)
	// Logger receives connection and result logs. Default: discarded.
	Logger *slog.Logger
	// ReconnectMin and ReconnectMax bound the jittered, doubling wait
	// before redialling AMI. Defaults 1 s and 30 s.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// PingInterval is how often an idle AMI session is checked with Ping.
	// Default 30 s.
	PingInterval time.Duration
	// ActionTimeout bounds the AMI login and each action's response.
	// Default 10 s.
	ActionTimeout time.Duration
	// ConnectWait is how long Send waits for AMI to be connected before
	// giving the fax back to be retried. Default 5 s.
	ConnectWait time.Duration
}

// Sending defaults (Config).
const (
	DefaultChannel        = "PJSIP/{number}@faxtrunk"
	DefaultContext        = "faxgate-out"
	DefaultExten          = "s"
	DefaultDialTimeout    = 60 * time.Second
	DefaultFaxTimeout     = 10 * time.Minute
	DefaultConvertTimeout = 2 * time.Minute
)

// Provider verifies and parses the dialplan's inbound posts and sends faxes
// over AMI (Send, after Start; Close ends the AMI session). It is safe for
// concurrent use.
type Provider struct {
	secrets  []string
	allow    []netip.Prefix
	spoolDir string // absolute and clean, as configured (may contain symlinks)
	insecure bool

	amiHost, amiPort, amiUser, amiSecret string

	out       sendConfig
	startOnce sync.Once
	ami       *amiClient // nil until Start
	tracker   *tracker
}

// New validates cfg and returns a Provider. Errors name the setting to fix so
// that a misconfigured gateway fails at start-up.
func New(cfg Config) (*Provider, error) {
	p := &Provider{
		insecure:  cfg.Insecure,
		amiHost:   cfg.AMIHost,
		amiPort:   cfg.AMIPort,
		amiUser:   cfg.AMIUser,
		amiSecret: cfg.AMISecret,
	}
	for _, s := range cfg.InboundSecrets {
		if s == "" {
			return nil, fmt.Errorf("asterisk: ASTERISK_INBOUND_SECRET holds an empty value")
		}
		if strings.TrimSpace(s) != s {
			return nil, fmt.Errorf("asterisk: ASTERISK_INBOUND_SECRET holds a value with surrounding spaces, which HTTP headers cannot carry")
		}
	}
	p.secrets = append([]string(nil), cfg.InboundSecrets...)
	for _, pr := range cfg.InboundAllow {
		if !pr.IsValid() {
			return nil, fmt.Errorf("asterisk: ASTERISK_INBOUND_ALLOW holds an invalid network")
		}
		// A connection's address is unmapped before matching, so an
		// IPv4-mapped network is kept as the IPv4 network it means.
		if pr.Addr().Is4In6() && pr.Bits() >= 96 {
			pr = netip.PrefixFrom(pr.Addr().Unmap(), pr.Bits()-96)
		}
		p.allow = append(p.allow, pr.Masked())
	}

	if cfg.SpoolDir == "" {
		return nil, fmt.Errorf("asterisk: ASTERISK_SPOOL_DIR is required: the directory shared with Asterisk for fax TIFFs")
	}
	dir, err := filepath.Abs(cfg.SpoolDir)
	if err != nil {
		return nil, fmt.Errorf("asterisk: ASTERISK_SPOOL_DIR: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("asterisk: ASTERISK_SPOOL_DIR: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("asterisk: ASTERISK_SPOOL_DIR %s is not a directory", dir)
	}
	p.spoolDir = filepath.Clean(dir)

	if p.amiPort == "" {
		p.amiPort = DefaultAMIPort
	}
	if n, err := strconv.Atoi(p.amiPort); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("asterisk: ASTERISK_AMI_PORT must be a port number from 1 to 65535")
	}
	if strings.ContainsAny(p.amiHost, "/ \t") || strings.Contains(p.amiHost, "://") {
		return nil, fmt.Errorf("asterisk: ASTERISK_AMI_HOST must be a host name or IP address, without scheme or path")
	}
	switch {
	case p.amiUser != "" && p.amiSecret == "":
		return nil, fmt.Errorf("asterisk: ASTERISK_AMI_USER is set but ASTERISK_AMI_SECRET is not")
	case p.amiUser == "" && p.amiSecret != "":
		return nil, fmt.Errorf("asterisk: ASTERISK_AMI_SECRET is set but ASTERISK_AMI_USER is not")
	}
	if err := p.configureSending(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// Name returns the carrier's name.
func (p *Provider) Name() string { return Name }

// SpoolDir returns the spool directory as configured, made absolute.
func (p *Provider) SpoolDir() string { return p.spoolDir }
