// Package config loads faxgate's one Config value from the environment
// (FAXGATE_* plus the carrier setting names carriers' users know), an
// optional KEY=VALUE file, and *_FILE variants of every secret. It validates
// every setting, naming the setting in each problem, and prints the effective
// settings with secrets redacted.
//
// It imports only the standard library.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is every setting faxgate reads. Each field's comment gives its
// setting name and default.
type Config struct {
	Addr        string // FAXGATE_ADDR, default ":8080"
	DataDir     string // FAXGATE_DATA_DIR, default "./faxgate-data"
	DatabaseURL string // FAXGATE_DATABASE_URL, default "" (SQLite file in DataDir)
	// DatabaseListenURL is FAXGATE_DATABASE_LISTEN_URL, default "" (the
	// database URL): PostgreSQL reached directly, not through a
	// transaction-mode pooler, for the sessions that keep state (LISTEN,
	// leader locks, migrations).
	DatabaseListenURL string
	PublicURL         string        // FAXGATE_PUBLIC_URL, default "http://localhost:8080"
	Provider          string        // FAXGATE_PROVIDER, default "simulator"
	AdminKeys         []string      // FAXGATE_ADMIN_KEY, default none
	LogFormat         string        // FAXGATE_LOG_FORMAT, "text" (default) or "json"
	LogLevel          string        // FAXGATE_LOG_LEVEL, default "info"
	MaxDocument       int64         // FAXGATE_MAX_DOCUMENT_BYTES, default 20 MiB
	ShutdownTimeout   time.Duration // FAXGATE_SHUTDOWN_TIMEOUT, default 30s

	WebhookAllowNetworks []netip.Prefix  // FAXGATE_WEBHOOK_ALLOW_NETWORKS, default none
	WebhookWorkers       int             // FAXGATE_WEBHOOK_WORKERS, default 16
	WebhookPerHost       int             // FAXGATE_WEBHOOK_PER_HOST, default 4 attempts at once per host:port (and to the SMTP relay)
	WebhookTimeout       time.Duration   // FAXGATE_WEBHOOK_TIMEOUT, default 15s
	WebhookRetrySchedule []time.Duration // FAXGATE_WEBHOOK_RETRY_SCHEDULE, default carriers' 16 retries
	WebhookDisableAfter  time.Duration   // FAXGATE_WEBHOOK_DISABLE_AFTER, default 120h (5 days); 0 never
	CallbackSecret       string          // FAXGATE_CALLBACK_SECRET, default generated once and stored
	SMTPURL              string          // FAXGATE_SMTP_URL, default none
	SMTPFrom             string          // FAXGATE_SMTP_FROM, default faxgate@<hostname>
	EmailAttachPDF       bool            // FAXGATE_EMAIL_ATTACH_PDF, default true
	InsecureWebhooks     bool            // FAXGATE_INSECURE_WEBHOOKS, default false

	// Carrier webhooks in: what a sender not yet verified can make the
	// gateway hold, and the rejection audit rows.
	CarrierMaxBody           int64         // FAXGATE_CARRIER_MAX_BODY_BYTES, default 20 MiB (routes carrying a document)
	CarrierMaxNotice         int64         // FAXGATE_CARRIER_MAX_NOTICE_BYTES, default 256 KiB (routes carrying a status only)
	CarrierUnverifiedReads   int           // FAXGATE_CARRIER_UNVERIFIED_READS, default 8
	CarrierUnverifiedPerIP   int           // FAXGATE_CARRIER_UNVERIFIED_READS_PER_SOURCE, default 2
	CarrierUnverifiedMemory  int64         // FAXGATE_CARRIER_UNVERIFIED_MEMORY_BYTES, default 20 MiB
	CarrierBodyTimeout       time.Duration // FAXGATE_CARRIER_BODY_TIMEOUT, default 60s
	CarrierRejectAuditPeriod time.Duration // FAXGATE_CARRIER_REJECT_AUDIT_INTERVAL, default 1m

	BlobURL           string         // FAXGATE_BLOB_URL, default "" (documents under DataDir); s3://… for object storage
	DocumentKeys      []string       // FAXGATE_DOCUMENT_KEY (rotation list, the first encrypts), default none: documents stored in clear
	RetentionInbound  time.Duration  // FAXGATE_RETENTION_DAYS(_INBOUND), default 0: keep forever
	RetentionOutbound time.Duration  // FAXGATE_RETENTION_DAYS(_OUTBOUND), default 0: keep forever
	AuditRetention    time.Duration  // FAXGATE_AUDIT_RETENTION_DAYS, default 365
	TLSCert           string         // FAXGATE_TLS_CERT, default "" (plain HTTP)
	TLSKey            string         // FAXGATE_TLS_KEY
	TrustedProxies    []netip.Prefix // FAXGATE_TRUSTED_PROXIES, default none
	RequireHTTPS      bool           // FAXGATE_REQUIRE_HTTPS, default false

	ClaimLease         time.Duration // FAXGATE_CLAIM_LEASE, default 30s
	RateLimit          float64       // FAXGATE_RATE_LIMIT, default 100 requests/s per API key; 0 off
	RateBurst          int           // FAXGATE_RATE_BURST, default 200
	MaxInflightSends   int           // FAXGATE_MAX_INFLIGHT_SENDS, default 64; 0 off
	DispatchWorkers    int           // FAXGATE_DISPATCH_WORKERS, default 8
	FetchPerCarrier    int           // FAXGATE_FETCH_PER_CARRIER, default 4
	DispatchPerCarrier int           // FAXGATE_DISPATCH_PER_CARRIER, default 4
	// Result timeouts end a handed fax whose final result never came
	// (failed, code not_confirmed); per carrier, 0 takes ResultTimeout.
	ResultTimeout       time.Duration // FAXGATE_RESULT_TIMEOUT, default 24h
	PhaxioResultTimeout time.Duration // FAXGATE_PHAXIO_RESULT_TIMEOUT, default 0 (FAXGATE_RESULT_TIMEOUT)
	SinchResultTimeout  time.Duration // FAXGATE_SINCH_RESULT_TIMEOUT, default 0 (FAXGATE_RESULT_TIMEOUT)
	GoFaxResultTimeout  time.Duration // FAXGATE_GOFAX_RESULT_TIMEOUT, default 0 (FAXGATE_RESULT_TIMEOUT)
	ResultCheckAfter    time.Duration // FAXGATE_RESULT_CHECK_AFTER, default 30m
	ResultCheckEvery    time.Duration // FAXGATE_RESULT_CHECK_EVERY, default 30m
	SendFindSettle      time.Duration // FAXGATE_SEND_FIND_SETTLE, default 30s
	SendFindSpacing     time.Duration // FAXGATE_SEND_FIND_SPACING, default 30s
	SimulatorPageDelay  time.Duration // FAXGATE_SIMULATOR_PAGE_DELAY, default 0

	// Redial and carrier failover.
	RedialAttempts   int           // FAXGATE_REDIAL_ATTEMPTS, default 3: dial attempts in all, the first included; 1 never redials
	RedialInterval   time.Duration // FAXGATE_REDIAL_INTERVAL, default 5m: the wait before each redial
	ProviderFallback []string      // FAXGATE_PROVIDER_FALLBACK, default none: carriers tried in order when a fax's own did not accept it

	MaxInflightSendsPerKey int           // FAXGATE_MAX_INFLIGHT_SENDS_PER_KEY, default 16; 0 off
	SendBodyTimeout        time.Duration // FAXGATE_SEND_BODY_TIMEOUT, default 1m; 0 off
	MaxRecipients          int           // FAXGATE_MAX_RECIPIENTS, default 50: numbers one send may fax
	MetricsAddr            string        // FAXGATE_METRICS_ADDR, default "" (metrics only on the API, with a metrics:read key)
	MetricsCacheFor        time.Duration // FAXGATE_METRICS_CACHE, default 30s: how long the store's figures are reused

	// Converting uploads (images, office documents) into fax pages.
	ConvertTimeout  time.Duration // FAXGATE_CONVERT_TIMEOUT, default 2m: how long one LibreOffice run may take
	ConvertMaxBytes int64         // FAXGATE_CONVERT_MAX_BYTES, default 100 MiB: what one LibreOffice run may write
	ImageMaxPixels  int           // FAXGATE_IMAGE_MAX_PIXELS, default 50000000: pixels of an image, all GIF frames together

	// Cover pages (cover_* fields of a send).
	CoverLogo     string // FAXGATE_COVER_LOGO, default "" (no logo): a PNG or JPEG drawn at the top of every cover
	CoverTemplate string // FAXGATE_COVER_TEMPLATE, default "" (the built-in cover): a text file with {{placeholders}}

	// The console at /console.
	ConsoleIdle        time.Duration // FAXGATE_CONSOLE_IDLE_TIMEOUT, default 30m: a session unused this long ends
	ConsoleMaxAge      time.Duration // FAXGATE_CONSOLE_SESSION_MAX_AGE, default 12h: a session ends this long after sign-in
	ConsoleSignInLimit int           // FAXGATE_CONSOLE_SIGNIN_LIMIT, default 10 sign-in attempts a minute per source address

	Phaxio   Phaxio
	Sinch    Sinch
	GoFax    GoFax
	Asterisk Asterisk
}

