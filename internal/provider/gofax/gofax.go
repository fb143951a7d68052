package gofax

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Name is the carrier's name faxgate uses in config, updates and the API.
const Name = "gofax"

// DefaultBaseURL is GoFax's REST API.
const DefaultBaseURL = "https://restful-api.gofax.com.au"

// Webhook paths as GoFax users configure them (CONTRACT.md).
const (
	CallbackPath    = "/gofax-callback"
	SMSCallbackPath = "/gofax-sms-callback"
	InboundPath     = "/gofax-inbound"
)

// Config is GoFax's settings, loaded from the environment by the config
// package. A rotation list holds the current value first.
type Config struct {
	// Tokens are GoFax API tokens (GOFAX_TOKEN, comma-separated). The first
	// is used for API calls; the others are kept during a rotation.
	// Required; no default.
	Tokens []string
	// WebhookUser is the Basic auth user GoFax sends on account-level
	// webhooks (GOFAX_WEBHOOK_USER). Default empty: Basic auth not checked.
	WebhookUser string
	// WebhookPass is the Basic auth password rotation list
	// (GOFAX_WEBHOOK_PASS). Required when WebhookUser is set, and the reverse.
	WebhookPass []string
	// BaseURL is GoFax's REST API (GOFAX_BASE_URL). Default DefaultBaseURL.
	BaseURL string
	// PublicURL is where carriers reach faxgate (FAXGATE_PUBLIC_URL).
	// Default empty: no per-fax CallbackURL is built.
	PublicURL string
	// Insecure accepts webhooks when no verification is configured
	// (FAXGATE_INSECURE_WEBHOOKS). Default false: refused.
	Insecure bool
	// CallbackTokenFunc returns the per-fax callback token faxgate stored for
	// fax id, or a *fax.Error with code not_found. Default nil: callbacks can
	// only be verified with Basic auth.
	CallbackTokenFunc func(ctx context.Context, faxID string) (string, error)
	// HTTPClient makes Send and SendSMS calls to GoFax's API. Default: a
	// client with a 60 s timeout. Redirects are never followed, whatever
	// the client says: a redirected PUT would lose its body or leak the
	// token to another host.
	HTTPClient *http.Client
}

// DefaultHTTPTimeout bounds one Send or SendSMS call when Config.HTTPClient
// is nil: a fax of a few MB uploads well within it.
const DefaultHTTPTimeout = 60 * time.Second

// Provider verifies and parses GoFax webhooks and talks to GoFax's API. It is
// safe for concurrent use.
type Provider struct {
	tokens      []string
	user        string
	passes      []string
	baseURL     string
	publicURL   *url.URL
	insecure    bool
	callbackTok func(ctx context.Context, faxID string) (string, error)
	client      *http.Client // for Send and SendSMS; never follows redirects
}

// New validates cfg and returns a Provider. Errors name the setting to fix so
// that a misconfigured gateway fails at start-up, not on the first webhook.
func New(cfg Config) (*Provider, error) {
	p := &Provider{
		user:        cfg.WebhookUser,
		insecure:    cfg.Insecure,
		callbackTok: cfg.CallbackTokenFunc,
	}
	p.client = &http.Client{Timeout: DefaultHTTPTimeout}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		p.client = &c
	}
	p.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if len(cfg.Tokens) == 0 {
		return nil, fmt.Errorf("gofax: GOFAX_TOKEN is required")
	}
	for _, t := range cfg.Tokens {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("gofax: GOFAX_TOKEN holds an empty value")
		}
		if strings.TrimSpace(t) != t {
			return nil, fmt.Errorf("gofax: GOFAX_TOKEN holds a value with surrounding spaces")
		}
	}
	p.tokens = append([]string(nil), cfg.Tokens...)

	for _, pw := range cfg.WebhookPass {
		if pw == "" {
			return nil, fmt.Errorf("gofax: GOFAX_WEBHOOK_PASS holds an empty value")
		}
	}
	switch {
	case cfg.WebhookUser != "" && len(cfg.WebhookPass) == 0:
		return nil, fmt.Errorf("gofax: GOFAX_WEBHOOK_USER is set but GOFAX_WEBHOOK_PASS is not")
	case cfg.WebhookUser == "" && len(cfg.WebhookPass) > 0:
		return nil, fmt.Errorf("gofax: GOFAX_WEBHOOK_PASS is set but GOFAX_WEBHOOK_USER is not")
	case strings.Contains(cfg.WebhookUser, ":"):
		return nil, fmt.Errorf("gofax: GOFAX_WEBHOOK_USER cannot contain ':' (Basic auth separator)")
	}
	p.passes = append([]string(nil), cfg.WebhookPass...)

	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("gofax: GOFAX_BASE_URL must be an http(s) URL without query, such as %s", DefaultBaseURL)
	}
	p.baseURL = strings.TrimRight(base, "/")

	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
			return nil, fmt.Errorf("gofax: FAXGATE_PUBLIC_URL must be an absolute http(s) URL, such as https://fax.example.com")
		}
		if u.User != nil {
			return nil, fmt.Errorf("gofax: FAXGATE_PUBLIC_URL must not hold credentials")
		}
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		p.publicURL = u
	}
	return p, nil
}

// Name returns the carrier's name.
func (p *Provider) Name() string { return Name }

// basicConfigured reports whether account-level webhooks carry Basic auth.
func (p *Provider) basicConfigured() bool { return p.user != "" && len(p.passes) > 0 }

// CallbackURL builds the per-fax CallbackURL faxgate passes to SendFax, so that
// GoFax's callback names the fax (job_id) and proves itself (token) although
// GoFax cannot send Basic auth on it. It returns "" when FAXGATE_PUBLIC_URL is
// not set: the account-level webhook is then the only way back.
func (p *Provider) CallbackURL(faxID, token string) string {
	if p.publicURL == nil {
		return ""
	}
	u := *p.publicURL
	u.Path += CallbackPath
	q := u.Query()
	q.Set("job_id", faxID)
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return u.String()
}
