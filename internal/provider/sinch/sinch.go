package sinch

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/provider/carrier"
)

// Name is the carrier's name faxgate stores on faxes and updates.
const Name = "sinch"

// DefaultBaseURL is Sinch's global Fax API host.
const DefaultBaseURL = "https://fax.api.sinch.com"

// SignatureHeader carries the hex HMAC-SHA256 of the raw body.
const SignatureHeader = "X-Sinch-Signature"

// DefaultAuthURL is Sinch's OAuth2 token endpoint.
const DefaultAuthURL = "https://auth.sinch.com/oauth2/token"

// DefaultTimeout bounds one API call of the default HTTP client, the upload
// of the document included.
const DefaultTimeout = 60 * time.Second

// Callback content types Sinch can post FAX_COMPLETED in.
const (
	CallbackMultipart = "multipart/form-data"
	CallbackJSON      = "application/json"
)

// Config is the Sinch settings, read from the environment by the config
// package. Lists hold several comma-separated values, current first, so that
// a secret can be rotated without dropping webhooks.
type Config struct {
	// ProjectID is SINCH_PROJECT_ID. Default "".
	ProjectID string
	// KeyID is SINCH_KEY_ID, the access key id for API calls. Default "".
	KeyID string
	// KeySecret is SINCH_KEY_SECRET, the access key secret. Default "".
	KeySecret string
	// BaseURL is SINCH_BASE_URL (a regional host such as
	// https://use1.fax.api.sinch.com also works). Default DefaultBaseURL.
	BaseURL string
	// InboundBasicUser is SINCH_INBOUND_BASIC_USER: when set, webhooks must
	// carry Basic credentials with this user and one of InboundBasicPass.
	// Default "" (no Basic auth).
	InboundBasicUser string
	// InboundBasicPass is SINCH_INBOUND_BASIC_PASS, the accepted passwords.
	// Default none; required with InboundBasicUser.
	InboundBasicPass []string
	// HMACSecrets is SINCH_INBOUND_HMAC_SECRET: when set, webhooks must carry
	// X-Sinch-Signature keyed with one of them. Default none.
	HMACSecrets []string
	// Insecure is FAXGATE_INSECURE_WEBHOOKS: accept unverified webhooks when
	// neither Basic auth nor an HMAC secret is configured. Default false.
	// Configured checks are always enforced.
	Insecure bool
	// PublicURL is FAXGATE_PUBLIC_URL, the absolute http(s) URL Sinch calls
	// back, such as "https://fax.example.com". Default "" (a trailing slash
	// is dropped); sending needs it.
	PublicURL string
	// CallbackContentType is SINCH_CALLBACK_CONTENT_TYPE, how Sinch posts a
	// sent fax's FAX_COMPLETED: CallbackMultipart or CallbackJSON. Default
	// CallbackMultipart.
	CallbackContentType string
	// OAuth is SINCH_OAUTH: authenticate API calls with OAuth2 bearer tokens
	// fetched from AuthURL with the access key, instead of Basic auth with
	// the access key itself. Default false.
	OAuth bool
	// AuthURL is SINCH_AUTH_URL, the OAuth2 token endpoint. Default
	// DefaultAuthURL.
	AuthURL string
	// CarrierIDFunc returns the Sinch id recorded for a faxgate fax id;
	// VerifyCallback needs it, when HMACSecrets is set, to tie a signed
	// callback to its job. Default nil: such callbacks are refused.
	CarrierIDFunc carrier.CarrierIDFunc
	// FileHosts are the hosts a received fax's file_url may point at
	// (SINCH_FILE_HOSTS): an exact name or "*.example.com". Default none:
	// no file_url is fetched.
	FileHosts []string
	// HTTPClient makes the API and token calls. Default a client with
	// DefaultTimeout. Redirects are never followed, whichever client: a
	// redirected POST would lose its body or the credentials' host.
	HTTPClient *http.Client
	// Now is the clock, read for token expiry and Retry-After dates.
	// Default time.Now.
	Now func() time.Time
}

