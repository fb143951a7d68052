package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// gofaxSend is one PUT /v1.0/SendFax as the fake GoFax received it.
type gofaxSend struct {
	ID          int
	SendTo      string
	Filename    string
	Document    []byte
	CallbackURL string
}

// fakeGoFax is GoFax's REST API on loopback: it takes PUT /v1.0/SendFax
// with the API token in the query, checks the JSON body as GoFax documents
// it, answers with the send id, and then (when auto) calls the fax's
// CallbackURL back with GoFax's fax-sent fields appended to the URL's
// query, twice, as a carrier retrying would. Numbers ending in 17 are
// busy.
type fakeGoFax struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	auto  bool

	mu     sync.Mutex
	sends  []gofaxSend
	nextID int
	done   sync.WaitGroup
}

func newFakeGoFax(t *testing.T, token string, auto bool) *fakeGoFax {
	f := &fakeGoFax{t: t, token: token, auto: auto, nextID: 100597944}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.done.Wait(); f.srv.Close() })
	return f
}

func (f *fakeGoFax) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || r.URL.Path != "/v1.0/SendFax" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if r.URL.Query().Get("token") != f.token {
		w.WriteHeader(http.StatusUnauthorized) // GoFax: 401, no body
		return
	}
	var req struct {
		SendTo    string
		Documents []struct{ Filename, Data string }
		// CallbackURL is optional in GoFax's API.
		CallbackURL string
	}
	bad := func(msg string) {
		f.t.Errorf("GoFax send: %s", msg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"Success": false, "Message": msg, "ValidationErrors": nil, "Response": nil})
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		bad("Content-Type " + ct + ", want application/json")
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		bad("body is not JSON: " + err.Error())
		return
	}
	if req.SendTo == "" || strings.Trim(req.SendTo, "0123456789") != "" {
		bad("SendTo " + strconv.Quote(req.SendTo) + " is not digits")
		return
	}
	if len(req.Documents) != 1 || req.Documents[0].Filename == "" {
		bad("want one document with a Filename")
		return
	}
	doc, err := base64.StdEncoding.DecodeString(req.Documents[0].Data)
	if err != nil || len(doc) == 0 {
		bad("document Data is not base64")
		return
	}
	f.mu.Lock()
	f.nextID++
	s := gofaxSend{ID: f.nextID, SendTo: req.SendTo, Filename: req.Documents[0].Filename, Document: doc, CallbackURL: req.CallbackURL}
	f.sends = append(f.sends, s)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"Documents": []map[string]any{{"Filename": s.Filename, "Message": "Initialised", "Submitted": true}},
		"Success":   true, "Message": nil, "ValidationErrors": nil, "Response": s.ID,
	})
	if !f.auto || s.CallbackURL == "" {
		return
	}
	f.done.Add(1)
	go func() {
		defer f.done.Done()
		ok, msg := true, "Fax successfully sent"
		if strings.HasSuffix(s.SendTo, "17") {
			ok, msg = false, "Busy - the receiving fax line was engaged"
		}
		for range 2 { // GoFax retries: one state change
			if code := gofaxCallback(f.t, s.CallbackURL, gofaxFields(s, ok, msg), true, ""); code != http.StatusOK {
				f.t.Errorf("GoFax callback for %d: got %d, want 200", s.ID, code)
			}
		}
	}()
}

func (f *fakeGoFax) requests() []gofaxSend {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gofaxSend(nil), f.sends...)
}

// gofaxFields are GoFax's fax-sent webhook fields for s.
func gofaxFields(s gofaxSend, ok bool, msg string) url.Values {
	success := "True"
	if !ok {
		success = "False"
	}
	return url.Values{"Recipient": {s.SendTo}, "ID": {strconv.Itoa(s.ID)}, "Success": {success}, "Message": {msg},
		"Subject": {""}}
}

