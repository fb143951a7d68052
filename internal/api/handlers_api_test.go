package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/blob"
	"github.com/faxgate/faxgate/internal/document"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/sqlite"
)

// The handler tests: every route's happy path and its main error statuses,
// through the whole handler stack (request ids, auth, scopes, the error
// table) over a real SQLite store and document directory in a temp dir.

const handlerAdminKey = "handler-admin-key-0123456789"

// handlerEnv is an API over a real store.
type handlerEnv struct {
	t  *testing.T
	h  http.Handler
	st *sqlite.Store
}

// newHandlerEnv builds an API over a fresh SQLite store; edit may change
// the options before the server is built.
func newHandlerEnv(t *testing.T, edit func(*api.Options)) *handlerEnv {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobs, err := blob.NewDir(filepath.Join(dir, "docs"))
	if err != nil {
		t.Fatal(err)
	}
	opts := api.Options{
		Store: st, Blobs: blobs, Audit: st, AdminKeys: []string{handlerAdminKey}, MaxDocument: 256 << 10,
		DefaultProvider: "simulator",
		PrepareDocument: func(_ context.Context, files [][]byte) (api.Document, error) {
			b := files[0]
			info, err := document.Inspect(b)
			if err != nil {
				return api.Document{}, err
			}
			return api.Document{Bytes: b, MIME: info.Type.MIME(), Pages: info.Pages}, nil
		},
		NewSecret: func() string { return "whsec_" + base64.StdEncoding.EncodeToString(fax.RandomToken(24)) },
		CheckWebhookURL: func(ctx context.Context, u string) error {
			if !strings.HasPrefix(u, "https://") {
				return fax.Errorf(fax.ECodeInvalid, "want an https URL")
			}
			return nil
		},
		CallbackSecret: func(context.Context) (string, error) { return "whsec_Y2FsbGJhY2tzZWNyZXQ=", nil },
		Formats:        []string{fax.FormatJSON, fax.FormatPhaxio, fax.FormatGoFax},
		ProviderProblem: func(name string) string {
			if name == "phaxio" {
				return "set PHAXIO_API_KEY"
			}
			return ""
		},
	}
	if edit != nil {
		edit(&opts)
	}
	var ids fax.IDGen
	return &handlerEnv{t: t, h: api.WithRequestID(api.New(opts), &ids, nil), st: st}
}

// do sends a request with key ("" for none) and returns the answer.
func (e *handlerEnv) do(key, method, path, ct string, body []byte, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

// json sends v as JSON with the admin key; a nil v sends no body.
func (e *handlerEnv) json(method, path string, v any, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	if v == nil {
		return e.do(handlerAdminKey, method, path, "", nil, hdr...)
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(handlerAdminKey, method, path, "application/json", b, hdr...)
}

// key makes an API key with scopes in the store and returns its secret.
func (e *handlerEnv) key(scopes ...fax.Scope) string {
	e.t.Helper()
	key, hash, prefix := api.NewAPIKey()
	if _, err := e.st.CreateAPIKey(context.Background(), &fax.APIKey{Name: "test", Hash: hash, Prefix: prefix, Scopes: scopes}); err != nil {
		e.t.Fatal(err)
	}
	return key
}

// want checks rec's status, and decodes its JSON body into out when out
// is not nil.
func want(t *testing.T, rec *httptest.ResponseRecorder, status int, out any) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("got %d %s, want %d", rec.Code, rec.Body, status)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("body %q: %v", rec.Body, err)
		}
	}
}

// wantError checks that rec is the JSON error shape with status and code,
// and a message containing msg.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if rec.Code != status {
		t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body, status, code)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("%d %q is not the JSON error shape: %v", rec.Code, rec.Body, err)
	}
	if e.Error.Code != code || !strings.Contains(e.Error.Message, msg) || e.Error.RequestID == "" {
		t.Errorf("got error %+v, want code %s, a message with %q and a request id", e.Error, code, msg)
	}
}

