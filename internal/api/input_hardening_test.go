package api

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// errorOf reads the JSON error shape of rec.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code, Message string
			RequestID     string `json:"request_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
		t.Fatalf("%d %q is not the JSON error shape: %v", rec.Code, rec.Body, err)
	}
	return e.Error.Code, e.Error.Message
}

// storedKey makes an API key with scopes in st and returns its secret.
func storedKey(t *testing.T, st *sqlite.Store, name string, scopes ...fax.Scope) string {
	t.Helper()
	key, hash, prefix := NewAPIKey()
	if _, err := st.CreateAPIKey(context.Background(), &fax.APIKey{Name: name, Hash: hash, Prefix: prefix, Scopes: scopes}); err != nil {
		t.Fatal(err)
	}
	return key
}

func countFaxes(t *testing.T, st *sqlite.Store) int {
	t.Helper()
	fs, _, err := st.FindFaxes(context.Background(), fax.FaxFilter{Limit: fax.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(fs)
}

// multipartBody builds a send with fields in order (names may repeat) and a
// small document.
func multipartBody(fields [][2]string) (ct string, body []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		w.WriteField(f[0], f[1])
	}
	fw, _ := w.CreateFormFile("file", "doc.pdf")
	fw.Write([]byte("%PDF-1.4 test"))
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

func doRequest(h http.Handler, key, method, path, ct string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestQueryParametersRefused: an unknown or repeated query parameter is a
// 400 naming it on every route, rather than a filter silently ignored; the
// filters that exist still work.
func TestQueryParametersRefused(t *testing.T) {
	h, _ := newLimitedServer(t, Options{})
	for _, tc := range []struct {
		method, path, name string
	}{
		{"GET", "/v1/faxes?bogus=1", "bogus"},
		{"GET", "/v1/faxes?to=%2B15551234567&to=%2B15551234568", "to"},
		{"GET", "/v1/faxes?status=sent&status=failed", "status"},
		{"GET", "/v1/faxes?limit=1&limit=500", "limit"},
		{"GET", "/v1/faxes?direction=outbound&direction=inbound", "direction"},
		{"GET", "/v1/faxes/fax_x?expand=document", "expand"},
		{"GET", "/v1/faxes/fax_x/events?limit=1", "limit"},
		{"GET", "/v1/webhook-endpoints?cursor=ep_a&cursor=ep_b", "cursor"},
		{"GET", "/v1/deliveries?bogus", "bogus"},
		{"GET", "/v1/deliveries?status=failed&status=pending", "status"},
		{"GET", "/v1/audit?actor=a&actor=b", "actor"},
		{"GET", "/v1/api-keys?scope=fax:read", "scope"},
		{"POST", "/v1/faxes?to=%2B15551234567", "to"},
		{"DELETE", "/v1/api-keys/key_x?force=1", "force"},
		{"GET", "/healthz?verbose=1", "verbose"},
		{"GET", "/v1/faxes?a=%zz", "malformed"},
		{"GET", "/v1/faxes?limit=1;bogus=2", "malformed"},
	} {
		rec := call(h, testAdminKey, tc.method, tc.path)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s %s: got %d %s, want 400", tc.method, tc.path, rec.Code, rec.Body)
			continue
		}
		if code, msg := errorOf(t, rec); code != "invalid" || !strings.Contains(msg, tc.name) {
			t.Errorf("%s %s: got %q %q, want invalid naming %q", tc.method, tc.path, code, msg, tc.name)
		}
	}
	for _, path := range []string{
		"/v1/faxes?direction=outbound&status=sent&limit=5",
		"/v1/deliveries?status=pending&limit=10",
		"/v1/webhook-endpoints?limit=2",
		"/healthz",
	} {
		if rec := call(h, testAdminKey, "GET", path); rec.Code != http.StatusOK {
			t.Errorf("GET %s: got %d %s, want 200", path, rec.Code, rec.Body)
		}
	}
}

// TestSendRepeatedFieldRefused: a multipart send naming a single-valued
// field twice is refused with 400 naming it, and no fax is made. (to is
// not one: repeated, it makes a batch; see batch_test.go.)
func TestSendRepeatedFieldRefused(t *testing.T) {
	h, st := newLimitedServer(t, Options{})
	for _, tc := range []struct {
		name   string
		fields [][2]string
	}{
		{"from", [][2]string{{"to", "+15551234567"}, {"from", "+15550000001"}, {"from", "+15550000002"}}},
		{"provider", [][2]string{{"to", "+15551234567"}, {"provider", "simulator"}, {"provider", "phaxio"}}},
		{"header_text", [][2]string{{"to", "+15551234567"}, {"header_text", "a"}, {"header_text", "b"}}},
	} {
		ct, body := multipartBody(tc.fields)
		rec := doRequest(h, testAdminKey, "POST", "/v1/faxes", ct, body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s twice: got %d %s, want 400", tc.name, rec.Code, rec.Body)
			continue
		}
		if code, msg := errorOf(t, rec); code != "invalid" || !strings.Contains(msg, tc.name) {
			t.Errorf("%s twice: got %q %q, want invalid naming it", tc.name, code, msg)
		}
	}
	ct, body := multipartBody([][2]string{{"to", "+15551234567"}, {"content_url", "https://docs.example/a.pdf"}})
	if rec := doRequest(h, testAdminKey, "POST", "/v1/faxes", ct, body); rec.Code != http.StatusBadRequest {
		t.Errorf("file and content_url: got %d %s, want 400", rec.Code, rec.Body)
	}
	if n := countFaxes(t, st); n != 0 {
		t.Fatalf("refused sends made %d faxes", n)
	}
	ct, body = multipartBody([][2]string{{"to", "+15551234567"}})
	if rec := doRequest(h, testAdminKey, "POST", "/v1/faxes", ct, body); rec.Code != http.StatusAccepted {
		t.Errorf("a send naming each field once: got %d %s, want 202", rec.Code, rec.Body)
	}
}

// TestCallbackURLChecksAsEndpoint: a fax's callback_url gets exactly the
// checks of an endpoint url: mailto: needs SMTP, and takes plain addresses
// only, with no ?headers adding recipients.
func TestCallbackURLChecksAsEndpoint(t *testing.T) {
	check := func(_ context.Context, u string) error {
		if !strings.HasPrefix(u, "https://hooks.example/") {
			return fax.Errorf(fax.ECodeInvalid, "url host may not be reached")
		}
		return nil
	}
	send := func(h http.Handler, cb string) *httptest.ResponseRecorder {
		ct, body := multipartBody([][2]string{{"to", "+15551234567"}, {"callback_url", cb}})
		return doRequest(h, testAdminKey, "POST", "/v1/faxes", ct, body)
	}
	endpoint := func(h http.Handler, u string) *httptest.ResponseRecorder {
		b, _ := json.Marshal(map[string]string{"url": u})
		return doRequest(h, testAdminKey, "POST", "/v1/webhook-endpoints", "application/json", b)
	}
	secret := func(context.Context) (string, error) { return "whsec_dGVzdA==", nil }
	newSecret := func() string { return "whsec_dGVzdA==" }

	noMail, st := newLimitedServer(t, Options{CheckWebhookURL: check, CallbackSecret: secret, NewSecret: newSecret})
	for _, u := range []string{"mailto:a@b.example?bcc=c@d.example", "mailto:a@b.example", "MAILTO:a@b.example"} {
		if rec := send(noMail, u); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("no SMTP: callback_url %s: got %d %s, want 422", u, rec.Code, rec.Body)
		}
		if rec := endpoint(noMail, u); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("no SMTP: endpoint %s: got %d %s, want 422", u, rec.Code, rec.Body)
		}
	}
	if rec := send(noMail, "https://elsewhere.example/cb"); rec.Code != http.StatusBadRequest {
		t.Errorf("callback_url refused by the URL check: got %d %s, want 400", rec.Code, rec.Body)
	}
	long, _ := json.Marshal(map[string]string{"to": "+15551234567", "content_base64": "JVBERi0xLjQ=", "callback_url": "https://hooks.example/" + strings.Repeat("a", 2100)})
	if rec := doRequest(noMail, testAdminKey, "POST", "/v1/faxes", "application/json", long); rec.Code != http.StatusBadRequest {
		t.Errorf("JSON callback_url over 2048 characters: got %d %s, want 400", rec.Code, rec.Body)
	}
	if n := countFaxes(t, st); n != 0 {
		t.Fatalf("refused callback_urls made %d faxes", n)
	}

	mail, st := newLimitedServer(t, Options{CheckWebhookURL: check, CallbackSecret: secret, NewSecret: newSecret, EmailEnabled: true})
	for _, u := range []string{
		"mailto:a@b.example?bcc=c@d.example", "mailto:a@b.example?cc=c@d.example", "mailto:a@b.example?subject=x%0d%0abcc:c@d.example",
		"mailto:a@b.example%2Cc@d.example", "mailto:a%0d%0abcc@b.example", "mailto:", "mailto:not an address",
		"mailto:" + strings.Repeat("x@y.example,", 10) + "z@y.example",
	} {
		if rec := send(mail, u); rec.Code != http.StatusBadRequest {
			t.Errorf("callback_url %s: got %d %s, want 400", u, rec.Code, rec.Body)
		}
		if rec := endpoint(mail, u); rec.Code != http.StatusBadRequest {
			t.Errorf("endpoint %s: got %d %s, want 400", u, rec.Code, rec.Body)
		}
	}
	if n := countFaxes(t, st); n != 0 {
		t.Fatalf("refused callback_urls made %d faxes", n)
	}
	if rec := send(mail, "mailto:staff@b.example,desk@b.example"); rec.Code != http.StatusAccepted {
		t.Errorf("plain mailto: callback_url with SMTP: got %d %s, want 202", rec.Code, rec.Body)
	}
	if rec := send(mail, "https://hooks.example/cb"); rec.Code != http.StatusAccepted {
		t.Errorf("https callback_url: got %d %s, want 202", rec.Code, rec.Body)
	}
}

// TestKeyGrantsOnlyItsScopes: a key with keys:manage may create keys with
// scopes it holds, and gets 403 for any other; the admin key holds all.
func TestKeyGrantsOnlyItsScopes(t *testing.T) {
	h, st := newLimitedServer(t, Options{})
	manager := storedKey(t, st, "manager", fax.ScopeKeysManage, fax.ScopeFaxRead)
	create := func(key string, scopes ...string) *httptest.ResponseRecorder {
		b, _ := json.Marshal(map[string]any{"name": "minted", "scopes": scopes})
		return doRequest(h, key, "POST", "/v1/api-keys", "application/json", b)
	}
	for _, scopes := range [][]string{{"fax:send"}, {"fax:read", "webhooks:manage"}, {"metrics:read"}, {"keys:manage", "fax:send"}} {
		rec := create(manager, scopes...)
		if rec.Code != http.StatusForbidden {
			t.Errorf("manager grants %v: got %d %s, want 403", scopes, rec.Code, rec.Body)
			continue
		}
		if code, _ := errorOf(t, rec); code != "forbidden" {
			t.Errorf("manager grants %v: got code %q, want forbidden", scopes, code)
		}
	}
	ks, err := st.FindAPIKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 1 {
		t.Fatalf("refused grants made keys: %d keys, want the manager alone", len(ks))
	}
	for _, scopes := range [][]string{{"fax:read"}, {"keys:manage", "fax:read"}} {
		if rec := create(manager, scopes...); rec.Code != http.StatusCreated {
			t.Errorf("manager grants its own %v: got %d %s, want 201", scopes, rec.Code, rec.Body)
		}
	}
	if rec := create(testAdminKey, "fax:send", "fax:read", "webhooks:manage", "keys:manage", "metrics:read"); rec.Code != http.StatusCreated {
		t.Errorf("admin grants every scope: got %d %s, want 201", rec.Code, rec.Body)
	}
}

// TestMetricsNeedScope: /metrics on the API answers only keys with
// metrics:read.
func TestMetricsNeedScope(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("faxgate_up 1\n"))
	})
	h, st := newLimitedServer(t, Options{Metrics: metrics})
	reader := storedKey(t, st, "reader", fax.ScopeFaxRead, fax.ScopeKeysManage)
	scraper := storedKey(t, st, "prometheus", fax.ScopeMetricsRead)
	rec := call(h, "", "GET", "/metrics")
	if rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), "faxgate_up") {
		t.Errorf("no key: got %d %s, want 401", rec.Code, rec.Body)
	}
	if code, _ := errorOf(t, rec); code != "unauthorized" {
		t.Errorf("no key: got code %q, want unauthorized", code)
	}
	if rec := call(h, reader, "GET", "/metrics"); rec.Code != http.StatusForbidden {
		t.Errorf("key without metrics:read: got %d, want 403", rec.Code)
	}
	for name, key := range map[string]string{"metrics:read": scraper, "admin": testAdminKey} {
		if rec := call(h, key, "GET", "/metrics"); rec.Code != http.StatusOK || rec.Body.String() != "faxgate_up 1\n" {
			t.Errorf("%s: got %d %q, want 200 with the metrics", name, rec.Code, rec.Body)
		}
	}
}
