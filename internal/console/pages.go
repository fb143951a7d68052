package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
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

// --- sign-in ---

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

// --- faxes ---

type faxesData struct {
	Direction, Status, Q string
	Faxes                []wire.Fax
	Next                 string
	Statuses             []string
}

func (c *Console) handleFaxes(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	d := faxesData{Direction: q.Get("direction"), Status: q.Get("status"), Q: strings.TrimSpace(q.Get("q")),
		Statuses: []string{"queued", "sending", "sent", "failed", "canceled", "received", "partial"}}
	if d.Direction == "" {
		d.Direction = "outbound"
	}
	var list wire.List[wire.Fax]
	path := "/v1/faxes" + query("direction", d.Direction, "status", d.Status, "limit", "50", "cursor", q.Get("cursor"))
	if err := c.callJSON(r, p, "GET", path, nil, &list); err != nil {
		return err
	}
	// The API has no number filter here: the console narrows the page it
	// read to the faxes whose number contains the digits searched for.
	digits := onlyDigits(d.Q)
	for _, f := range list.Data {
		if digits == "" || strings.Contains(onlyDigits(f.To), digits) || strings.Contains(onlyDigits(f.From), digits) {
			d.Faxes = append(d.Faxes, f)
		}
	}
	if list.NextCursor != nil {
		d.Next = query("direction", d.Direction, "status", d.Status, "q", d.Q, "cursor", *list.NextCursor)
	}
	title := "Outbox"
	if d.Direction == "inbound" {
		title = "Inbox"
	}
	c.render(w, r, http.StatusOK, "faxes", p, &view{Title: title, Nav: d.Direction, Data: d})
	return nil
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

type faxData struct {
	Fax    wire.Fax
	Events []wire.Event
}

func (c *Console) handleFax(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var d faxData
	if err := c.callJSON(r, p, "GET", "/v1/faxes/"+url.PathEscape(id), nil, &d.Fax); err != nil {
		return err
	}
	var ev wire.List[wire.Event]
	if err := c.callJSON(r, p, "GET", "/v1/faxes/"+url.PathEscape(id)+"/events", nil, &ev); err != nil {
		return err
	}
	d.Events = ev.Data
	nav := "outbound"
	if d.Fax.Direction == "inbound" {
		nav = "inbound"
	}
	c.render(w, r, http.StatusOK, "fax", p, &view{Title: "Fax " + d.Fax.ID, Nav: nav, Data: d})
	return nil
}

// handleFaxJSON is the polling route of console.js: the API's fax object.
func (c *Console) handleFaxJSON(w http.ResponseWriter, r *http.Request, p *principal) error {
	rec := c.call(r, p, "GET", "/v1/faxes/"+url.PathEscape(r.PathValue("id")), nil, "")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.code)
	w.Write(rec.body.Bytes())
	return nil
}

// handleFaxDocument streams the API's PDF; ?inline=1 lets the fax's page
// show it in a frame of its own origin.
func (c *Console) handleFaxDocument(w http.ResponseWriter, r *http.Request, p *principal) error {
	req, err := http.NewRequestWithContext(r.Context(), "GET", "/v1/faxes/"+url.PathEscape(r.PathValue("id"))+"/document", nil)
	if err != nil {
		return err
	}
	req.RemoteAddr = r.RemoteAddr
	if r.URL.Query().Get("inline") == "1" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'self'")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w = &inlineWriter{ResponseWriter: w}
	}
	c.opts.API.ServeAs(p.key, w, req)
	return nil
}