// Phaxio holds Phaxio's settings.
type Phaxio struct {
	APIKey        string   // PHAXIO_API_KEY
	APISecrets    []string // PHAXIO_API_SECRET (rotation list, current first)
	WebhookTokens []string // PHAXIO_WEBHOOK_TOKEN (rotation list)
	BaseURL       string   // PHAXIO_BASE_URL, default "https://api.phaxio.com/v2.1"
	FileHosts     []string // PHAXIO_FILE_HOSTS, default "*.phaxio.com"
}

// Sinch holds Sinch's settings.
type Sinch struct {
	ProjectID        string   // SINCH_PROJECT_ID
	KeyID            string   // SINCH_KEY_ID
	KeySecret        string   // SINCH_KEY_SECRET
	BaseURL          string   // SINCH_BASE_URL, default "https://fax.api.sinch.com"
	InboundBasicUser string   // SINCH_INBOUND_BASIC_USER
	InboundBasicPass []string // SINCH_INBOUND_BASIC_PASS (rotation list)
	HMACSecrets      []string // SINCH_INBOUND_HMAC_SECRET (rotation list)
	FileHosts        []string // SINCH_FILE_HOSTS, default "*.sinch.com"
	OAuth            bool     // SINCH_OAUTH, default false (Basic auth with the access key)
	AuthURL          string   // SINCH_AUTH_URL, default "https://auth.sinch.com/oauth2/token"
	CallbackType     string   // SINCH_CALLBACK_CONTENT_TYPE, default "multipart/form-data"
}

// GoFax holds GoFax's settings.
type GoFax struct {
	Tokens      []string // GOFAX_TOKEN (rotation list)
	WebhookUser string   // GOFAX_WEBHOOK_USER
	WebhookPass []string // GOFAX_WEBHOOK_PASS (rotation list)
	BaseURL     string   // GOFAX_BASE_URL, default "https://restful-api.gofax.com.au"
}

