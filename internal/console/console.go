// Package console is the browser console served at /console: server-rendered
// pages (html/template) and two small embedded assets. It holds no rules of
// its own: every read and action goes through the REST API's handlers
// in-process (api.Server.ServeAs) as the signed-in key, so that scopes,
// validation, errors and the audit trail are the API's.
//
// It imports internal/fax and internal/wire; the API, the session store and
// the audit trail reach it through interfaces declared here.
package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// API is the REST API as the console uses it.
type API interface {
	ServeAs(k *fax.APIKey, w http.ResponseWriter, r *http.Request)
	Authenticate(ctx context.Context, key string) (*fax.APIKey, error)
	PrincipalByHash(ctx context.Context, id, hash string) (*fax.APIKey, error)
}

// Sessions keeps console sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s *fax.Session) error
	FindSession(ctx context.Context, id string) (*fax.Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	DeleteExpiredSessions(ctx context.Context, idleBefore, now time.Time) (int, error)
}

// Limiter limits sign-in attempts by source address.
type Limiter interface {
	Allow(key string, now time.Time) (bool, time.Duration)
}

// Options configure a Console.
type Options struct {
	API      API
	Sessions Sessions
	Logger   *slog.Logger
	Now      func() time.Time

	// Idle ends a session unused this long (default 30m); MaxAge ends it
	// this long after sign-in (default 12h).
	Idle, MaxAge time.Duration
	// SignInLimiter limits sign-in attempts per source address; nil
	// allows all.
	SignInLimiter Limiter
	// Audit records successful sign-ins, sign-outs and console actions.
	Audit func(ctx context.Context, e *fax.AuditEntry) error
	// Refused aggregates failed sign-ins into audit rows (as the carrier
	// webhook refusals are).
	Refused func(ctx context.Context, actor, action, route, remoteAddr, reason string)
	// SecureCookies marks the cookie Secure even on plain HTTP requests,
	// for a gateway behind a TLS-terminating proxy.
	SecureCookies bool
	// Simulator says the simulator carrier is in use (the receive button).
	Simulator bool
	// MaxBody bounds a posted form, document included (default 21 MiB).
	MaxBody int64
	// Health describes the gateway for the health page.
	Health func(ctx context.Context) (Health, error)
}

// Health is what the health page shows beside readiness.
type Health struct {
	Carriers []string
	Queues   []fax.QueueStats
}

// Console serves /console.
type Console struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time
	tmpl *template.Template
	mux  *http.ServeMux
}

// Prefix is where the console is mounted.
const Prefix = "/console"

const cookieName = "faxgate_console"

// New builds the console and its routes.
func New(opts Options) (*Console, error) {
	c := &Console{opts: opts, log: opts.Logger, now: opts.Now}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.opts.Idle <= 0 {
		c.opts.Idle = 30 * time.Minute
	}
	if c.opts.MaxBody <= 0 {
		c.opts.MaxBody = 21 << 20
	}
	if c.opts.MaxAge <= 0 {
		c.opts.MaxAge = 12 * time.Hour
	}
	t, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	c.tmpl = t
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c.mux = http.NewServeMux()
	c.routes(http.StripPrefix(Prefix+"/static", http.FileServerFS(static)))
	return c, nil
}

// ServeHTTP serves the console with its security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		c.fail(w, r, nil, fax.Errorf(fax.ECodeForbidden, "cross-site form posts are refused"))
		return
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin refuses a state change another site's page started: the
// browser says so in Sec-Fetch-Site or Origin. This also covers the
// sign-in form, which has no session to hold a CSRF token yet.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// principal is the signed-in key and its session, for one request.
type principal struct {
	key  *fax.APIKey
	sess *fax.Session
}

type handler func(w http.ResponseWriter, r *http.Request, p *principal) error

