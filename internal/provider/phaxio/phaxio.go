package phaxio

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// Name is the carrier's name faxgate stores on faxes and updates.
const Name = "phaxio"

// DefaultBaseURL is Phaxio's API v2.1 endpoint.
const DefaultBaseURL = "https://api.phaxio.com/v2.1"

// Config is the Phaxio settings, read from the environment by the config
// package. Lists hold several comma-separated values, current first, so that
// a secret can be rotated without dropping webhooks.
type Config struct {
	// APIKey is PHAXIO_API_KEY, the Basic auth user for API calls. Default "".
	APIKey string
	// APISecrets is PHAXIO_API_SECRET: the API password (first entry) and the
	// keys of the HMAC-SHA256 raw-body webhook signature. Default none.
	APISecrets []string
	// WebhookTokens is PHAXIO_WEBHOOK_TOKEN: keys of Phaxio's own HMAC-SHA1
	// webhook signature. Default none; when set, PublicURL is required.
	WebhookTokens []string
	// PublicURL is FAXGATE_PUBLIC_URL, the absolute http(s) URL carriers call
	// back, such as "https://fax.example.com". Default "" (a trailing slash is
	// dropped).
	PublicURL string
	// BaseURL is PHAXIO_BASE_URL. Default DefaultBaseURL.
	BaseURL string
	// Insecure is FAXGATE_INSECURE_WEBHOOKS: accept unverified webhooks when
	// neither APISecrets nor WebhookTokens is configured. Default false.
	// Configured secrets are always enforced.
	Insecure bool
	// CarrierIDFunc returns the Phaxio id recorded for a faxgate fax id;
	// VerifyCallback needs it to tie a body-signed callback to its job.
	// Default nil: such callbacks are refused.
	CarrierIDFunc carrier.CarrierIDFunc
	// FileHosts are the hosts a received fax's file_url may point at
	// (PHAXIO_FILE_HOSTS): an exact name or "*.example.com". Default none:
	// no file_url is fetched.
	FileHosts []string
	// HTTPClient makes the API calls (send, find, cancel). Default a client
	// with DefaultTimeout. Redirects are never followed, whichever client:
	// a redirected POST would lose its body or the credentials' host.
	HTTPClient *http.Client
	// Now is the clock, read for Retry-After dates and list windows.
	// Default time.Now.
	Now func() time.Time
}

// DefaultTimeout bounds one API call of the default HTTP client, the upload
// of the document included.
const DefaultTimeout = 60 * time.Second

// Provider is the Phaxio carrier. It holds only values fixed at construction
// and is safe for concurrent use.
type Provider struct {
	apiKey    string
	secrets   [][]byte
	tokens    [][]byte
	publicURL string
	baseURL   string
	insecure  bool
	client    *http.Client
	now       func() time.Time
	carrierID carrier.CarrierIDFunc
	fileHosts []string
}

// New validates cfg and returns a Provider. Errors name the environment
// variable to fix, so that a bad configuration fails at start-up.
func New(cfg Config) (*Provider, error) {
	p := &Provider{
		apiKey:    cfg.APIKey,
		secrets:   carrier.Keys(cfg.APISecrets),
		tokens:    carrier.Keys(cfg.WebhookTokens),
		baseURL:   cfg.BaseURL,
		insecure:  cfg.Insecure,
		client:    carrier.NoRedirects(cfg.HTTPClient, DefaultTimeout),
		carrierID: cfg.CarrierIDFunc,
		fileHosts: cfg.FileHosts,
		now:       cfg.Now,
	}
	if p.now == nil {
		p.now = time.Now
	}
	if cfg.PublicURL != "" {
		u, err := absoluteURL(cfg.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("phaxio: FAXGATE_PUBLIC_URL %w", err)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("phaxio: FAXGATE_PUBLIC_URL must not have a query or fragment")
		}
		p.publicURL = strings.TrimRight(cfg.PublicURL, "/")
	}
	if len(p.tokens) > 0 && p.publicURL == "" {
		return nil, fmt.Errorf("phaxio: PHAXIO_WEBHOOK_TOKEN needs FAXGATE_PUBLIC_URL, the callback URL Phaxio signs")
	}
	if p.baseURL == "" {
		p.baseURL = DefaultBaseURL
	}
	if _, err := absoluteURL(p.baseURL); err != nil {
		return nil, fmt.Errorf("phaxio: PHAXIO_BASE_URL %w", err)
	}
	p.baseURL = strings.TrimRight(p.baseURL, "/")
	return p, nil
}

// Name returns "phaxio".
func (p *Provider) Name() string { return Name }

// keys drops blank entries of a rotation list: a stray comma must not turn
// into an empty HMAC key that anyone can sign with.
func absoluteURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("must be an absolute http(s) URL without credentials, such as https://fax.example.com")
	}
	return u, nil
}