// Asterisk holds the self-hosted Asterisk settings.
type Asterisk struct {
	AMIHost        string         // ASTERISK_AMI_HOST
	AMIPort        int            // ASTERISK_AMI_PORT, default 5038
	AMIUser        string         // ASTERISK_AMI_USER
	AMISecret      string         // ASTERISK_AMI_SECRET
	InboundSecrets []string       // ASTERISK_INBOUND_SECRET (rotation list)
	InboundAllow   []netip.Prefix // ASTERISK_INBOUND_ALLOW (CIDRs), default any
	SpoolDir       string         // ASTERISK_SPOOL_DIR
	Channel        string         // ASTERISK_CHANNEL, default "PJSIP/{number}@faxtrunk"
	Context        string         // ASTERISK_CONTEXT, default "faxgate-out"
	Exten          string         // ASTERISK_EXTEN, default "s"
	FaxTimeout     time.Duration  // ASTERISK_FAX_TIMEOUT, default 10m
	Ghostscript    string         // ASTERISK_GHOSTSCRIPT, default "gs"
	PaperSize      string         // ASTERISK_PAPER_SIZE, default "letter"
}

// Providers lists the carrier names FAXGATE_PROVIDER accepts.
var providerNames = []string{"simulator", "phaxio", "sinch", "gofax", "asterisk"}

// ProviderNames returns the carrier names FAXGATE_PROVIDER accepts.
func ProviderNames() []string { return append([]string(nil), providerNames...) }

// setting describes one setting: its name, default, whether it is secret,
// and how it is stored into a Config.
type setting struct {
	name   string
	def    string
	secret bool
	doc    string
	set    func(c *Config, v string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func list(p func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = splitList(v); return nil }
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func dur(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 500ms, 15s or 5m, got %q", v)
		}
		*p(c) = d
		return nil
	}
}

// posDur is dur refusing zero; "" leaves the field unset.
func posDur(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if err := dur(p)(c, v); err != nil {
			return err
		}
		if *p(c) == 0 {
			return fmt.Errorf("want a duration above zero, got %q", v)
		}
		return nil
	}
}

func integer(p func(*Config) *int, min, max int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return fmt.Errorf("want a whole number from %d to %d, got %q", min, max, v)
		}
		*p(c) = n
		return nil
	}
}

func byteSize(p func(*Config) *int64, min, max int64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < min || n > max {
			return fmt.Errorf("want bytes from %d to %d, got %q", min, max, v)
		}
		*p(c) = n
		return nil
	}
}

func boolean(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			*p(c) = true
		case "0", "false", "no", "off", "":
			*p(c) = false
		default:
			return fmt.Errorf("want 1 or 0, got %q", v)
		}
		return nil
	}
}

// days sets durations from a whole number of days; "" leaves them as they
// are (the per-direction settings inherit FAXGATE_RETENTION_DAYS).
func days(p func(*Config) []*time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 36500 {
			return fmt.Errorf("want a whole number of days from 0 (keep forever) to 36500, got %q", v)
		}
		for _, d := range p(c) {
			*d = time.Duration(n) * 24 * time.Hour
		}
		return nil
	}
}

func prefixes(p func(*Config) *[]netip.Prefix) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []netip.Prefix
		for _, s := range splitList(v) {
			pf, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return fmt.Errorf("want CIDRs such as 10.0.0.0/8,::1/128, got %q", s)
				}
				pf = netip.PrefixFrom(a, a.BitLen())
			}
			out = append(out, pf.Masked())
		}
		*p(c) = out
		return nil
	}
}