// Provider is the Sinch carrier. Apart from its cached OAuth token it holds
// only values fixed at construction, and it is safe for concurrent use.
type Provider struct {
	projectID, keyID, keySecret string
	baseURL                     string
	// userSum and passSums are SHA-256 digests, compared in constant time
	// whatever the length of what a caller sends.
	userSum  *[sha256.Size]byte
	passSums [][sha256.Size]byte
	secrets  [][]byte
	insecure bool

	// callbackUser and callbackPass are the Basic credentials put in the
	// callback URL, the only way Sinch authenticates its webhooks.
	callbackUser, callbackPass string
	publicURL                  string
	callbackType               string
	oauth                      bool
	authURL                    string
	client                     *http.Client
	now                        func() time.Time
	token                      *tokenCache
	carrierID                  carrier.CarrierIDFunc
	fileHosts                  []string
}

// New validates cfg and returns a Provider. Errors name the environment
// variable to fix, so that a bad configuration fails at start-up.
func New(cfg Config) (*Provider, error) {
	p := &Provider{
		projectID: cfg.ProjectID,
		keyID:     cfg.KeyID,
		keySecret: cfg.KeySecret,
		baseURL:   cfg.BaseURL,
		secrets:   carrier.Keys(cfg.HMACSecrets),
		insecure:  cfg.Insecure,
		oauth:     cfg.OAuth,
		authURL:   cfg.AuthURL,
		client:    carrier.NoRedirects(cfg.HTTPClient, DefaultTimeout),
		now:       cfg.Now,
		token:     newTokenCache(),
		carrierID: cfg.CarrierIDFunc,
		fileHosts: cfg.FileHosts,
	}
	if p.now == nil {
		p.now = time.Now
	}
	for i, pw := range carrier.Keys(cfg.InboundBasicPass) {
		p.passSums = append(p.passSums, sha256.Sum256(pw))
		if i == 0 {
			p.callbackPass = string(pw)
		}
	}
	user := strings.TrimSpace(cfg.InboundBasicUser)
	switch {
	case user != "" && len(p.passSums) == 0:
		return nil, fmt.Errorf("sinch: SINCH_INBOUND_BASIC_PASS is required with SINCH_INBOUND_BASIC_USER")
	case user == "" && len(p.passSums) > 0:
		return nil, fmt.Errorf("sinch: SINCH_INBOUND_BASIC_USER is required with SINCH_INBOUND_BASIC_PASS")
	case strings.Contains(user, ":"):
		return nil, fmt.Errorf("sinch: SINCH_INBOUND_BASIC_USER must not contain a colon")
	case user != "":
		sum := sha256.Sum256([]byte(user))
		p.userSum = &sum
		p.callbackUser = user
	}
	if p.baseURL == "" {
		p.baseURL = DefaultBaseURL
	}
	if u, err := url.Parse(p.baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("sinch: SINCH_BASE_URL must be an absolute http(s) URL without credentials")
	}
	p.baseURL = strings.TrimRight(p.baseURL, "/")
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("sinch: FAXGATE_PUBLIC_URL must be an absolute http(s) URL without credentials, query or fragment, such as https://fax.example.com")
		}
		p.publicURL = strings.TrimRight(cfg.PublicURL, "/")
	}
	switch cfg.CallbackContentType {
	case "":
		p.callbackType = CallbackMultipart
	case CallbackMultipart, CallbackJSON:
		p.callbackType = cfg.CallbackContentType
	default:
		return nil, fmt.Errorf("sinch: SINCH_CALLBACK_CONTENT_TYPE must be %s or %s", CallbackMultipart, CallbackJSON)
	}
	if p.authURL == "" {
		p.authURL = DefaultAuthURL
	}
	if u, err := url.Parse(p.authURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("sinch: SINCH_AUTH_URL must be an absolute http(s) URL without credentials")
	}
	return p, nil
}

// Name returns "sinch".
func (p *Provider) Name() string { return Name }

