package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/wire"
)

func (c *Console) routes(static http.Handler) {
	m := c.mux
	page := func(h handler) http.Handler { return c.signedIn(h, true) }
	m.Handle("GET "+Prefix+"/static/", static)
	m.HandleFunc("GET "+Prefix+"/sign-in", c.handleSignInPage)
	m.HandleFunc("POST "+Prefix+"/sign-in", c.handleSignIn)
	m.Handle("POST "+Prefix+"/sign-out", page(c.handleSignOut))
	m.Handle("GET "+Prefix+"/{$}", page(c.handleHome))
	m.Handle("GET "+Prefix+"/api/faxes/{id}", c.signedIn(c.handleFaxJSON, false))

	m.Handle("GET "+Prefix+"/faxes", page(c.handleFaxes))
	m.Handle("GET "+Prefix+"/faxes/{id}", page(c.handleFax))
	m.Handle("GET "+Prefix+"/faxes/{id}/document", page(c.handleFaxDocument))
	m.Handle("POST "+Prefix+"/faxes/{id}/cancel", page(c.handleFaxCancel))
	m.Handle("POST "+Prefix+"/faxes/{id}/resend", page(c.handleFaxResend))
	m.Handle("GET "+Prefix+"/send", page(c.handleSendPage))
	m.Handle("POST "+Prefix+"/send", page(c.handleSend))
	m.Handle("POST "+Prefix+"/receive", page(c.handleReceive))

	m.Handle("GET "+Prefix+"/endpoints", page(c.handleEndpoints))
	m.Handle("POST "+Prefix+"/endpoints", page(c.handleEndpointCreate))
	m.Handle("GET "+Prefix+"/endpoints/{id}", page(c.handleEndpoint))
	m.Handle("POST "+Prefix+"/endpoints/{id}", page(c.handleEndpointUpdate))
	m.Handle("POST "+Prefix+"/endpoints/{id}/{action}", page(c.handleEndpointAction))

	m.Handle("GET "+Prefix+"/deliveries", page(c.handleDeliveries))
	m.Handle("GET "+Prefix+"/deliveries/{id}", page(c.handleDelivery))
	m.Handle("POST "+Prefix+"/deliveries/{id}/retry", page(c.handleDeliveryRetry))

	m.Handle("GET "+Prefix+"/keys", page(c.handleKeys))
	m.Handle("POST "+Prefix+"/keys", page(c.handleKeyCreate))
	m.Handle("POST "+Prefix+"/keys/{id}/revoke", page(c.handleKeyRevoke))
	m.Handle("GET "+Prefix+"/audit", page(c.handleAudit))
	m.Handle("GET "+Prefix+"/health", page(c.handleHealth))
	m.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, nil, fax.Errorf(fax.ECodeNotFound, "no console page %s", r.URL.Path))
	})
}

// view is what every page template gets.
type view struct {
	Title     string
	Nav       string
	Key       *fax.APIKey
	CSRF      string
	Flash     string
	Error     string
	Simulator bool
	Data      any
}

func (v *view) Has(scope string) bool { return v.Key != nil && v.Key.Has(fax.Scope(scope)) }

// Num shows a number whole only to a key that may read faxes, and masked
// as the logs mask it otherwise.
func (v *view) Num(s string) string {
	if v.Has(string(fax.ScopeFaxRead)) {
		return s
	}
	return fax.MaskNumber(s)
}