func settings() []setting {
	return []setting{
		{"FAXGATE_ADDR", ":8080", false, "address to listen on", str(func(c *Config) *string { return &c.Addr })},
		{"FAXGATE_DATA_DIR", "./faxgate-data", false, "SQLite database and documents", str(func(c *Config) *string { return &c.DataDir })},
		{"FAXGATE_DATABASE_URL", "", true, "empty: SQLite in the data dir; postgres://… for PostgreSQL", str(func(c *Config) *string { return &c.DatabaseURL })},
		{"FAXGATE_DATABASE_LISTEN_URL", "", true, "PostgreSQL: a direct postgres:// URL (not through PgBouncer) for LISTEN, leader locks and migrations; empty: FAXGATE_DATABASE_URL", str(func(c *Config) *string { return &c.DatabaseListenURL })},
		{"FAXGATE_PUBLIC_URL", "http://localhost:8080", false, "the URL carriers call back (no trailing slash)", str(func(c *Config) *string { return &c.PublicURL })},
		{"FAXGATE_PROVIDER", "simulator", false, "default carrier: simulator, phaxio, sinch, gofax, asterisk", str(func(c *Config) *string { return &c.Provider })},
		{"FAXGATE_REDIAL_ATTEMPTS", "3", false, "dial attempts in all, the first included, for a busy, unanswered or unplaced call (1 never redials)", integer(func(c *Config) *int { return &c.RedialAttempts }, 1, 10)},
		{"FAXGATE_REDIAL_INTERVAL", "5m", false, "wait before each redial", posDur(func(c *Config) *time.Duration { return &c.RedialInterval })},
		{"FAXGATE_PROVIDER_FALLBACK", "", false, "carriers, in order, a send moves to when its own did not accept it (each must be configured)", list(func(c *Config) *[]string { return &c.ProviderFallback })},
		{"FAXGATE_ADMIN_KEY", "", true, "API key with every scope (comma-separated for rotation)", list(func(c *Config) *[]string { return &c.AdminKeys })},
		{"FAXGATE_LOG_FORMAT", "text", false, "text or json", str(func(c *Config) *string { return &c.LogFormat })},
		{"FAXGATE_LOG_LEVEL", "info", false, "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
		{"FAXGATE_MAX_DOCUMENT_BYTES", "20971520", false, "largest document accepted (bytes)", func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 || n > 1<<30 {
				return fmt.Errorf("want bytes from 1024 to 1073741824, got %q", v)
			}
			c.MaxDocument = n
			return nil
		}},
		{"FAXGATE_SHUTDOWN_TIMEOUT", "30s", false, "how long in-flight work may take to finish on SIGTERM", dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
		{"FAXGATE_WEBHOOK_ALLOW_NETWORKS", "", false, "CIDRs webhook endpoints may reach although private or loopback", prefixes(func(c *Config) *[]netip.Prefix { return &c.WebhookAllowNetworks })},
		{"FAXGATE_WEBHOOK_WORKERS", "16", false, "concurrent webhook deliveries", integer(func(c *Config) *int { return &c.WebhookWorkers }, 1, 1024)},
		{"FAXGATE_WEBHOOK_PER_HOST", "4", false, "concurrent webhook deliveries to one host:port, and to the SMTP relay", integer(func(c *Config) *int { return &c.WebhookPerHost }, 1, 1024)},
		{"FAXGATE_WEBHOOK_TIMEOUT", "15s", false, "timeout of one delivery attempt", dur(func(c *Config) *time.Duration { return &c.WebhookTimeout })},
		{"FAXGATE_WEBHOOK_RETRY_SCHEDULE", "5m,10m,20m,30m,6h×12", false, "waits before each retry (comma-separated durations; d×n repeats)", func(c *Config, v string) error {
			s, err := ParseSchedule(v)
			if err != nil {
				return err
			}
			c.WebhookRetrySchedule = s
			return nil
		}},
		{"FAXGATE_WEBHOOK_DISABLE_AFTER", "120h", false, "disable an endpoint failing this long without a success (0 never)", dur(func(c *Config) *time.Duration { return &c.WebhookDisableAfter })},
		{"FAXGATE_CALLBACK_SECRET", "", true, "whsec_ secret signing deliveries to a fax's callback_url (default: generated once, shown by GET /v1/callback-secret)", str(func(c *Config) *string { return &c.CallbackSecret })},
		{"FAXGATE_SMTP_URL", "", true, "smtp://user:pass@host:port relay for mailto: endpoints", str(func(c *Config) *string { return &c.SMTPURL })},
		{"FAXGATE_SMTP_FROM", "", false, "sender address of webhook emails (default faxgate@<hostname>)", str(func(c *Config) *string { return &c.SMTPFrom })},
		{"FAXGATE_EMAIL_ATTACH_PDF", "1", false, "attach received faxes' PDFs to mailto: webhook emails", boolean(func(c *Config) *bool { return &c.EmailAttachPDF })},
		{"FAXGATE_INSECURE_WEBHOOKS", "0", false, "1 accepts carrier webhooks whose verification secret is not configured", boolean(func(c *Config) *bool { return &c.InsecureWebhooks })},
		{"FAXGATE_CARRIER_MAX_BODY_BYTES", "20971520", false, "largest carrier webhook body on the routes that carry a received document (Phaxio inbound, Sinch)", byteSize(func(c *Config) *int64 { return &c.CarrierMaxBody }, 1024, 1<<30)},
		{"FAXGATE_CARRIER_MAX_NOTICE_BYTES", "262144", false, "largest carrier webhook body on the routes that carry a status only (Phaxio callback, GoFax, Asterisk)", byteSize(func(c *Config) *int64 { return &c.CarrierMaxNotice }, 1024, 1<<30)},
		{"FAXGATE_CARRIER_UNVERIFIED_READS", "8", false, "carrier webhook bodies read at once before their signature is checked; beyond, 503 with Retry-After", integer(func(c *Config) *int { return &c.CarrierUnverifiedReads }, 1, 10000)},
		{"FAXGATE_CARRIER_UNVERIFIED_READS_PER_SOURCE", "2", false, "the same, from one remote address", integer(func(c *Config) *int { return &c.CarrierUnverifiedPerIP }, 1, 10000)},
		{"FAXGATE_CARRIER_UNVERIFIED_MEMORY_BYTES", "20971520", false, "bytes those unverified bodies may hold together (at least FAXGATE_CARRIER_MAX_BODY_BYTES)", byteSize(func(c *Config) *int64 { return &c.CarrierUnverifiedMemory }, 1024, 1<<34)},
		{"FAXGATE_CARRIER_BODY_TIMEOUT", "60s", false, "time a carrier webhook body may take to arrive", dur(func(c *Config) *time.Duration { return &c.CarrierBodyTimeout })},
		{"FAXGATE_CARRIER_REJECT_AUDIT_INTERVAL", "1m", false, "refused carrier webhooks are written to the audit trail as one row per source and route per interval", dur(func(c *Config) *time.Duration { return &c.CarrierRejectAuditPeriod })},
		{"FAXGATE_BLOB_URL", "", true, "empty: documents under the data dir; s3://ACCESS:SECRET@host:port/bucket/prefix?region=…&sse=AES256 for object storage", str(func(c *Config) *string { return &c.BlobURL })},
		{"FAXGATE_DOCUMENT_KEY", "", true, "encrypts documents at rest: base64 of 32 random bytes (head -c 32 /dev/urandom | base64); comma-separated to rotate, the first encrypts and all decrypt", list(func(c *Config) *[]string { return &c.DocumentKeys })},
		{"FAXGATE_RETENTION_DAYS", "0", false, "delete documents this many days after a fax completed (0 keeps forever); metadata stays", days(func(c *Config) []*time.Duration { return []*time.Duration{&c.RetentionInbound, &c.RetentionOutbound} })},
		{"FAXGATE_RETENTION_DAYS_INBOUND", "", false, "overrides FAXGATE_RETENTION_DAYS for received faxes", days(func(c *Config) []*time.Duration { return []*time.Duration{&c.RetentionInbound} })},
		{"FAXGATE_RETENTION_DAYS_OUTBOUND", "", false, "overrides FAXGATE_RETENTION_DAYS for sent faxes", days(func(c *Config) []*time.Duration { return []*time.Duration{&c.RetentionOutbound} })},
		{"FAXGATE_AUDIT_RETENTION_DAYS", "365", false, "delete audit entries older than this many days (0 keeps them)", days(func(c *Config) []*time.Duration { return []*time.Duration{&c.AuditRetention} })},
		{"FAXGATE_TLS_CERT", "", false, "PEM certificate (chain) to serve HTTPS directly", str(func(c *Config) *string { return &c.TLSCert })},
		{"FAXGATE_TLS_KEY", "", false, "PEM private key for FAXGATE_TLS_CERT", str(func(c *Config) *string { return &c.TLSKey })},
		{"FAXGATE_TRUSTED_PROXIES", "", false, "CIDRs of reverse proxies whose X-Forwarded-For gives the client address", prefixes(func(c *Config) *[]netip.Prefix { return &c.TrustedProxies })},
		{"FAXGATE_REQUIRE_HTTPS", "0", false, "1 refuses a FAXGATE_PUBLIC_URL that is not https://", boolean(func(c *Config) *bool { return &c.RequireHTTPS })},
		{"FAXGATE_CLAIM_LEASE", "30s", false, "how long a claimed send or delivery stays claimed without renewal; a crashed instance's work resumes after it (deliveries: at least twice FAXGATE_WEBHOOK_TIMEOUT)", dur(func(c *Config) *time.Duration { return &c.ClaimLease })},
		{"FAXGATE_RATE_LIMIT", "100", false, "requests a second each API key may make (429 with Retry-After beyond; 0 off)", func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1e6 {
				return fmt.Errorf("want requests a second from 0 (off) to 1000000, got %q", v)
			}
			c.RateLimit = f
			return nil
		}},
		{"FAXGATE_RATE_BURST", "200", false, "requests an API key may make at once before FAXGATE_RATE_LIMIT applies", integer(func(c *Config) *int { return &c.RateBurst }, 1, 1000000)},
		{"FAXGATE_MAX_INFLIGHT_SENDS", "64", false, "sends (POST /v1/faxes) processed at once across all keys, counted from when a body is in; beyond, 503 with Retry-After (0 off)", integer(func(c *Config) *int { return &c.MaxInflightSends }, 0, 100000)},
		{"FAXGATE_MAX_INFLIGHT_SENDS_PER_KEY", "16", false, "sends one API key may have in progress, body upload included; beyond, 429 with Retry-After (0 off; at most FAXGATE_MAX_INFLIGHT_SENDS)", integer(func(c *Config) *int { return &c.MaxInflightSendsPerKey }, 0, 100000)},
		{"FAXGATE_SEND_BODY_TIMEOUT", "1m", false, "how long a send's whole request body may take to arrive; slower gets 408 (0 off)", dur(func(c *Config) *time.Duration { return &c.SendBodyTimeout })},
		{"FAXGATE_MAX_RECIPIENTS", "50", false, "numbers one send (POST /v1/faxes) may fax, each its own fax under one batch_id; more gets 400", integer(func(c *Config) *int { return &c.MaxRecipients }, 1, 1000)},
		{"FAXGATE_CONVERT_TIMEOUT", "2m", false, "how long converting one office document with LibreOffice may take; longer gets 422", posDur(func(c *Config) *time.Duration { return &c.ConvertTimeout })},
		{"FAXGATE_CONVERT_MAX_BYTES", "104857600", false, "how much one LibreOffice conversion may write (bytes); more gets 422", byteSize(func(c *Config) *int64 { return &c.ConvertMaxBytes }, 1<<20, 1<<32)},
		{"FAXGATE_IMAGE_MAX_PIXELS", "50000000", false, "most pixels an image may have (all GIF frames together); more gets 422", integer(func(c *Config) *int { return &c.ImageMaxPixels }, 1_000_000, 1_000_000_000)},
		{"FAXGATE_COVER_LOGO", "", false, "path to a PNG or JPEG logo drawn at the top of every cover page, scaled to at most an inch tall (checked at start-up)", str(func(c *Config) *string { return &c.CoverLogo })},
		{"FAXGATE_COVER_TEMPLATE", "", false, "path to a text file that replaces the built-in cover page text: {{to}} {{from}} {{subject}} {{message}} {{pages}} {{date}} {{confidential_notice}} (checked at start-up)", str(func(c *Config) *string { return &c.CoverTemplate })},
		{"FAXGATE_METRICS_ADDR", "", false, "a second listen address serving GET /metrics without a key (keep it private); empty: metrics only on the API with a metrics:read key", str(func(c *Config) *string { return &c.MetricsAddr })},
		{"FAXGATE_METRICS_CACHE", "30s", false, "how long the database's figures in /metrics are reused before one scrape reads them again", dur(func(c *Config) *time.Duration { return &c.MetricsCacheFor })},
		{"FAXGATE_CONSOLE_IDLE_TIMEOUT", "30m", false, "a console session unused this long ends", dur(func(c *Config) *time.Duration { return &c.ConsoleIdle })},
		{"FAXGATE_CONSOLE_SESSION_MAX_AGE", "12h", false, "a console session ends this long after sign-in, however active", dur(func(c *Config) *time.Duration { return &c.ConsoleMaxAge })},
		{"FAXGATE_CONSOLE_SIGNIN_LIMIT", "10", false, "console sign-in attempts a minute from one source address (beyond, 429; failures are audited)", integer(func(c *Config) *int { return &c.ConsoleSignInLimit }, 1, 100000)},
		{"FAXGATE_DISPATCH_WORKERS", "8", false, "faxes handed to carriers at once", integer(func(c *Config) *int { return &c.DispatchWorkers }, 1, 1024)},
		{"FAXGATE_FETCH_PER_CARRIER", "4", false, "received documents downloaded at once from each carrier", integer(func(c *Config) *int { return &c.FetchPerCarrier }, 1, 64)},
		{"FAXGATE_DISPATCH_PER_CARRIER", "4", false, "faxes of one carrier being sent or checked at once, so that a slow carrier never holds back another (a lone carrier may use every worker)", integer(func(c *Config) *int { return &c.DispatchPerCarrier }, 1, 1024)},
		{"FAXGATE_RESULT_TIMEOUT", "24h", false, "a fax handed to a carrier (or held as not confirmed) with no final result this long is failed with code not_confirmed; the carrier's late final report still settles it", posDur(func(c *Config) *time.Duration { return &c.ResultTimeout })},
		{"FAXGATE_PHAXIO_RESULT_TIMEOUT", "", false, "overrides FAXGATE_RESULT_TIMEOUT for Phaxio", posDur(func(c *Config) *time.Duration { return &c.PhaxioResultTimeout })},
		{"FAXGATE_SINCH_RESULT_TIMEOUT", "", false, "overrides FAXGATE_RESULT_TIMEOUT for Sinch", posDur(func(c *Config) *time.Duration { return &c.SinchResultTimeout })},
		{"FAXGATE_GOFAX_RESULT_TIMEOUT", "", false, "overrides FAXGATE_RESULT_TIMEOUT for GoFax", posDur(func(c *Config) *time.Duration { return &c.GoFaxResultTimeout })},
		{"FAXGATE_RESULT_CHECK_AFTER", "30m", false, "a handed fax without a result is first checked with its carrier (Phaxio, Sinch) this long after the hand-over", posDur(func(c *Config) *time.Duration { return &c.ResultCheckAfter })},
		{"FAXGATE_RESULT_CHECK_EVERY", "30m", false, "how often a handed fax without a result is checked again", posDur(func(c *Config) *time.Duration { return &c.ResultCheckEvery })},
		{"FAXGATE_SEND_FIND_SETTLE", "30s", false, "after an ambiguous send, wait this long before asking the carrier whether it has the fax", posDur(func(c *Config) *time.Duration { return &c.SendFindSettle })},
		{"FAXGATE_SEND_FIND_SPACING", "30s", false, "time between the questions that must twice find no fax before it is sent again", posDur(func(c *Config) *time.Duration { return &c.SendFindSpacing })},
		{"FAXGATE_SIMULATOR_PAGE_DELAY", "0", false, "time the simulator takes per page", func(c *Config, v string) error {
			if v == "0" {
				c.SimulatorPageDelay = 0
				return nil
			}
			return dur(func(c *Config) *time.Duration { return &c.SimulatorPageDelay })(c, v)
		}},

		{"PHAXIO_API_KEY", "", false, "Phaxio API key", str(func(c *Config) *string { return &c.Phaxio.APIKey })},
		{"PHAXIO_API_SECRET", "", true, "Phaxio API secret; also verifies raw-body HMAC-SHA256 webhooks", list(func(c *Config) *[]string { return &c.Phaxio.APISecrets })},
		{"PHAXIO_WEBHOOK_TOKEN", "", true, "Phaxio webhook token (HMAC-SHA1 signatures)", list(func(c *Config) *[]string { return &c.Phaxio.WebhookTokens })},
		{"PHAXIO_BASE_URL", "https://api.phaxio.com/v2.1", false, "Phaxio API base URL", str(func(c *Config) *string { return &c.Phaxio.BaseURL })},
		{"PHAXIO_FILE_HOSTS", "*.phaxio.com", false, "hosts a received fax's file_url may point at (fetched with Phaxio's credentials)", list(func(c *Config) *[]string { return &c.Phaxio.FileHosts })},
		{"SINCH_PROJECT_ID", "", false, "Sinch project id", str(func(c *Config) *string { return &c.Sinch.ProjectID })},
		{"SINCH_KEY_ID", "", false, "Sinch access key id", str(func(c *Config) *string { return &c.Sinch.KeyID })},
		{"SINCH_KEY_SECRET", "", true, "Sinch access key secret", str(func(c *Config) *string { return &c.Sinch.KeySecret })},
		{"SINCH_BASE_URL", "https://fax.api.sinch.com", false, "Sinch Fax API base URL", str(func(c *Config) *string { return &c.Sinch.BaseURL })},
		{"SINCH_INBOUND_BASIC_USER", "", false, "Basic auth user Sinch webhooks must carry", str(func(c *Config) *string { return &c.Sinch.InboundBasicUser })},
		{"SINCH_INBOUND_BASIC_PASS", "", true, "Basic auth password Sinch webhooks must carry", list(func(c *Config) *[]string { return &c.Sinch.InboundBasicPass })},
		{"SINCH_INBOUND_HMAC_SECRET", "", true, "X-Sinch-Signature HMAC-SHA256 secret", list(func(c *Config) *[]string { return &c.Sinch.HMACSecrets })},
		{"SINCH_FILE_HOSTS", "*.sinch.com", false, "hosts a received fax's file_url may point at (fetched with Sinch's credentials)", list(func(c *Config) *[]string { return &c.Sinch.FileHosts })},
		{"SINCH_OAUTH", "0", false, "1 authenticates API calls with OAuth2 client-credential tokens instead of Basic auth", boolean(func(c *Config) *bool { return &c.Sinch.OAuth })},
		{"SINCH_AUTH_URL", "https://auth.sinch.com/oauth2/token", false, "Sinch OAuth2 token endpoint", str(func(c *Config) *string { return &c.Sinch.AuthURL })},
		{"SINCH_CALLBACK_CONTENT_TYPE", "multipart/form-data", false, "how Sinch posts send callbacks: multipart/form-data or application/json", str(func(c *Config) *string { return &c.Sinch.CallbackType })},
		{"GOFAX_TOKEN", "", true, "GoFax API token", list(func(c *Config) *[]string { return &c.GoFax.Tokens })},
		{"GOFAX_WEBHOOK_USER", "", false, "Basic auth user of GoFax portal webhooks", str(func(c *Config) *string { return &c.GoFax.WebhookUser })},
		{"GOFAX_WEBHOOK_PASS", "", true, "Basic auth password of GoFax portal webhooks", list(func(c *Config) *[]string { return &c.GoFax.WebhookPass })},
		{"GOFAX_BASE_URL", "https://restful-api.gofax.com.au", false, "GoFax API base URL", str(func(c *Config) *string { return &c.GoFax.BaseURL })},
		{"ASTERISK_AMI_HOST", "", false, "Asterisk AMI host", str(func(c *Config) *string { return &c.Asterisk.AMIHost })},
		{"ASTERISK_AMI_PORT", "5038", false, "Asterisk AMI port", integer(func(c *Config) *int { return &c.Asterisk.AMIPort }, 1, 65535)},
		{"ASTERISK_AMI_USER", "", false, "Asterisk AMI user", str(func(c *Config) *string { return &c.Asterisk.AMIUser })},
		{"ASTERISK_AMI_SECRET", "", true, "Asterisk AMI secret", str(func(c *Config) *string { return &c.Asterisk.AMISecret })},
		{"ASTERISK_INBOUND_SECRET", "", true, "X-Internal-Secret of Asterisk's inbound posts", list(func(c *Config) *[]string { return &c.Asterisk.InboundSecrets })},
		{"ASTERISK_INBOUND_ALLOW", "", false, "CIDRs Asterisk's inbound posts may come from (default any)", prefixes(func(c *Config) *[]netip.Prefix { return &c.Asterisk.InboundAllow })},
		{"ASTERISK_SPOOL_DIR", "", false, "directory shared with Asterisk for TIFFs", str(func(c *Config) *string { return &c.Asterisk.SpoolDir })},
		{"ASTERISK_CHANNEL", "PJSIP/{number}@faxtrunk", false, "channel to originate; {number} is the destination without +, {e164} with it", str(func(c *Config) *string { return &c.Asterisk.Channel })},
		{"ASTERISK_CONTEXT", "faxgate-out", false, "dialplan context that runs SendFAX", str(func(c *Config) *string { return &c.Asterisk.Context })},
		{"ASTERISK_EXTEN", "s", false, "extension in that context", str(func(c *Config) *string { return &c.Asterisk.Exten })},
		{"ASTERISK_FAX_TIMEOUT", "10m", false, "a fax with no result after this long fails as timed out", dur(func(c *Config) *time.Duration { return &c.Asterisk.FaxTimeout })},
		{"ASTERISK_GHOSTSCRIPT", "gs", false, "Ghostscript binary that converts PDFs to fax TIFFs", str(func(c *Config) *string { return &c.Asterisk.Ghostscript })},
		{"ASTERISK_PAPER_SIZE", "letter", false, "paper size for converted faxes: letter or a4", str(func(c *Config) *string { return &c.Asterisk.PaperSize })},
	}
}