// samplePDF is a real one-page PDF.
func samplePDF(t *testing.T) []byte {
	t.Helper()
	b, err := document.SamplePDF(1, []string{"handler test"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// multipartSend builds a multipart send of fields and a file part doc.
func multipartSend(fields map[string]string, doc []byte) (ct string, body []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if doc != nil {
		fw, _ := w.CreateFormFile("file", "doc.pdf")
		fw.Write(doc)
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// faxBody is the part of a fax object the tests read.
type faxBody struct {
	ID          string  `json:"id"`
	Direction   string  `json:"direction"`
	Status      string  `json:"status"`
	To          string  `json:"to"`
	From        string  `json:"from"`
	Provider    string  `json:"provider"`
	Pages       int     `json:"pages"`
	CallbackURL *string `json:"callback_url"`
}

// send sends one fax to to as JSON with the admin key.
func (e *handlerEnv) send(to string) faxBody {
	e.t.Helper()
	var f faxBody
	want(e.t, e.json("POST", "/v1/faxes", map[string]any{
		"to": to, "content_base64": base64.StdEncoding.EncodeToString(samplePDF(e.t)), "filename": "a.pdf",
	}), http.StatusAccepted, &f)
	return f
}

func TestHandlersProbes(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	var body map[string]string
	want(t, e.do("", "GET", "/healthz", "", nil), http.StatusOK, &body)
	if body["status"] != "ok" {
		t.Errorf("healthz: got %v", body)
	}
	want(t, e.do("", "GET", "/readyz", "", nil), http.StatusOK, &body)
	if body["status"] != "ready" {
		t.Errorf("readyz: got %v", body)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	want(t, e.do("", "GET", "/openapi.json", "", nil), http.StatusOK, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") || doc.Paths["/v1/faxes"] == nil {
		t.Errorf("openapi: got version %q and %d paths", doc.OpenAPI, len(doc.Paths))
	}
	wantError(t, e.do("", "GET", "/v1/nothing", "", nil), http.StatusNotFound, "not_found", "no route")
	wantError(t, e.do(handlerAdminKey, "PUT", "/v1/faxes", "", nil), http.StatusMethodNotAllowed, "method_not_allowed", "method PUT not allowed")

	// A store that does not answer makes the instance not ready.
	e.st.Close()
	wantError(t, e.do("", "GET", "/readyz", "", nil), http.StatusServiceUnavailable, "unavailable", "the database does not answer")
}

func TestHandlersMetrics(t *testing.T) {
	t.Parallel()
	off := newHandlerEnv(t, nil)
	wantError(t, off.do(handlerAdminKey, "GET", "/metrics", "", nil), http.StatusNotFound, "not_found", "metrics are not served here")
	on := newHandlerEnv(t, func(o *api.Options) {
		o.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("faxgate_up 1\n")) })
	})
	rec := on.do(handlerAdminKey, "GET", "/metrics", "", nil)
	want(t, rec, http.StatusOK, nil)
	if rec.Body.String() != "faxgate_up 1\n" {
		t.Errorf("metrics: got %q", rec.Body)
	}
	wantError(t, on.do("", "GET", "/metrics", "", nil), http.StatusUnauthorized, "unauthorized", "")
	wantError(t, on.do(on.key(fax.ScopeFaxRead), "GET", "/metrics", "", nil), http.StatusForbidden, "forbidden", "")
	want(t, on.do(on.key(fax.ScopeMetricsRead), "GET", "/metrics", "", nil), http.StatusOK, nil)
}

func TestHandlersFaxCreate(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	pdf := samplePDF(t)

	t.Run("multipart", func(t *testing.T) {
		ct, body := multipartSend(map[string]string{"to": "+1 555 123 4567", "from": "+15557654321", "header_text": "Acme", "callback_url": "https://cb.example/h"}, pdf)
		var f faxBody
		want(t, e.do(handlerAdminKey, "POST", "/v1/faxes", ct, body), http.StatusAccepted, &f)
		if !strings.HasPrefix(f.ID, fax.PrefixFax) || f.Direction != "outbound" || f.Status != "queued" || f.To != "+15551234567" ||
			f.From != "+15557654321" || f.Provider != "simulator" || f.Pages != 1 || f.CallbackURL == nil || *f.CallbackURL != "https://cb.example/h" {
			t.Errorf("got %+v", f)
		}
	})
	t.Run("json", func(t *testing.T) {
		f := e.send("+15551234568")
		if f.To != "+15551234568" || f.Status != "queued" {
			t.Errorf("got %+v", f)
		}
	})
	t.Run("idempotent repeat", func(t *testing.T) {
		body := map[string]any{"to": "+15551234569", "content_base64": base64.StdEncoding.EncodeToString(pdf), "filename": "a.pdf"}
		var first, again faxBody
		rec := e.json("POST", "/v1/faxes", body, "Idempotency-Key", "k-1")
		want(t, rec, http.StatusAccepted, &first)
		if rec.Header().Get("Idempotent-Replayed") != "" {
			t.Error("the first send is marked replayed")
		}
		rec = e.json("POST", "/v1/faxes", body, "Idempotency-Key", "k-1")
		want(t, rec, http.StatusAccepted, &again)
		if again.ID != first.ID || rec.Header().Get("Idempotent-Replayed") != "true" {
			t.Errorf("repeat: got %s (replayed %q), want %s replayed", again.ID, rec.Header().Get("Idempotent-Replayed"), first.ID)
		}
		body["to"] = "+15551234560"
		wantError(t, e.json("POST", "/v1/faxes", body, "Idempotency-Key", "k-1"), http.StatusConflict, "conflict", "")
	})

	b64 := base64.StdEncoding.EncodeToString(pdf)
	for _, tt := range []struct {
		name   string
		ct     string
		body   string
		hdr    []string
		status int
		code   string
		msg    string
	}{
		{"bad to", "application/json", `{"to":"12","content_base64":"` + b64 + `"}`, nil, 400, "invalid", "to: number must start with +"},
		{"bad from", "application/json", `{"to":"+15551234567","from":"x","content_base64":"` + b64 + `"}`, nil, 400, "invalid", "from: number contains"},
		{"header too long", "application/json", `{"to":"+15551234567","header_text":"` + strings.Repeat("h", 51) + `","content_base64":"` + b64 + `"}`, nil, 400, "invalid", "header_text: at most 50 characters"},
		{"callback not allowed", "application/json", `{"to":"+15551234567","callback_url":"http://cb.example","content_base64":"` + b64 + `"}`, nil, 400, "invalid", "callback_url: want an https URL"},
		{"carrier cannot send", "application/json", `{"to":"+15551234567","provider":"phaxio","content_base64":"` + b64 + `"}`, nil, 422, "unprocessable", "provider phaxio cannot send: set PHAXIO_API_KEY"},
		{"no document", "application/json", `{"to":"+15551234567"}`, nil, 400, "invalid", "no document"},
		{"not base64", "application/json", `{"to":"+15551234567","content_base64":"%%%"}`, nil, 400, "invalid", "content_base64 is not valid base64"},
		{"both contents", "application/json", `{"to":"+15551234567","content_base64":"` + b64 + `","content_url":"https://d.example/a.pdf"}`, nil, 400, "invalid", "not both"},
		{"content_url unsupported", "application/json", `{"to":"+15551234567","content_url":"https://d.example/a.pdf"}`, nil, 422, "unprocessable", "content_url is not supported"},
		{"not a document", "application/json", `{"to":"+15551234567","content_base64":"` + base64.StdEncoding.EncodeToString([]byte("\x00\x01\x02 not a document")) + `"}`, nil, 0, "", ""},
		{"unknown field", "application/json", `{"to":"+15551234567","nope":1}`, nil, 400, "invalid", ""},
		{"long idempotency key", "application/json", `{"to":"+15551234567","content_base64":"` + b64 + `"}`, []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400, "invalid", "Idempotency-Key is longer than 255 characters"},
		{"too large", "application/json", `{"to":"+15551234567","content_base64":"` + base64.StdEncoding.EncodeToString(make([]byte, 300<<10)) + `"}`, nil, 413, "too_large", ""},
		{"content type", "text/plain", "hello", nil, 415, "unsupported_type", "send multipart/form-data or application/json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := e.do(handlerAdminKey, "POST", "/v1/faxes", tt.ct, []byte(tt.body), tt.hdr...)
			if tt.status == 0 {
				// Whatever the document checks answer, it is the error
				// shape and a 4xx, never a fax.
				if rec.Code < 400 || rec.Code >= 500 {
					t.Fatalf("got %d %s, want a 4xx", rec.Code, rec.Body)
				}
				return
			}
			wantError(t, rec, tt.status, tt.code, tt.msg)
		})
	}
	t.Run("auth", func(t *testing.T) {
		ct, body := multipartSend(map[string]string{"to": "+15551234567"}, pdf)
		wantError(t, e.do("", "POST", "/v1/faxes", ct, body), http.StatusUnauthorized, "unauthorized", "")
		wantError(t, e.do("fgk_wrong", "POST", "/v1/faxes", ct, body), http.StatusUnauthorized, "unauthorized", "")
		wantError(t, e.do(e.key(fax.ScopeFaxRead), "POST", "/v1/faxes", ct, body), http.StatusForbidden, "forbidden", "")
		want(t, e.do(e.key(fax.ScopeFaxSend), "POST", "/v1/faxes", ct, body), http.StatusAccepted, nil)
	})
}

func TestHandlersFaxRead(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	f := e.send("+15551234567")
	e.send("+15551234568")

	var got faxBody
	want(t, e.json("GET", "/v1/faxes/"+f.ID, nil), http.StatusOK, &got)
	if got.ID != f.ID || got.To != "+15551234567" {
		t.Errorf("get: got %+v", got)
	}
	wantError(t, e.json("GET", "/v1/faxes/fax_nope", nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.json("GET", "/v1/faxes/other", nil), http.StatusNotFound, "not_found", `fax "other" not found`)
	wantError(t, e.do(e.key(fax.ScopeFaxSend), "GET", "/v1/faxes/"+f.ID, "", nil), http.StatusForbidden, "forbidden", "")

	var list struct {
		Data       []faxBody `json:"data"`
		NextCursor *string   `json:"next_cursor"`
	}
	want(t, e.json("GET", "/v1/faxes?direction=outbound&status=queued", nil), http.StatusOK, &list)
	if len(list.Data) != 2 || list.NextCursor != nil {
		t.Errorf("list: got %d faxes, cursor %v; want 2, none", len(list.Data), list.NextCursor)
	}
	want(t, e.json("GET", "/v1/faxes?limit=1", nil), http.StatusOK, &list)
	if len(list.Data) != 1 || list.NextCursor == nil {
		t.Fatalf("first page: got %d faxes, cursor %v; want 1 and a cursor", len(list.Data), list.NextCursor)
	}
	first := list.Data[0].ID
	want(t, e.json("GET", "/v1/faxes?limit=1&cursor="+*list.NextCursor, nil), http.StatusOK, &list)
	if len(list.Data) != 1 || list.Data[0].ID == first {
		t.Errorf("second page: got %+v, want the other fax", list.Data)
	}
	wantError(t, e.json("GET", "/v1/faxes?direction=sideways", nil), http.StatusBadRequest, "invalid", "direction must be outbound or inbound")
	wantError(t, e.json("GET", "/v1/faxes?status=lost", nil), http.StatusBadRequest, "invalid", "status must be one of")
	wantError(t, e.json("GET", "/v1/faxes?limit=0", nil), http.StatusBadRequest, "invalid", "limit must be a number from 1 to")
	wantError(t, e.json("GET", "/v1/faxes?cursor=abc", nil), http.StatusBadRequest, "invalid", "cursor is not one this API returned")

	rec := e.json("GET", "/v1/faxes/"+f.ID+"/document", nil)
	want(t, rec, http.StatusOK, nil)
	if !bytes.HasPrefix(rec.Body.Bytes(), []byte("%PDF-")) || rec.Header().Get("Content-Type") != "application/pdf" {
		t.Errorf("document: got %s %q…", rec.Header().Get("Content-Type"), rec.Body.Bytes()[:min(rec.Body.Len(), 8)])
	}
	wantError(t, e.json("GET", "/v1/faxes/fax_nope/document", nil), http.StatusNotFound, "not_found", "")

	var events struct {
		Data []struct {
			Type string `json:"type"`
		} `json:"data"`
	}
	want(t, e.json("GET", "/v1/faxes/"+f.ID+"/events", nil), http.StatusOK, &events)
	if len(events.Data) != 1 || events.Data[0].Type != "fax.queued" {
		t.Errorf("events: got %+v, want one fax.queued", events.Data)
	}
	wantError(t, e.json("GET", "/v1/faxes/fax_nope/events", nil), http.StatusNotFound, "not_found", "")
}

func TestHandlersFaxCancel(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	f := e.send("+15551234567")
	var got faxBody
	want(t, e.json("POST", "/v1/faxes/"+f.ID+"/cancel", nil), http.StatusOK, &got)
	if got.Status != "canceled" {
		t.Errorf("cancel: got %+v, want canceled", got)
	}
	wantError(t, e.json("POST", "/v1/faxes/"+f.ID+"/cancel", nil), http.StatusConflict, "conflict", "is already canceled")
	wantError(t, e.json("POST", "/v1/faxes/fax_nope/cancel", nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.do(e.key(fax.ScopeFaxRead), "POST", "/v1/faxes/"+f.ID+"/cancel", "", nil), http.StatusForbidden, "forbidden", "")
}

// endpointBody is the part of an endpoint object the tests read.
type endpointBody struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Inflight    bool     `json:"inflight"`
	Format      string   `json:"format"`
	Numbers     []string `json:"numbers"`
	Description string   `json:"description"`
	Enabled     bool     `json:"enabled"`
	Secret      string   `json:"secret"`
}

func TestHandlersEndpoints(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	var ep endpointBody
	want(t, e.json("POST", "/v1/webhook-endpoints", map[string]any{
		"url": " https://hooks.example/in ", "events": []string{"fax.sent", "fax.sent"}, "numbers": []string{"+1 555 123 4567"}, "description": "d",
	}), http.StatusCreated, &ep)
	if !strings.HasPrefix(ep.ID, fax.PrefixEndpoint) || ep.URL != "https://hooks.example/in" || len(ep.Events) != 1 ||
		len(ep.Numbers) != 1 || ep.Numbers[0] != "+15551234567" || !ep.Enabled || !strings.HasPrefix(ep.Secret, "whsec_") || ep.Format != "json" {
		t.Errorf("create: got %+v", ep)
	}
	for _, tt := range []struct {
		name string
		body string
		code int
		msg  string
	}{
		{"no url", `{}`, 400, "url is required"},
		{"url refused", `{"url":"http://hooks.example"}`, 400, "url: want an https URL"},
		{"created disabled", `{"url":"https://hooks.example","enabled":false}`, 400, "a new endpoint is enabled"},
		{"unknown event", `{"url":"https://hooks.example","events":["fax.nope"]}`, 400, "events: unknown event type"},
		{"unknown format", `{"url":"https://hooks.example","format":"xml"}`, 400, "format must be one of json, phaxio, gofax"},
		{"gofax inflight", `{"url":"https://hooks.example","format":"gofax","inflight":true}`, 400, "the gofax format has no inflight events"},
		{"mailto without smtp", `{"url":"mailto:a@b.example"}`, 422, "url: mailto: needs an SMTP relay"},
		{"not json", `{"url":`, 400, "request body is truncated JSON"},
	} {
		t.Run("create "+tt.name, func(t *testing.T) {
			code := "invalid"
			if tt.code == 422 {
				code = "unprocessable"
			}
			wantError(t, e.do(handlerAdminKey, "POST", "/v1/webhook-endpoints", "application/json", []byte(tt.body)), tt.code, code, tt.msg)
		})
	}

	var got endpointBody
	want(t, e.json("GET", "/v1/webhook-endpoints/"+ep.ID, nil), http.StatusOK, &got)
	if got.ID != ep.ID || got.Secret != "" {
		t.Errorf("get: got %+v, want the endpoint without its secret", got)
	}
	wantError(t, e.json("GET", "/v1/webhook-endpoints/we_nope", nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.json("GET", "/v1/webhook-endpoints/nope", nil), http.StatusNotFound, "not_found", `webhook endpoint "nope" not found`)

	var list struct {
		Data []endpointBody `json:"data"`
	}
	want(t, e.json("GET", "/v1/webhook-endpoints", nil), http.StatusOK, &list)
	if len(list.Data) != 1 || list.Data[0].ID != ep.ID {
		t.Errorf("list: got %+v", list.Data)
	}
	wantError(t, e.json("GET", "/v1/webhook-endpoints?cursor=x", nil), http.StatusBadRequest, "invalid", "cursor is not one this API returned")
	wantError(t, e.json("GET", "/v1/webhook-endpoints?limit=x", nil), http.StatusBadRequest, "invalid", "limit must be")

	want(t, e.json("PATCH", "/v1/webhook-endpoints/"+ep.ID, map[string]any{"format": "phaxio", "enabled": false, "url": "https://hooks.example/other"}), http.StatusOK, &got)
	if got.Format != "phaxio" || got.Enabled || got.URL != "https://hooks.example/other" || got.Description != "d" {
		t.Errorf("update: got %+v", got)
	}
	wantError(t, e.json("PATCH", "/v1/webhook-endpoints/"+ep.ID, map[string]any{"url": "http://plain.example"}), http.StatusBadRequest, "invalid", "url: want an https URL")
	wantError(t, e.json("PATCH", "/v1/webhook-endpoints/"+ep.ID, map[string]any{"description": strings.Repeat("d", 501)}), http.StatusBadRequest, "invalid", "description: at most 500 characters")
	// The gofax rule is checked against the endpoint as stored.
	want(t, e.json("PATCH", "/v1/webhook-endpoints/"+ep.ID, map[string]any{"inflight": true}), http.StatusOK, &got)
	wantError(t, e.json("PATCH", "/v1/webhook-endpoints/"+ep.ID, map[string]any{"format": "gofax"}), http.StatusBadRequest, "invalid", "the gofax format has no inflight events")
	wantError(t, e.json("PATCH", "/v1/webhook-endpoints/we_nope", map[string]any{"description": "x"}), http.StatusNotFound, "not_found", "")

	var rotated endpointBody
	want(t, e.json("POST", "/v1/webhook-endpoints/"+ep.ID+"/rotate-secret", map[string]any{"overlap": "1h"}), http.StatusOK, &rotated)
	if rotated.Secret == "" || rotated.Secret == ep.Secret {
		t.Errorf("rotate: got secret %q, want a new one", rotated.Secret)
	}
	want(t, e.json("POST", "/v1/webhook-endpoints/"+ep.ID+"/rotate-secret", nil), http.StatusOK, nil)
	wantError(t, e.json("POST", "/v1/webhook-endpoints/"+ep.ID+"/rotate-secret", map[string]any{"overlap": "9999h"}), http.StatusBadRequest, "invalid", "overlap must be a duration from 0s to 720h")
	wantError(t, e.json("POST", "/v1/webhook-endpoints/we_nope/rotate-secret", nil), http.StatusNotFound, "not_found", "")

	var secret map[string]string
	want(t, e.json("GET", "/v1/callback-secret", nil), http.StatusOK, &secret)
	if secret["secret"] != "whsec_Y2FsbGJhY2tzZWNyZXQ=" {
		t.Errorf("callback secret: got %v", secret)
	}
	wantError(t, e.do(e.key(fax.ScopeFaxSend, fax.ScopeFaxRead), "GET", "/v1/webhook-endpoints", "", nil), http.StatusForbidden, "forbidden", "")

	want(t, e.json("DELETE", "/v1/webhook-endpoints/"+ep.ID, nil), http.StatusNoContent, nil)
	wantError(t, e.json("DELETE", "/v1/webhook-endpoints/"+ep.ID, nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.json("GET", "/v1/webhook-endpoints/"+ep.ID, nil), http.StatusNotFound, "not_found", "")

	noSecret := newHandlerEnv(t, func(o *api.Options) { o.CallbackSecret = nil })
	wantError(t, noSecret.json("GET", "/v1/callback-secret", nil), http.StatusNotFound, "not_found", "callback secret not available")
}

// deliveryBody is the part of a delivery the tests read.
type deliveryBody struct {
	ID         string `json:"id"`
	EndpointID string `json:"endpoint_id"`
	EventType  string `json:"event_type"`
	Status     string `json:"status"`
}

func TestHandlersDeliveries(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	var ep endpointBody
	want(t, e.json("POST", "/v1/webhook-endpoints", map[string]any{"url": "https://hooks.example/in"}), http.StatusCreated, &ep)

	var d deliveryBody
	want(t, e.json("POST", "/v1/webhook-endpoints/"+ep.ID+"/test", nil), http.StatusAccepted, &d)
	if !strings.HasPrefix(d.ID, fax.PrefixDelivery) || d.EndpointID != ep.ID || d.EventType != "webhook.test" || d.Status != "pending" {
		t.Errorf("test event: got %+v", d)
	}
	wantError(t, e.json("POST", "/v1/webhook-endpoints/we_nope/test", nil), http.StatusNotFound, "not_found", "")

	var got deliveryBody
	want(t, e.json("GET", "/v1/deliveries/"+d.ID, nil), http.StatusOK, &got)
	if got.ID != d.ID {
		t.Errorf("get: got %+v", got)
	}
	wantError(t, e.json("GET", "/v1/deliveries/dlv_nope", nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.json("GET", "/v1/deliveries/nope", nil), http.StatusNotFound, "not_found", `delivery "nope" not found`)

	var list struct {
		Data []deliveryBody `json:"data"`
	}
	want(t, e.json("GET", "/v1/deliveries?endpoint_id="+ep.ID+"&status=pending&since=2020-01-01T00:00:00Z", nil), http.StatusOK, &list)
	if len(list.Data) != 1 || list.Data[0].ID != d.ID {
		t.Errorf("list: got %+v", list.Data)
	}
	wantError(t, e.json("GET", "/v1/deliveries?status=lost", nil), http.StatusBadRequest, "invalid", "status must be pending, succeeded or failed")
	wantError(t, e.json("GET", "/v1/deliveries?since=yesterday", nil), http.StatusBadRequest, "invalid", "since must be an RFC 3339 time")
	wantError(t, e.json("GET", "/v1/deliveries?cursor=x", nil), http.StatusBadRequest, "invalid", "cursor is not one this API returned")

	want(t, e.json("POST", "/v1/deliveries/"+d.ID+"/retry", nil), http.StatusAccepted, &got)
	if got.ID != d.ID || got.Status != "pending" {
		t.Errorf("retry: got %+v", got)
	}
	wantError(t, e.json("POST", "/v1/deliveries/dlv_nope/retry", nil), http.StatusNotFound, "not_found", "")

	var retried map[string]int
	want(t, e.json("POST", "/v1/webhook-endpoints/"+ep.ID+"/retry-failed", map[string]any{"since": "2020-01-01T00:00:00Z"}), http.StatusAccepted, &retried)
	if n, ok := retried["retried"]; !ok || n != 0 {
		t.Errorf("retry-failed: got %v, want 0 retried", retried)
	}
	wantError(t, e.json("POST", "/v1/webhook-endpoints/"+ep.ID+"/retry-failed", map[string]any{"since": "now"}), http.StatusBadRequest, "invalid", "since must be an RFC 3339 time")
	wantError(t, e.do(e.key(fax.ScopeFaxRead), "GET", "/v1/deliveries", "", nil), http.StatusForbidden, "forbidden", "")
}

func TestHandlersAPIKeys(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	var k struct {
		ID     string   `json:"id"`
		Key    string   `json:"key"`
		Scopes []string `json:"scopes"`
	}
	want(t, e.json("POST", "/v1/api-keys", map[string]any{"name": " sender ", "scopes": []string{"fax:send", "fax:read", "fax:send"}}), http.StatusCreated, &k)
	if !strings.HasPrefix(k.ID, fax.PrefixAPIKey) || !strings.HasPrefix(k.Key, "fgk_") || len(k.Scopes) != 2 {
		t.Errorf("create: got %+v", k)
	}
	// The new key works, within its scopes.
	want(t, e.do(k.Key, "GET", "/v1/faxes", "", nil), http.StatusOK, nil)
	wantError(t, e.do(k.Key, "GET", "/v1/api-keys", "", nil), http.StatusForbidden, "forbidden", "")

	wantError(t, e.json("POST", "/v1/api-keys", map[string]any{"scopes": []string{"fax:read"}}), http.StatusBadRequest, "invalid", "name is required")
	wantError(t, e.json("POST", "/v1/api-keys", map[string]any{"name": "n"}), http.StatusBadRequest, "invalid", "scopes is required")
	wantError(t, e.json("POST", "/v1/api-keys", map[string]any{"name": "n", "scopes": []string{"root"}}), http.StatusBadRequest, "invalid", `unknown scope "root"`)
	// A key may grant only scopes it holds.
	manager := e.key(fax.ScopeKeysManage)
	wantError(t, e.do(manager, "POST", "/v1/api-keys", "application/json", []byte(`{"name":"n","scopes":["fax:send"]}`)), http.StatusForbidden, "forbidden", "")

	var list struct {
		Data []struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"data"`
	}
	want(t, e.json("GET", "/v1/api-keys", nil), http.StatusOK, &list)
	if len(list.Data) != 2 {
		t.Errorf("list: got %d keys, want 2", len(list.Data))
	}
	for _, l := range list.Data {
		if l.Key != "" {
			t.Errorf("list shows key %s's secret", l.ID)
		}
	}
	want(t, e.json("DELETE", "/v1/api-keys/"+k.ID, nil), http.StatusNoContent, nil)
	wantError(t, e.do(k.Key, "GET", "/v1/faxes", "", nil), http.StatusUnauthorized, "unauthorized", "")
	wantError(t, e.json("DELETE", "/v1/api-keys/"+k.ID, nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.json("DELETE", "/v1/api-keys/nope", nil), http.StatusNotFound, "not_found", `API key "nope" not found`)
}

func TestHandlersAudit(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, nil)
	f := e.send("+15551234567")
	var list struct {
		Data []struct {
			Actor    string `json:"actor"`
			Action   string `json:"action"`
			TargetID string `json:"target_id"`
		} `json:"data"`
	}
	want(t, e.json("GET", "/v1/audit?action=fax.send", nil), http.StatusOK, &list)
	if len(list.Data) != 1 || list.Data[0].TargetID != f.ID || list.Data[0].Actor != "admin" {
		t.Errorf("audit: got %+v, want the send by admin", list.Data)
	}
	wantError(t, e.json("GET", "/v1/audit?cursor=x", nil), http.StatusBadRequest, "invalid", "cursor is not one this API returned")
	wantError(t, e.do(e.key(fax.ScopeFaxRead), "GET", "/v1/audit", "", nil), http.StatusForbidden, "forbidden", "")
	off := newHandlerEnv(t, func(o *api.Options) { o.Audit = nil })
	wantError(t, off.json("GET", "/v1/audit", nil), http.StatusNotFound, "not_found", "")
}

func TestHandlersSimulatorInbound(t *testing.T) {
	t.Parallel()
	off := newHandlerEnv(t, nil)
	wantError(t, off.json("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "+15553334444"}), http.StatusNotFound, "not_found", "the simulator carrier is not in use")

	var e *handlerEnv
	var gotFrom, gotTo string
	var gotPages int
	e = newHandlerEnv(t, func(o *api.Options) {
		// The simulator's part is to record a fax; one sent through the
		// store stands in for the received one.
		o.SimulatorInbound = func(ctx context.Context, from, to string, pages int) (string, error) {
			gotFrom, gotTo, gotPages = from, to, pages
			return e.send(to).ID, nil
		}
	})
	var f faxBody
	want(t, e.json("POST", "/v1/simulator/inbound", map[string]any{"from": "+1 555 111 2222", "to": "+15553334444"}), http.StatusCreated, &f)
	if f.To != "+15553334444" || gotFrom != "+15551112222" || gotTo != "+15553334444" || gotPages != 1 {
		t.Errorf("got fax %+v and a call with %s %s %d", f, gotFrom, gotTo, gotPages)
	}
	wantError(t, e.json("POST", "/v1/simulator/inbound", map[string]any{"from": "x", "to": "+15553334444"}), http.StatusBadRequest, "invalid", "from: number contains")
	wantError(t, e.json("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "1"}), http.StatusBadRequest, "invalid", "to:")
	wantError(t, e.json("POST", "/v1/simulator/inbound", map[string]any{"from": "+15551112222", "to": "+15553334444", "pages": 101}), http.StatusBadRequest, "invalid", "pages must be from 1 to 100")
}

// smsService is an SMS carrier in memory.
type smsService struct {
	mu   sync.Mutex
	sent map[string]*fax.SMS
}

func (s *smsService) Send(ctx context.Context, provider string, m *fax.SMS, text string) (*fax.SMS, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := *m
	out.ID, out.Status, out.CreatedAt, out.UpdatedAt = fax.PrefixSMS+"test1", fax.StatusQueued, time.Now().UTC(), time.Now().UTC()
	s.sent[out.ID] = &out
	return &out, nil
}

func (s *smsService) Find(ctx context.Context, id string) (*fax.SMS, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.sent[id]; ok {
		return m, nil
	}
	return nil, fax.Errorf(fax.ECodeNotFound, "SMS %q not found", id)
}

func (s *smsService) Provider(p string) (string, error) {
	if p != "" && p != "gofax" {
		return "", fax.Errorf(fax.ECodeUnprocessable, "provider %s cannot send SMS", p)
	}
	return "gofax", nil
}

func TestHandlersSMS(t *testing.T) {
	t.Parallel()
	off := newHandlerEnv(t, nil)
	wantError(t, off.json("POST", "/v1/sms", map[string]any{"to": "+15551234567", "text": "hi"}), http.StatusUnprocessableEntity, "unprocessable", "no carrier that sends SMS is configured")
	wantError(t, off.json("GET", "/v1/sms/sms_x", nil), http.StatusNotFound, "not_found", "")

	e := newHandlerEnv(t, func(o *api.Options) { o.SMS = &smsService{sent: map[string]*fax.SMS{}} })
	var m struct {
		ID       string `json:"id"`
		To       string `json:"to"`
		Provider string `json:"provider"`
		Status   string `json:"status"`
	}
	want(t, e.json("POST", "/v1/sms", map[string]any{"to": "+1 555 123 4567", "text": "hello"}), http.StatusAccepted, &m)
	if m.To != "+15551234567" || m.Provider != "gofax" || m.Status != "queued" {
		t.Errorf("send: got %+v", m)
	}
	want(t, e.json("GET", "/v1/sms/"+m.ID, nil), http.StatusOK, &m)
	wantError(t, e.json("GET", "/v1/sms/"+fax.PrefixSMS+"nope", nil), http.StatusNotFound, "not_found", "")
	wantError(t, e.json("POST", "/v1/sms", map[string]any{"to": "12", "text": "hello"}), http.StatusBadRequest, "invalid", "to:")
	wantError(t, e.json("POST", "/v1/sms", map[string]any{"to": "+15551234567", "text": " "}), http.StatusBadRequest, "invalid", "text is required")
	wantError(t, e.json("POST", "/v1/sms", map[string]any{"to": "+15551234567", "text": "hi", "provider": "sinch"}), http.StatusUnprocessableEntity, "unprocessable", "cannot send SMS")
}