// signedIn loads the session of a request: a missing, expired or revoked
// one sends the browser to the sign-in page (or 401 for the JSON routes).
// State changes must carry the session's CSRF token.
func (c *Console) signedIn(h handler, touch bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, why := c.session(r, touch)
		if p == nil {
			c.clearCookie(w, r)
			if strings.HasPrefix(r.URL.Path, Prefix+"/api/") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error":{"code":"unauthorized","message":"sign in again"}}`))
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"/sign-in?why="+url.QueryEscape(why), http.StatusSeeOther)
				return
			}
			c.fail(w, r, nil, fax.Errorf(fax.ECodeUnauthorized, "your session has ended; sign in again"))
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, c.opts.MaxBody)
			if err := parseForm(r, c.opts.MaxBody); err != nil {
				c.fail(w, r, p, err)
				return
			}
			if !c.checkCSRF(r, p.sess) {
				c.fail(w, r, p, fax.Errorf(fax.ECodeForbidden, "the form is missing its security token; reload the page and try again"))
				return
			}
		}
		if err := h(w, r, p); err != nil {
			c.fail(w, r, p, err)
		}
	})
}

// session finds the request's live session and its key, or says why not.
func (c *Console) session(r *http.Request, touch bool) (*principal, string) {
	ck, err := r.Cookie(cookieName)
	if err != nil || len(ck.Value) != 64 {
		return nil, ""
	}
	id := tokenHash(ck.Value)
	se, err := c.opts.Sessions.FindSession(r.Context(), id)
	if err != nil {
		if fax.ErrorCode(err) != fax.ECodeNotFound {
			c.log.ErrorContext(r.Context(), "console session", "err", err)
			return nil, "unavailable"
		}
		return nil, "expired"
	}
	now := c.now()
	if !now.Before(se.ExpiresAt) || now.Sub(se.LastSeenAt) >= c.opts.Idle {
		c.opts.Sessions.DeleteSession(context.WithoutCancel(r.Context()), id)
		return nil, "expired"
	}
	k, err := c.opts.API.PrincipalByHash(r.Context(), se.KeyID, se.KeyHash)
	if err != nil {
		if fax.ErrorCode(err) == fax.ECodeUnauthorized {
			c.opts.Sessions.DeleteSession(context.WithoutCancel(r.Context()), id)
			return nil, "revoked"
		}
		c.log.ErrorContext(r.Context(), "console session key", "err", err)
		return nil, "unavailable"
	}
	// Activity is written at most once a minute, so that browsing does not
	// write on every page; polling does not count as activity.
	if touch && now.Sub(se.LastSeenAt) >= time.Minute {
		if err := c.opts.Sessions.TouchSession(r.Context(), id, now.UTC()); err != nil {
			c.log.WarnContext(r.Context(), "console session touch", "err", err)
		}
	}
	return &principal{key: k, sess: se}, ""
}

// parseForm reads a posted form, a document included, before the CSRF
// token is checked, so that a body too large says so instead of looking
// like a missing token.
func parseForm(r *http.Request, max int64) error {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(32 << 20)
	} else {
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return fax.Errorf(fax.ECodeTooLarge, "the form is larger than %d bytes", max)
	}
	return fax.Errorf(fax.ECodeInvalid, "the form could not be read")
}

func (c *Console) checkCSRF(r *http.Request, se *fax.Session) bool {
	got := r.PostFormValue("csrf")
	if got == "" && r.MultipartForm != nil {
		if v := r.MultipartForm.Value["csrf"]; len(v) > 0 {
			got = v[0]
		}
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(se.CSRF)) == 1
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (c *Console) secure(r *http.Request) bool { return r.TLS != nil || c.opts.SecureCookies }

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: Prefix, HttpOnly: true, Secure: c.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(c.opts.MaxAge / time.Second)})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(cookieName); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, Secure: c.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// audit records a console action under the signed-in key; a failure is
// logged, as the API does, because the action already happened.
func (c *Console) audit(r *http.Request, actor, action, targetType, targetID, outcome string) {
	if c.opts.Audit == nil {
		return
	}
	e := &fax.AuditEntry{At: c.now().UTC(), Actor: actor, Action: action, TargetType: targetType, TargetID: targetID,
		Outcome: outcome, RemoteAddr: r.RemoteAddr, Detail: "console"}
	if err := c.opts.Audit(context.WithoutCancel(r.Context()), e); err != nil {
		c.log.ErrorContext(r.Context(), "console audit", "action", action, "err", err)
	}
}

// source is the address sign-in attempts are limited by.
func source(remoteAddr string) string {
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return h
	}
	return remoteAddr
}