// ParseSchedule parses a retry schedule: comma-separated durations, where
// "d×n" or "d*n" repeats d n times.
func ParseSchedule(v string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range splitList(v) {
		n := 1
		if i := strings.IndexAny(part, "×*"); i >= 0 {
			rep := strings.TrimLeft(part[i:], "×*")
			var err error
			n, err = strconv.Atoi(rep)
			if err != nil || n < 1 || n > 100 {
				return nil, fmt.Errorf("want a repeat count from 1 to 100 in %q", part)
			}
			part = part[:i]
		}
		d, err := time.ParseDuration(part)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("want durations such as 5m,10m,6h×12, got %q", part)
		}
		for range n {
			out = append(out, d)
		}
	}
	if len(out) > 100 {
		return nil, fmt.Errorf("at most 100 retries, got %d", len(out))
	}
	return out, nil
}

// Load reads the settings: defaults, then the file (if any), then the
// environment, and for every secret NAME_FILE naming a file holding it.
// Every problem is reported, each naming its setting.
func Load(getenv func(string) string, file string) (Config, error) {
	var c Config
	var errs []error
	values := map[string]string{}
	specs := settings()
	known := map[string]setting{}
	for _, s := range specs {
		known[s.name] = s
		values[s.name] = s.def
	}
	if file != "" {
		fv, err := readFile(file)
		if err != nil {
			return c, err
		}
		keys := make([]string, 0, len(fv))
		for k := range fv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			base := strings.TrimSuffix(k, "_FILE")
			s, ok := known[base]
			if !ok || (base != k && !s.secret) {
				errs = append(errs, fmt.Errorf("%s (in %s): unknown setting%s", k, file, suggest(k, specs)))
				continue
			}
			if base != k {
				v, err := readSecretFile(fv[k])
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", k, err))
					continue
				}
				values[base] = v
				continue
			}
			values[k] = fv[k]
		}
	}
	for _, s := range specs {
		if v := getenv(s.name); v != "" {
			values[s.name] = v
		}
		if s.secret {
			if p := getenv(s.name + "_FILE"); p != "" {
				v, err := readSecretFile(p)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", s.name, err))
					continue
				}
				values[s.name] = v
			}
		}
	}
	for _, s := range specs {
		if err := s.set(&c, strings.TrimSpace(values[s.name])); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	return c, c.Validate()
}

func readSecretFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("cannot read the secret file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// readFile parses a KEY=VALUE file: blank lines and # comments ignored,
// optional "export ", values optionally in matching quotes.
func readFile(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("config: %s line %d: want KEY=VALUE", path, n)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out[k] = v
	}
	return out, sc.Err()
}

func suggest(name string, specs []setting) string {
	best, bestD := "", 4
	for _, s := range specs {
		if d := distance(name, s.name); d < bestD {
			best, bestD = s.name, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// distance is the Levenshtein distance, for suggesting a setting's name.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Validate checks the settings together, naming the setting in each problem.
func (c *Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	known := false
	for _, p := range providerNames {
		known = known || p == c.Provider
	}
	if !known {
		bad("FAXGATE_PROVIDER", "unknown carrier %q; want one of %s", c.Provider, strings.Join(providerNames, ", "))
	}
	for i, p := range c.ProviderFallback {
		if !slices.Contains(providerNames, p) {
			bad("FAXGATE_PROVIDER_FALLBACK", "unknown carrier %q; want names from %s", p, strings.Join(providerNames, ", "))
		} else if slices.Contains(c.ProviderFallback[:i], p) {
			bad("FAXGATE_PROVIDER_FALLBACK", "%s is listed twice", p)
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		bad("FAXGATE_PUBLIC_URL", "want an absolute http(s) URL such as https://fax.example.com")
	} else {
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	if c.RequireHTTPS && !strings.HasPrefix(c.PublicURL, "https://") {
		bad("FAXGATE_PUBLIC_URL", "must be https:// because FAXGATE_REQUIRE_HTTPS=1")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("FAXGATE_TLS_CERT", "set both FAXGATE_TLS_CERT and FAXGATE_TLS_KEY, or neither")
	}
	if c.CarrierUnverifiedMemory > 0 && c.CarrierUnverifiedMemory < max(c.CarrierMaxBody, c.CarrierMaxNotice) {
		bad("FAXGATE_CARRIER_UNVERIFIED_MEMORY_BYTES", "must be at least FAXGATE_CARRIER_MAX_BODY_BYTES and FAXGATE_CARRIER_MAX_NOTICE_BYTES, or a body that large could never be verified")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("FAXGATE_LOG_FORMAT", "want text or json, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("FAXGATE_LOG_LEVEL", "want debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		bad("FAXGATE_DATABASE_URL", "want empty (SQLite) or a postgres:// URL")
	}
	if c.DatabaseListenURL != "" && (c.DatabaseURL == "" || !strings.HasPrefix(c.DatabaseListenURL, "postgres://") && !strings.HasPrefix(c.DatabaseListenURL, "postgresql://")) {
		bad("FAXGATE_DATABASE_LISTEN_URL", "want a postgres:// URL, and FAXGATE_DATABASE_URL set to PostgreSQL")
	}
	for _, k := range c.AdminKeys {
		if len(k) < 16 {
			bad("FAXGATE_ADMIN_KEY", "too short: use at least 16 random characters")
			break
		}
	}
	if c.CallbackSecret != "" && !strings.HasPrefix(c.CallbackSecret, "whsec_") {
		bad("FAXGATE_CALLBACK_SECRET", "want a whsec_ secret (whsec_ then base64)")
	}
	if c.SMTPURL != "" {
		if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			bad("FAXGATE_SMTP_URL", "want smtp://user:pass@host:port")
		}
	}
	if c.WebhookTimeout <= 0 {
		bad("FAXGATE_WEBHOOK_TIMEOUT", "must be positive")
	}
	for name, v := range map[string]string{"PHAXIO_BASE_URL": c.Phaxio.BaseURL, "SINCH_BASE_URL": c.Sinch.BaseURL, "GOFAX_BASE_URL": c.GoFax.BaseURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(name, "want an absolute http(s) URL")
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// Redacted returns every setting with its effective value, secrets shown as
// "(set)" or "(unset)", in a stable order, for `faxgate config check`.
func (c Config) Redacted(getenv func(string) string, file string) [][2]string {
	raw := map[string]string{}
	for _, s := range settings() {
		raw[s.name] = s.def
	}
	if file != "" {
		if fv, err := readFile(file); err == nil {
			for k, v := range fv {
				raw[k] = v
			}
		}
	}
	var out [][2]string
	for _, s := range settings() {
		v := raw[s.name]
		if e := getenv(s.name); e != "" {
			v = e
		}
		if s.secret {
			if v != "" || getenv(s.name+"_FILE") != "" || raw[s.name+"_FILE"] != "" {
				v = "(set)"
			} else {
				v = "(unset)"
			}
		}
		out = append(out, [2]string{s.name, v})
	}
	return out
}

// Doc describes one setting for documentation.
type Doc struct {
	Name, Default, Description string
	Secret                     bool
}

// Docs lists every setting, for the README's table and --help.
func Docs() []Doc {
	var out []Doc
	for _, s := range settings() {
		out = append(out, Doc{s.name, s.def, s.doc, s.secret})
	}
	return out
}