var funcs = template.FuncMap{
	"final": func(status string) bool {
		switch status {
		case "queued", "sending", "receiving":
			return false
		}
		return true
	},
	"join": strings.Join,
	"age":  func(d time.Duration) string { return d.Round(time.Second).String() },
	"fields": func(v *view, e wire.Endpoint) any {
		return struct {
			V *view
			E wire.Endpoint
		}{v, e}
	},
	"list3":       func(a, b, c string) []string { return []string{a, b, c} },
	"events":      func() []string { return eventTypes },
	"newEndpoint": func() wire.Endpoint { return wire.Endpoint{Format: "json"} },
	"lastAttempt": func(as []wire.Attempt) *wire.Attempt {
		if len(as) == 0 {
			return nil
		}
		return &as[len(as)-1]
	},
	"has": func(list []string, s string) bool { return contains(list, s) },
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *principal, v *view) {
	if p != nil {
		v.Key, v.CSRF = p.key, p.sess.CSRF
	}
	v.Simulator = c.opts.Simulator
	if v.Flash == "" {
		v.Flash = flashes[r.URL.Query().Get("done")]
	}
	var buf bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		c.log.ErrorContext(r.Context(), "console template", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// flashes are the messages a redirect after an action may show, by name,
// so that no text from the query string is ever rendered.
var flashes = map[string]string{
	"canceled": "The fax was canceled.", "sent": "The fax was queued.", "received": "The simulator received a test fax.",
	"updated": "The endpoint was saved.", "enabled": "The endpoint was enabled.", "disabled": "The endpoint was disabled.",
	"deleted": "The endpoint was deleted.", "test": "A test event was queued.", "retried": "The delivery was queued again.",
	"retried-failed": "Failed deliveries were queued again.", "revoked": "The key was revoked.",
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *principal, err error) {
	st := statusOf(err)
	if st >= 500 {
		c.log.ErrorContext(r.Context(), "console", "path", r.URL.Path, "err", err)
	}
	c.render(w, r, st, "error", p, &view{Title: http.StatusText(st), Error: messageOf(err)})
}

func redirect(w http.ResponseWriter, r *http.Request, path, done string) {
	if done != "" {
		path += query("done", done)
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func urlEscape(s string) string { return url.QueryEscape(s) }

var signInReasons = map[string]string{
	"expired": "Your session has ended. Sign in again.", "revoked": "The key of your session was revoked.",
	"unavailable": "The gateway could not check your session; try again.", "signed-out": "You are signed out.",
}

func (c *Console) handleSignInPage(w http.ResponseWriter, r *http.Request) {
	if p, _ := c.session(r, false); p != nil {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "signin", nil, &view{Title: "Sign in", Flash: signInReasons[r.URL.Query().Get("why")]})
}

func (c *Console) handleSignIn(w http.ResponseWriter, r *http.Request) {
	now := c.now()
	if c.opts.SignInLimiter != nil {
		if ok, wait := c.opts.SignInLimiter.Allow(source(r.RemoteAddr), now); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			c.refused(r, "rate limited")
			c.render(w, r, http.StatusTooManyRequests, "signin", nil, &view{Title: "Sign in", Error: "Too many sign-in attempts from your address; wait a minute and try again."})
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	key := strings.TrimSpace(r.PostFormValue("key"))
	k, err := c.opts.API.Authenticate(r.Context(), key)
	if err != nil {
		if fax.ErrorCode(err) != fax.ECodeUnauthorized {
			c.fail(w, r, nil, err)
			return
		}
		c.refused(r, "invalid key")
		c.render(w, r, http.StatusUnauthorized, "signin", nil, &view{Title: "Sign in", Error: "That key is not valid."})
		return
	}
	// A sign-in replaces the browser's previous session, if any.
	if old, err := r.Cookie(cookieName); err == nil && len(old.Value) == 64 {
		c.opts.Sessions.DeleteSession(r.Context(), tokenHash(old.Value))
	}
	token := hex.EncodeToString(randomBytes(32))
	se := &fax.Session{ID: tokenHash(token), KeyID: k.ID, KeyHash: k.Hash, CSRF: hex.EncodeToString(randomBytes(32)),
		CreatedAt: now.UTC(), LastSeenAt: now.UTC(), ExpiresAt: now.UTC().Add(c.opts.MaxAge)}
	if err := c.opts.Sessions.CreateSession(r.Context(), se); err != nil {
		c.fail(w, r, nil, err)
		return
	}
	if _, err := c.opts.Sessions.DeleteExpiredSessions(r.Context(), now.Add(-c.opts.Idle).UTC(), now.UTC()); err != nil {
		c.log.WarnContext(r.Context(), "console sessions purge", "err", err)
	}
	c.audit(r, k.ID, "console.sign_in", "api_key", k.ID, "ok")
	c.log.InfoContext(r.Context(), "console sign-in", "key_id", k.ID)
	c.setCookie(w, r, token)
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
}

func (c *Console) refused(r *http.Request, reason string) {
	if c.opts.Refused != nil {
		c.opts.Refused(r.Context(), "console", "console.sign_in_failed", "POST "+Prefix+"/sign-in", r.RemoteAddr, reason)
	}
}

func (c *Console) handleSignOut(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := c.opts.Sessions.DeleteSession(r.Context(), p.sess.ID); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.sign_out", "api_key", p.key.ID, "ok")
	c.clearCookie(w, r)
	http.Redirect(w, r, Prefix+"/sign-in?why=signed-out", http.StatusSeeOther)
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func (c *Console) handleHome(w http.ResponseWriter, r *http.Request, p *principal) error {
	switch {
	case p.key.Has(fax.ScopeFaxRead):
		http.Redirect(w, r, Prefix+"/faxes", http.StatusSeeOther)
	case p.key.Has(fax.ScopeFaxSend):
		http.Redirect(w, r, Prefix+"/send", http.StatusSeeOther)
	case p.key.Has(fax.ScopeWebhooksManage):
		http.Redirect(w, r, Prefix+"/endpoints", http.StatusSeeOther)
	case p.key.Has(fax.ScopeKeysManage):
		http.Redirect(w, r, Prefix+"/keys", http.StatusSeeOther)
	default:
		http.Redirect(w, r, Prefix+"/health", http.StatusSeeOther)
	}
	return nil
}

type keysData struct {
	Keys    []wire.APIKey
	Created *wire.APIKey
	Scopes  []string
}

func (c *Console) handleKeys(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.renderKeys(w, r, p, http.StatusOK, nil)
}

func (c *Console) renderKeys(w http.ResponseWriter, r *http.Request, p *principal, status int, created *wire.APIKey) error {
	var list wire.List[wire.APIKey]
	if err := c.callJSON(r, p, "GET", "/v1/api-keys", nil, &list); err != nil {
		return err
	}
	d := keysData{Keys: list.Data, Created: created}
	for _, s := range fax.AllScopes() {
		if p.key.Has(s) {
			d.Scopes = append(d.Scopes, string(s))
		}
	}
	c.render(w, r, status, "keys", p, &view{Title: "API keys", Nav: "keys", Data: d})
	return nil
}

func (c *Console) handleKeyCreate(w http.ResponseWriter, r *http.Request, p *principal) error {
	var k wire.APIKey
	in := map[string]any{"name": r.FormValue("name"), "scopes": append([]string{}, r.Form["scopes"]...)}
	if err := c.callJSON(r, p, "POST", "/v1/api-keys", in, &k); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.api_key_create", "api_key", k.ID, "ok")
	return c.renderKeys(w, r, p, http.StatusCreated, &k)
}

func (c *Console) handleKeyRevoke(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if err := c.callJSON(r, p, "DELETE", "/v1/api-keys/"+url.PathEscape(id), nil, nil); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.api_key_revoke", "api_key", id, "ok")
	redirect(w, r, Prefix+"/keys", "revoked")
	return nil
}

type auditData struct {
	Entries      []wire.AuditEntry
	Next, Action string
}

func (c *Console) handleAudit(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	d := auditData{Action: q.Get("action")}
	var list wire.List[wire.AuditEntry]
	if err := c.callJSON(r, p, "GET", "/v1/audit"+query("action", d.Action, "limit", "100", "cursor", q.Get("cursor")), nil, &list); err != nil {
		return err
	}
	d.Entries = list.Data
	if list.NextCursor != nil {
		d.Next = query("action", d.Action, "cursor", *list.NextCursor)
	}
	c.render(w, r, http.StatusOK, "audit", p, &view{Title: "Audit trail", Nav: "audit", Data: d})
	return nil
}

type healthData struct {
	Ready    bool
	Figures  bool
	Problem  string
	Carriers []string
	Queues   []fax.QueueStats
}

func (c *Console) handleHealth(w http.ResponseWriter, r *http.Request, p *principal) error {
	var d healthData
	err := c.callJSON(r, p, "GET", "/readyz", nil, nil)
	d.Ready = err == nil
	if err != nil {
		d.Problem = messageOf(err)
	}
	// Queue figures are what /metrics shows, so they take its scope.
	d.Figures = p.key.Has(fax.ScopeMetricsRead)
	if c.opts.Health != nil && d.Figures {
		h, err := c.opts.Health(r.Context())
		if err != nil && !errors.Is(err, context.Canceled) {
			c.log.WarnContext(r.Context(), "console health", "err", err)
		}
		d.Carriers, d.Queues = h.Carriers, h.Queues
	}
	c.render(w, r, http.StatusOK, "health", p, &view{Title: "Health", Nav: "health", Data: d})
	return nil
}