// gofaxCallback posts a fax-sent webhook to target: with inQuery, the
// fields are appended to the URL's existing query and the body is empty,
// as GoFax does with a URL that already has parameters; otherwise they are
// the urlencoded body. auth is an Authorization header, or "".
func gofaxCallback(t *testing.T, target string, fields url.Values, inQuery bool, auth string) int {
	t.Helper()
	var body []byte
	if inQuery {
		u, err := url.Parse(target)
		if err != nil {
			t.Errorf("callback URL %q: %v", target, err)
			return 0
		}
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += fields.Encode()
		target = u.String()
	} else {
		body = []byte(fields.Encode())
	}
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("callback: %v", err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func gofaxGateway(t *testing.T, fake *fakeGoFax, opts ...gatewayOption) *gateway {
	t.Helper()
	addr := freeAddr(t)
	opts = append([]gatewayOption{
		withEnv("FAXGATE_ADDR", addr), withEnv("FAXGATE_PUBLIC_URL", "http://"+addr),
		withEnv("FAXGATE_PROVIDER", "gofax"), withEnv("GOFAX_TOKEN", fake.token), withEnv("GOFAX_BASE_URL", fake.srv.URL),
	}, opts...)
	g := startGateway(t, opts...)
	t.Cleanup(fake.done.Wait) // the fake's callbacks reach a running gateway
	return g
}

// waitHanded waits until the gateway recorded the carrier's id for the fax:
// GoFax has it, and an account-level webhook can be matched to it.
func (g *gateway) waitHanded(id string) faxObj {
	g.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var f faxObj
		g.do("GET", "/v1/faxes/"+id, nil, &f)
		if f.ProviderFaxID != nil && *f.ProviderFaxID != "" {
			return f
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("fax %s has no provider_fax_id after 20s: %+v", id, f)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventCounts counts the fax's timeline by event type.
func (g *gateway) eventCounts(id string) map[string]int {
	g.t.Helper()
	var timeline struct{ Data []struct{ Type string } }
	if code := g.do("GET", "/v1/faxes/"+id+"/events", nil, &timeline); code != http.StatusOK {
		g.t.Fatalf("events of %s: got %d", id, code)
	}
	count := map[string]int{}
	for _, e := range timeline.Data {
		count[e.Type]++
	}
	return count
}

// TestGoFaxSendEndToEnd: POST /v1/faxes → GoFax's SendFax (token in the
// query, digits, base64 document, a per-fax CallbackURL with its token) →
// GoFax's callback with its fields appended to that URL → sent, once,
// though GoFax calls twice; the user's endpoint gets a signed fax.sent.
func TestGoFaxSendEndToEnd(t *testing.T) {
	fake := newFakeGoFax(t, "0f9d3c2e-7b41-4a8e-9c55-1d2e3f4a5b6c", true)
	g := gofaxGateway(t, fake)
	r := newReceiver(t)
	g.endpoint(r, nil)
	f := g.send("+61755550123", textDoc)
	done := g.waitFax(f.ID)
	if done.Status != "sent" || done.Provider != "gofax" || done.ProviderFaxID == nil || *done.ProviderFaxID != "100597945" {
		t.Fatalf("got %+v, want sent with GoFax's id 100597945", done)
	}
	reqs := fake.requests()
	if len(reqs) != 1 {
		t.Fatalf("GoFax got %d sends, want 1", len(reqs))
	}
	s := reqs[0]
	if s.SendTo != "61755550123" {
		t.Errorf("SendTo: got %q, want 61755550123", s.SendTo)
	}
	if !bytes.HasPrefix(s.Document, []byte("%PDF-")) || !strings.HasSuffix(s.Filename, ".pdf") {
		t.Errorf("document: got %q with %.8q, want the fax's PDF", s.Filename, s.Document)
	}
	cb, err := url.Parse(s.CallbackURL)
	if err != nil {
		t.Fatalf("CallbackURL %q: %v", s.CallbackURL, err)
	}
	if got, want := cb.Scheme+"://"+cb.Host+cb.Path, g.url+"/gofax-callback"; got != want {
		t.Errorf("CallbackURL: got %s, want %s", got, want)
	}
	if q := cb.Query(); q.Get("job_id") != f.ID || len(q.Get("token")) < 32 {
		t.Errorf("CallbackURL query %q: want job_id=%s and an unguessable token", cb.RawQuery, f.ID)
	}
	if strings.Contains(s.CallbackURL, fake.token) {
		t.Error("the CallbackURL holds the GoFax API token")
	}
	fake.done.Wait()
	if ev := r.waitFor("fax.sent", f.ID); !ev.Valid {
		t.Error("fax.sent signature did not verify")
	}
	if count := g.eventCounts(f.ID); count["fax.sent"] != 1 || count["fax.failed"] != 0 {
		t.Errorf("timeline %v: want one fax.sent despite the repeat", count)
	}
	// A late contradicting report with the right token is acknowledged
	// (GoFax stops retrying) but changes nothing.
	if code := gofaxCallback(t, s.CallbackURL, gofaxFields(s, false, "Busy"), false, ""); code != http.StatusOK {
		t.Errorf("late failure: got %d, want 200", code)
	}
	if got := g.waitFax(f.ID); got.Status != "sent" {
		t.Errorf("a late failure moved a sent fax to %s", got.Status)
	}
	sent := 0
	for _, e := range r.got() {
		if e.Type == "fax.sent" && e.Data["id"] == f.ID {
			sent++
		}
		if !e.Valid {
			t.Errorf("%s: signature did not verify", e.Type)
		}
	}
	if sent != 1 {
		t.Errorf("receiver got fax.sent %d times, want 1", sent)
	}
}

// TestGoFaxBusy: Success=False with a busy message fails the fax as busy,
// keeping GoFax's words out of the user-facing code.
func TestGoFaxBusy(t *testing.T) {
	fake := newFakeGoFax(t, "gofax-token", true)
	g := gofaxGateway(t, fake)
	r := newReceiver(t)
	g.endpoint(r, nil)
	f := g.send("+61755550117", textDoc)
	done := g.waitFax(f.ID)
	if done.Status != "failed" || done.Error == nil || done.Error.Code != "busy" {
		t.Fatalf("got %+v, want failed busy", done)
	}
	fake.done.Wait()
	if ev := r.waitFor("fax.failed", f.ID); !ev.Valid {
		t.Error("fax.failed signature did not verify")
	}
	if count := g.eventCounts(f.ID); count["fax.failed"] != 1 || count["fax.sent"] != 0 {
		t.Errorf("timeline %v: want one fax.failed despite the repeat", count)
	}
}

// TestGoFaxCallbackForgeries: while a fax is with GoFax, callbacks with a
// wrong token, another fax's token, no credentials or wrong Basic
// credentials are refused with 401 and change nothing; GoFax's own report
// then applies.
func TestGoFaxCallbackForgeries(t *testing.T) {
	fake := newFakeGoFax(t, "gofax-token", false)
	g := gofaxGateway(t, fake, withEnv("GOFAX_WEBHOOK_USER", "gofax-hook"), withEnv("GOFAX_WEBHOOK_PASS", "hook-pass"))
	a := g.send("+61755550123", textDoc)
	b := g.send("+61755550124", textDoc)
	g.waitHanded(a.ID)
	g.waitHanded(b.ID)
	sends := map[string]gofaxSend{}
	for _, s := range fake.requests() {
		u, _ := url.Parse(s.CallbackURL)
		sends[u.Query().Get("job_id")] = s
	}
	sa, sb := sends[a.ID], sends[b.ID]
	if sa.CallbackURL == "" || sb.CallbackURL == "" {
		t.Fatalf("GoFax got %+v, want a CallbackURL for each fax", fake.requests())
	}
	tokenB := func() string { u, _ := url.Parse(sb.CallbackURL); return u.Query().Get("token") }()
	withToken := func(tok string) string {
		return g.url + "/gofax-callback?" + url.Values{"job_id": {a.ID}, "token": {tok}}.Encode()
	}
	forged := gofaxFields(sa, false, "Busy")
	for name, tc := range map[string]struct {
		target, auth string
		inQuery      bool
	}{
		"wrong token":           {withToken("0000000000000000000000000000000000000000000000"), "", true},
		"wrong token in body":   {withToken("nope"), "", false},
		"other fax's token":     {withToken(tokenB), "", true},
		"empty token":           {withToken(""), "", true},
		"no credentials":        {g.url + "/gofax-callback", "", false},
		"job_id only":           {g.url + "/gofax-callback?job_id=" + a.ID, "", true},
		"wrong Basic password":  {g.url + "/gofax-callback", basicAuth("gofax-hook", "nope"), false},
		"wrong Basic user":      {g.url + "/gofax-callback", basicAuth("someone", "hook-pass"), false},
		"API token as password": {g.url + "/gofax-callback", basicAuth("gofax-hook", fake.token), false},
	} {
		if code := gofaxCallback(t, tc.target, forged, tc.inQuery, tc.auth); code != http.StatusUnauthorized {
			t.Errorf("%s: got %d, want 401", name, code)
		}
	}
	for _, id := range []string{a.ID, b.ID} {
		var f faxObj
		g.do("GET", "/v1/faxes/"+id, nil, &f)
		if f.Status != "sending" {
			t.Errorf("fax %s: got %s after forged callbacks, want still sending", id, f.Status)
		}
		if count := g.eventCounts(id); count["fax.failed"] != 0 || count["fax.sent"] != 0 {
			t.Errorf("fax %s timeline %v: want no outcome from forgeries", id, count)
		}
	}
	// GoFax's real report, through the CallbackURL it was given.
	if code := gofaxCallback(t, sa.CallbackURL, gofaxFields(sa, true, "Fax successfully sent"), true, ""); code != http.StatusOK {
		t.Fatalf("real callback: got %d, want 200", code)
	}
	if got := g.waitFax(a.ID); got.Status != "sent" {
		t.Errorf("got %+v, want sent", got)
	}
}

// TestGoFaxAccountWebhook: GoFax's account-level fax-sent webhook (set in
// its portal, so with Basic auth and without the per-fax job_id and token)
// is matched to the fax by GoFax's ID; repeated, it changes the fax once.
func TestGoFaxAccountWebhook(t *testing.T) {
	fake := newFakeGoFax(t, "gofax-token", false)
	g := gofaxGateway(t, fake, withEnv("GOFAX_WEBHOOK_USER", "gofax-hook"), withEnv("GOFAX_WEBHOOK_PASS", "hook-pass"))
	r := newReceiver(t)
	g.endpoint(r, nil)
	ok := g.send("+61755550123", textDoc)
	busy := g.send("+61755550125", textDoc)
	ids := map[string]gofaxSend{}
	for _, f := range []faxObj{ok, busy} {
		h := g.waitHanded(f.ID)
		for _, s := range fake.requests() {
			if strconv.Itoa(s.ID) == *h.ProviderFaxID {
				ids[f.ID] = s
			}
		}
	}
	if len(ids) != 2 {
		t.Fatalf("provider ids %v do not match GoFax's sends %+v", ids, fake.requests())
	}
	account := g.url + "/gofax-callback"
	auth := basicAuth("gofax-hook", "hook-pass")
	for range 2 {
		if code := gofaxCallback(t, account, gofaxFields(ids[ok.ID], true, "Fax successfully sent"), false, auth); code != http.StatusOK {
			t.Fatalf("account webhook: got %d, want 200", code)
		}
		if code := gofaxCallback(t, account, gofaxFields(ids[busy.ID], false, "Line busy"), false, auth); code != http.StatusOK {
			t.Fatalf("account webhook: got %d, want 200", code)
		}
	}
	if got := g.waitFax(ok.ID); got.Status != "sent" {
		t.Errorf("got %+v, want sent", got)
	}
	if got := g.waitFax(busy.ID); got.Status != "failed" || got.Error == nil || got.Error.Code != "busy" {
		t.Errorf("got %+v, want failed busy", got)
	}
	if ev := r.waitFor("fax.sent", ok.ID); !ev.Valid {
		t.Error("fax.sent signature did not verify")
	}
	if ev := r.waitFor("fax.failed", busy.ID); !ev.Valid {
		t.Error("fax.failed signature did not verify")
	}
	for id, typ := range map[string]string{ok.ID: "fax.sent", busy.ID: "fax.failed"} {
		if count := g.eventCounts(id); count[typ] != 1 || count["fax.sent"]+count["fax.failed"] != 1 {
			t.Errorf("fax %s timeline %v: want one %s", id, count, typ)
		}
	}
	// An account-level report for an id GoFax never gave faxgate is
	// acknowledged and touches no fax.
	stray := gofaxSend{ID: 999999999, SendTo: "61755550123"}
	if code := gofaxCallback(t, account, gofaxFields(stray, false, "Busy"), false, auth); code != http.StatusOK {
		t.Errorf("unknown id: got %d, want 200", code)
	}
	if got := g.waitFax(ok.ID); got.Status != "sent" {
		t.Errorf("an unknown id's report moved a fax to %s", got.Status)
	}
}