// inlineWriter turns the API's attachment into an inline document.
type inlineWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *inlineWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if cd := w.Header().Get("Content-Disposition"); strings.HasPrefix(cd, "attachment") {
			w.Header().Set("Content-Disposition", "inline"+strings.TrimPrefix(cd, "attachment"))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *inlineWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (c *Console) handleFaxCancel(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if err := c.callJSON(r, p, "POST", "/v1/faxes/"+url.PathEscape(id)+"/cancel", nil, nil); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.fax_cancel", "fax", id, "ok")
	redirect(w, r, Prefix+"/faxes/"+url.PathEscape(id), "canceled")
	return nil
}

// handleFaxResend sends the fax's document again to the same number.
func (c *Console) handleFaxResend(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var f wire.Fax
	if err := c.callJSON(r, p, "GET", "/v1/faxes/"+url.PathEscape(id), nil, &f); err != nil {
		return err
	}
	doc := c.call(r, p, "GET", "/v1/faxes/"+url.PathEscape(id)+"/document", nil, "")
	if err := decodeAnswer(doc, nil); err != nil {
		return err
	}
	if f.Direction != "outbound" {
		return fax.Errorf(fax.ECodeInvalid, "only a sent fax can be sent again")
	}
	fields := map[string]string{"to": f.To}
	if f.HeaderText != nil {
		fields["header_text"] = *f.HeaderText
	}
	return c.send(w, r, p, fields, f.ID+".pdf", doc.body.Bytes(), "console.fax_resend")
}

func (c *Console) handleSendPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	// The form posts nowhere the key could go: say so, as the API would.
	if !p.key.Has(fax.ScopeFaxSend) {
		return fax.Errorf(fax.ECodeForbidden, "this API key lacks the %s scope", fax.ScopeFaxSend)
	}
	c.render(w, r, http.StatusOK, "send", p, &view{Title: "Send a fax", Nav: "send"})
	return nil
}

func (c *Console) handleSend(w http.ResponseWriter, r *http.Request, p *principal) error {
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return fax.Errorf(fax.ECodeInvalid, "choose a document to send")
	}
	defer file.Close()
	b, err := io.ReadAll(file)
	if err != nil {
		return err
	}
	fields := map[string]string{}
	for _, name := range []string{"header_text", "callback_url"} {
		if v := strings.TrimSpace(r.FormValue(name)); v != "" {
			fields[name] = v
		}
	}
	fields["to"] = strings.TrimSpace(r.FormValue("to"))
	return c.send(w, r, p, fields, hdr.Filename, b, "console.fax_send")
}

// send posts a multipart send to the API; numbers separated by commas,
// spaces or lines become one fax each, as the API's repeated "to" does.
func (c *Console) send(w http.ResponseWriter, r *http.Request, p *principal, fields map[string]string, filename string, doc []byte, action string) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	to := strings.FieldsFunc(fields["to"], func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == ';' })
	if len(to) == 0 {
		return fax.Errorf(fax.ECodeInvalid, "enter the number to send to, such as +15551234567")
	}
	var sent []wire.Fax
	for _, n := range to {
		body.Reset()
		mw = multipart.NewWriter(&body)
		mw.WriteField("to", n)
		for k, v := range fields {
			if k != "to" {
				mw.WriteField(k, v)
			}
		}
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			return err
		}
		fw.Write(doc)
		mw.Close()
		var f wire.Fax
		if err := decodeAnswer(c.call(r, p, "POST", "/v1/faxes", &body, mw.FormDataContentType()), &f); err != nil {
			if len(sent) > 0 {
				return fmt.Errorf("%w (after %d of %d faxes were queued)", err, len(sent), len(to))
			}
			return err
		}
		sent = append(sent, f)
		c.audit(r, p.key.ID, action, "fax", f.ID, "ok")
	}
	if len(sent) == 1 && p.key.Has(fax.ScopeFaxRead) {
		redirect(w, r, Prefix+"/faxes/"+url.PathEscape(sent[0].ID), "sent")
		return nil
	}
	c.render(w, r, http.StatusAccepted, "sent", p, &view{Title: "Sent", Nav: "send", Data: sent})
	return nil
}

func (c *Console) handleReceive(w http.ResponseWriter, r *http.Request, p *principal) error {
	in := map[string]any{"from": "+15550100" + fmt.Sprintf("%03d", c.now().Nanosecond()/1e6), "to": "+15550199999", "pages": 1}
	var f wire.Fax
	if err := c.callJSON(r, p, "POST", "/v1/simulator/inbound", in, &f); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.simulator_receive", "fax", f.ID, "ok")
	if p.key.Has(fax.ScopeFaxRead) {
		redirect(w, r, Prefix+"/faxes/"+url.PathEscape(f.ID), "received")
		return nil
	}
	redirect(w, r, Prefix+"/send", "received")
	return nil
}

// --- webhook endpoints ---

type endpointsData struct {
	Endpoints []endpointRow
	Next      string
	Created   *wire.Endpoint // shown once, with its secret
}

type endpointRow struct {
	wire.Endpoint
	LastSuccess, FailingSince string
}

var eventTypes = []string{"fax.sent", "fax.failed", "fax.canceled", "fax.received", "sms.sent", "sms.failed",
	"fax.queued", "fax.sending", "fax.page_sent", "fax.retry_scheduled"}