// VerifyWebhook checks a webhook and fails closed. Basic credentials are
// required when a user is configured, X-Sinch-Signature (lowercase or upper
// case hex HMAC-SHA256 of the raw body, keyed with any HMAC secret) when a
// secret is, and both when both are. With neither configured every webhook
// is refused, unless Config.Insecure accepts them all. Errors are *fax.Error
// with code unauthorized and never include secrets or expected signatures.
func (p *Provider) VerifyWebhook(r *http.Request, body []byte) error {
	basic, signed := p.userSum != nil, len(p.secrets) > 0
	if !basic && !signed {
		if p.insecure {
			return nil
		}
		return fax.Errorf(fax.ECodeUnauthorized, "sinch webhook verification is not configured")
	}
	if basic {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return fax.Errorf(fax.ECodeUnauthorized, "missing Basic credentials")
		}
		if !p.checkBasic(user, pass) {
			return fax.Errorf(fax.ECodeUnauthorized, "Basic credentials do not match")
		}
	}
	if signed {
		h := strings.TrimSpace(r.Header.Get(SignatureHeader))
		if h == "" {
			return fax.Errorf(fax.ECodeUnauthorized, "missing %s header", SignatureHeader)
		}
		if !p.checkSignature(h, body) {
			return fax.Errorf(fax.ECodeUnauthorized, "%s does not match", SignatureHeader)
		}
	}
	return nil
}

// VerifyCallback is VerifyWebhook for /sinch-callback?job_id=…. The
// X-Sinch-Signature covers the body only, so when it is configured the body
// must also name the fax (fax.id) and that must be the Sinch id recorded for
// job_id (Config.CarrierIDFunc); otherwise a signed body could be replayed
// to any job.
func (p *Provider) VerifyCallback(r *http.Request, body []byte) error {
	if err := p.VerifyWebhook(r, body); err != nil || len(p.secrets) == 0 {
		return err
	}
	id := ""
	if ev, err := readEvent(r, body); err == nil {
		id = ev.Fax.ID.String()
	}
	return carrier.BindJob(r.Context(), p.carrierID, "Sinch", strings.TrimSpace(r.URL.Query().Get("job_id")), id)
}

// PreverifyWebhook does, before the body is read, what VerifyWebhook can
// do without it: it checks the Basic credentials when they are configured
// and that X-Sinch-Signature is present and well formed when a secret is.
// Matching Basic credentials authenticate the webhook; the signature, when
// configured, is still checked over the body by VerifyWebhook.
func (p *Provider) PreverifyWebhook(r *http.Request) (bool, error) {
	basic, signed := p.userSum != nil, len(p.secrets) > 0
	if !basic && !signed {
		if p.insecure {
			return false, nil
		}
		return false, fax.Errorf(fax.ECodeUnauthorized, "sinch webhook verification is not configured")
	}
	if basic {
		user, pass, ok := r.BasicAuth()
		if !ok {
			return false, fax.Errorf(fax.ECodeUnauthorized, "missing Basic credentials")
		}
		if !p.checkBasic(user, pass) {
			return false, fax.Errorf(fax.ECodeUnauthorized, "Basic credentials do not match")
		}
	}
	if signed {
		h := strings.TrimSpace(r.Header.Get(SignatureHeader))
		var sig [sha256.Size]byte
		if h == "" {
			return false, fax.Errorf(fax.ECodeUnauthorized, "missing %s header", SignatureHeader)
		}
		if n, ok := carrier.DecodeHex(sig[:], h); !ok || n != len(sig) {
			return false, fax.Errorf(fax.ECodeUnauthorized, "%s does not match", SignatureHeader)
		}
	}
	return basic, nil
}

func (p *Provider) checkBasic(user, pass string) bool {
	us, ps := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
	userOK := subtle.ConstantTimeCompare(us[:], p.userSum[:])
	passOK := 0
	for i := range p.passSums {
		passOK |= subtle.ConstantTimeCompare(ps[:], p.passSums[i][:])
	}
	return userOK&passOK == 1
}

func (p *Provider) checkSignature(h string, body []byte) bool {
	var sig [sha256.Size]byte
	if n, ok := carrier.DecodeHex(sig[:], h); !ok || n != len(sig) {
		return false
	}
	var sum [sha256.Size]byte
	for _, k := range p.secrets {
		m := hmac.New(sha256.New, k)
		m.Write(body)
		if hmac.Equal(m.Sum(sum[:0]), sig[:]) {
			return true
		}
	}
	return false
}