func (c *Console) handleEndpoints(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.renderEndpoints(w, r, p, http.StatusOK, nil)
}

func (c *Console) renderEndpoints(w http.ResponseWriter, r *http.Request, p *principal, status int, created *wire.Endpoint) error {
	var list wire.List[wire.Endpoint]
	if err := c.callJSON(r, p, "GET", "/v1/webhook-endpoints"+query("limit", "25", "cursor", r.URL.Query().Get("cursor")), nil, &list); err != nil {
		return err
	}
	d := endpointsData{Created: created}
	for _, e := range list.Data {
		d.Endpoints = append(d.Endpoints, c.endpointHealth(r, p, e))
	}
	if list.NextCursor != nil {
		d.Next = query("cursor", *list.NextCursor)
	}
	c.render(w, r, status, "endpoints", p, &view{Title: "Webhook endpoints", Nav: "endpoints", Data: d})
	return nil
}

// endpointHealth reads an endpoint's last success and how long it has
// been failing from its newest deliveries.
func (c *Console) endpointHealth(r *http.Request, p *principal, e wire.Endpoint) endpointRow {
	row := endpointRow{Endpoint: e}
	var ds wire.List[wire.Delivery]
	if c.callJSON(r, p, "GET", "/v1/deliveries"+query("endpoint_id", e.ID, "limit", "20"), nil, &ds) != nil {
		return row
	}
	for _, d := range ds.Data {
		if d.Status == "succeeded" {
			row.LastSuccess = d.UpdatedAt
			break
		}
		if n := len(d.Attempts); d.Status == "failed" || n > 0 && attemptFailed(d.Attempts[n-1]) {
			row.FailingSince = d.CreatedAt
		}
	}
	return row
}

// attemptFailed reports an attempt that did not end in a 2xx, as the
// delivery worker counts it.
func attemptFailed(a wire.Attempt) bool {
	return a.Error != "" || a.StatusCode < 200 || a.StatusCode > 299
}

func endpointForm(r *http.Request) map[string]any {
	events := r.Form["events"]
	in := map[string]any{
		"url": strings.TrimSpace(r.FormValue("url")), "format": r.FormValue("format"),
		"inflight": r.FormValue("inflight") == "1", "description": strings.TrimSpace(r.FormValue("description")),
	}
	// A key that may not read faxes sees the numbers masked and has no
	// numbers field: leaving them out keeps them as they are.
	if _, ok := r.Form["numbers"]; ok {
		numbers := strings.FieldsFunc(r.FormValue("numbers"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' })
		if numbers == nil {
			numbers = []string{}
		}
		in["numbers"] = numbers
	}
	if len(events) > 0 {
		in["events"] = events
	}
	return in
}

func (c *Console) handleEndpointCreate(w http.ResponseWriter, r *http.Request, p *principal) error {
	var e wire.Endpoint
	if err := c.callJSON(r, p, "POST", "/v1/webhook-endpoints", endpointForm(r), &e); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.webhook_endpoint_create", "webhook_endpoint", e.ID, "ok")
	return c.renderEndpoints(w, r, p, http.StatusCreated, &e)
}

type endpointData struct {
	Endpoint   wire.Endpoint
	Secret     string // shown once after a rotation
	EventTypes []string
	Since      string
}

func (c *Console) handleEndpoint(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.renderEndpoint(w, r, p, "")
}

func (c *Console) renderEndpoint(w http.ResponseWriter, r *http.Request, p *principal, secret string) error {
	d := endpointData{EventTypes: eventTypes, Secret: secret, Since: c.now().UTC().Add(-24 * time.Hour).Format(time.RFC3339)}
	if err := c.callJSON(r, p, "GET", "/v1/webhook-endpoints/"+url.PathEscape(r.PathValue("id")), nil, &d.Endpoint); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "endpoint", p, &view{Title: "Endpoint " + d.Endpoint.ID, Nav: "endpoints", Data: d})
	return nil
}

func (c *Console) handleEndpointUpdate(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	in := endpointForm(r)
	if _, ok := in["events"]; !ok {
		in["events"] = []string{}
	}
	if err := c.callJSON(r, p, "PATCH", "/v1/webhook-endpoints/"+url.PathEscape(id), in, nil); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.webhook_endpoint_update", "webhook_endpoint", id, "ok")
	redirect(w, r, Prefix+"/endpoints/"+url.PathEscape(id), "updated")
	return nil
}

func (c *Console) handleEndpointAction(w http.ResponseWriter, r *http.Request, p *principal) error {
	id, action := r.PathValue("id"), r.PathValue("action")
	base := "/v1/webhook-endpoints/" + url.PathEscape(id)
	back := Prefix + "/endpoints/" + url.PathEscape(id)
	var err error
	done := action
	switch action {
	case "enable", "disable":
		err = c.callJSON(r, p, "PATCH", base, map[string]bool{"enabled": action == "enable"}, nil)
		done += "d"
	case "delete":
		err = c.callJSON(r, p, "DELETE", base, nil, nil)
		back, done = Prefix+"/endpoints", "deleted"
	case "test":
		err = c.callJSON(r, p, "POST", base+"/test", nil, nil)
	case "retry-failed":
		since := strings.TrimSpace(r.FormValue("since"))
		if t, perr := time.Parse("2006-01-02T15:04", since); perr == nil {
			since = t.UTC().Format(time.RFC3339)
		}
		err = c.callJSON(r, p, "POST", base+"/retry-failed", map[string]string{"since": since}, nil)
		back = Prefix + "/deliveries" + query("endpoint_id", id)
	case "rotate":
		var e wire.Endpoint
		if err := c.callJSON(r, p, "POST", base+"/rotate-secret", map[string]any{}, &e); err != nil {
			return err
		}
		c.audit(r, p.key.ID, "console.webhook_endpoint_rotate", "webhook_endpoint", id, "ok")
		return c.renderEndpoint(w, r, p, e.Secret)
	default:
		return fax.Errorf(fax.ECodeNotFound, "no endpoint action %q", action)
	}
	if err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.webhook_endpoint_"+strings.ReplaceAll(action, "-", "_"), "webhook_endpoint", id, "ok")
	redirect(w, r, back, done)
	return nil
}

// --- deliveries ---

type deliveriesData struct {
	EndpointID, Status, EventType string
	Endpoints                     []wire.Endpoint
	Deliveries                    []wire.Delivery
	Next                          string
	EventTypes                    []string
	Since                         string
}

func (c *Console) handleDeliveries(w http.ResponseWriter, r *http.Request, p *principal) error {
	q := r.URL.Query()
	d := deliveriesData{EndpointID: q.Get("endpoint_id"), Status: q.Get("status"), EventType: q.Get("event_type"), EventTypes: append([]string{"webhook.test"}, eventTypes...),
		Since: c.now().Add(-24 * time.Hour).Format("2006-01-02T15:04")}
	var eps wire.List[wire.Endpoint]
	if err := c.callJSON(r, p, "GET", "/v1/webhook-endpoints?limit=100", nil, &eps); err != nil {
		return err
	}
	d.Endpoints = eps.Data
	var list wire.List[wire.Delivery]
	path := "/v1/deliveries" + query("endpoint_id", d.EndpointID, "status", d.Status, "limit", "50", "cursor", q.Get("cursor"))
	if err := c.callJSON(r, p, "GET", path, nil, &list); err != nil {
		return err
	}
	// The API filters by endpoint and status; the event type narrows the
	// page read, as the fax search does.
	for _, x := range list.Data {
		if d.EventType == "" || x.EventType == d.EventType {
			d.Deliveries = append(d.Deliveries, x)
		}
	}
	if list.NextCursor != nil {
		d.Next = query("endpoint_id", d.EndpointID, "status", d.Status, "event_type", d.EventType, "cursor", *list.NextCursor)
	}
	c.render(w, r, http.StatusOK, "deliveries", p, &view{Title: "Deliveries", Nav: "deliveries", Data: d})
	return nil
}

func (c *Console) handleDelivery(w http.ResponseWriter, r *http.Request, p *principal) error {
	var d wire.Delivery
	if err := c.callJSON(r, p, "GET", "/v1/deliveries/"+url.PathEscape(r.PathValue("id")), nil, &d); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "delivery", p, &view{Title: "Delivery " + d.ID, Nav: "deliveries", Data: d})
	return nil
}

func (c *Console) handleDeliveryRetry(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if err := c.callJSON(r, p, "POST", "/v1/deliveries/"+url.PathEscape(id)+"/retry", nil, nil); err != nil {
		return err
	}
	c.audit(r, p.key.ID, "console.delivery_retry", "delivery", id, "ok")
	redirect(w, r, Prefix+"/deliveries/"+url.PathEscape(id), "retried")
	return nil
}

// --- API keys, audit, health ---

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
