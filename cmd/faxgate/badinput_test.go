package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// TestBadInput sends bad requests to every route: each gets the right
// status and the JSON error shape, and changes nothing.
func TestBadInput(t *testing.T) {
	g := startGateway(t, withEnv("FAXGATE_MAX_DOCUMENT_BYTES", "4096"), withEnv("FAXGATE_WEBHOOK_ALLOW_NETWORKS", ""))
	sent := g.send("+15551234567", textDoc)
	g.waitFax(sent.ID)
	big := []byte(strings.Repeat("a", 5000))
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	type tc struct {
		name   string
		key    string
		method string
		path   string
		body   any
		status int
		code   string
	}
	k := adminKey
	tests := []tc{
		{"no key", "", "GET", "/v1/faxes", nil, 401, "unauthorized"},
		{"wrong key", "fgk_wrong", "GET", "/v1/faxes", nil, 401, "unauthorized"},
		{"key too long", strings.Repeat("k", 300), "GET", "/v1/faxes", nil, 401, "unauthorized"},
		{"send: not E.164", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "5551234567"}, textDoc), 400, "invalid"},
		{"send: no to", k, "POST", "/v1/faxes", multipartSend(nil, textDoc), 400, "invalid"},
		{"send: bad from", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567", "from": "x"}, textDoc), 400, "invalid"},
		{"send: no document", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567"}, nil), 400, "invalid"},
		{"send: damaged png", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567"}, png), 422, "unprocessable"},
		{"send: zip", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567"}, []byte("PK\x05\x06"+strings.Repeat("\x00", 18))), 415, "unsupported_type"},
		{"send: too large", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567"}, big), 413, "too_large"},
		{"send: unknown field", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567", "colour": "red"}, textDoc), 400, "invalid"},
		{"send: header too long", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567", "header_text": strings.Repeat("h", 51)}, textDoc), 400, "invalid"},
		{"send: unknown provider", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567", "provider": "fedex"}, textDoc), 422, "unprocessable"},
		{"send: unconfigured provider", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567", "provider": "phaxio"}, textDoc), 422, "unprocessable"},
		{"send: private callback_url", k, "POST", "/v1/faxes", multipartSend(map[string]string{"to": "+15551234567", "callback_url": "http://10.0.0.1/x"}, textDoc), 400, "invalid"},
		{"send json: not JSON", k, "POST", "/v1/faxes", "{to:", 400, "invalid"},
		{"send json: empty", k, "POST", "/v1/faxes", "", 400, "invalid"},
		{"send json: unknown field", k, "POST", "/v1/faxes", `{"to":"+15551234567","colour":"red"}`, 400, "invalid"},
		{"send json: wrong type", k, "POST", "/v1/faxes", `{"to":15551234567}`, 400, "invalid"},
		{"send json: bad base64", k, "POST", "/v1/faxes", `{"to":"+15551234567","content_base64":"!!!"}`, 400, "invalid"},
		{"send json: trailing data", k, "POST", "/v1/faxes", `{"to":"+15551234567"} {}`, 400, "invalid"},
		{"send json: loopback content_url", k, "POST", "/v1/faxes", `{"to":"+15551234567","content_url":"http://127.0.0.1:1/x.pdf"}`, 422, "unprocessable"},
		{"send json: file content_url", k, "POST", "/v1/faxes", `{"to":"+15551234567","content_url":"file:///etc/passwd"}`, 400, "invalid"},
		{"get: unknown fax", k, "GET", "/v1/faxes/fax_01M8NOPE", nil, 404, "not_found"},
		{"get: not a fax id", k, "GET", "/v1/faxes/..%2f..%2fetc", nil, 404, "not_found"},
		{"list: bad limit", k, "GET", "/v1/faxes?limit=0", nil, 400, "invalid"},
		{"list: huge limit", k, "GET", "/v1/faxes?limit=100000", nil, 400, "invalid"},
		{"list: bad status", k, "GET", "/v1/faxes?status=lost", nil, 400, "invalid"},
		{"list: bad direction", k, "GET", "/v1/faxes?direction=sideways", nil, 400, "invalid"},
		{"list: bad cursor", k, "GET", "/v1/faxes?cursor=zzz", nil, 400, "invalid"},
		{"document: unknown fax", k, "GET", "/v1/faxes/fax_01M8NOPE/document", nil, 404, "not_found"},
		{"events: unknown fax", k, "GET", "/v1/faxes/fax_01M8NOPE/events", nil, 404, "not_found"},
		{"cancel: unknown fax", k, "POST", "/v1/faxes/fax_01M8NOPE/cancel", nil, 404, "not_found"},
		{"cancel: final fax", k, "POST", "/v1/faxes/" + sent.ID + "/cancel", nil, 409, "conflict"},
		{"endpoint: no url", k, "POST", "/v1/webhook-endpoints", `{}`, 400, "invalid"},
		{"endpoint: loopback url", k, "POST", "/v1/webhook-endpoints", `{"url":"http://127.0.0.1/x"}`, 400, "invalid"},
		{"endpoint: metadata url", k, "POST", "/v1/webhook-endpoints", `{"url":"http://169.254.169.254/latest"}`, 400, "invalid"},
		{"endpoint: ftp url", k, "POST", "/v1/webhook-endpoints", `{"url":"ftp://example.com/x"}`, 400, "invalid"},
		{"endpoint: unknown event", k, "POST", "/v1/webhook-endpoints", `{"url":"https://93.184.216.34/x","events":["fax.lost"]}`, 400, "invalid"},
		{"endpoint: bad number", k, "POST", "/v1/webhook-endpoints", `{"url":"https://93.184.216.34/x","numbers":["123"]}`, 400, "invalid"},
		{"endpoint: bad format", k, "POST", "/v1/webhook-endpoints", `{"url":"https://93.184.216.34/x","format":"xml"}`, 400, "invalid"},
		{"endpoint: bad version", k, "POST", "/v1/webhook-endpoints", `{"url":"https://93.184.216.34/x","api_version":"1999-01-01"}`, 400, "invalid"},
		{"endpoint: get unknown", k, "GET", "/v1/webhook-endpoints/we_nope", nil, 404, "not_found"},
		{"endpoint: patch unknown", k, "PATCH", "/v1/webhook-endpoints/we_nope", `{"inflight":true}`, 404, "not_found"},
		{"endpoint: delete unknown", k, "DELETE", "/v1/webhook-endpoints/we_nope", nil, 404, "not_found"},
		{"endpoint: rotate unknown", k, "POST", "/v1/webhook-endpoints/we_nope/rotate-secret", nil, 404, "not_found"},
		{"endpoint: list bad limit", k, "GET", "/v1/webhook-endpoints?limit=-1", nil, 400, "invalid"},
		{"deliveries: bad status", k, "GET", "/v1/deliveries?status=lost", nil, 400, "invalid"},
		{"deliveries: bad since", k, "GET", "/v1/deliveries?since=yesterday", nil, 400, "invalid"},
		{"deliveries: unknown", k, "GET", "/v1/deliveries/dlv_nope", nil, 404, "not_found"},
		{"deliveries: retry unknown", k, "POST", "/v1/deliveries/dlv_nope/retry", nil, 404, "not_found"},
		{"simulator: bad number", k, "POST", "/v1/simulator/inbound", `{"from":"x","to":"+15551234567"}`, 400, "invalid"},
		{"simulator: too many pages", k, "POST", "/v1/simulator/inbound", `{"from":"+15551112222","to":"+15551234567","pages":1000}`, 400, "invalid"},
		{"keys: no name", k, "POST", "/v1/api-keys", `{"scopes":["fax:read"]}`, 400, "invalid"},
		{"keys: no scopes", k, "POST", "/v1/api-keys", `{"name":"x"}`, 400, "invalid"},
		{"keys: unknown scope", k, "POST", "/v1/api-keys", `{"name":"x","scopes":["root"]}`, 400, "invalid"},
		{"keys: delete unknown", k, "DELETE", "/v1/api-keys/key_nope", nil, 404, "not_found"},
		{"method not allowed", k, "PUT", "/v1/faxes", nil, 405, "method_not_allowed"},
		{"no route", k, "GET", "/v2/faxes", nil, 404, "not_found"},
		{"phaxio: unsigned", "", "POST", "/phaxio-callback?job_id=" + sent.ID, "{}", 401, "unauthorized"},
		{"sinch: unsigned", "", "POST", "/sinch-inbound", "{}", 401, "unauthorized"},
		{"gofax: not configured", "", "POST", "/gofax-inbound", "{}", 401, "unauthorized"},
		{"asterisk: not configured", "", "POST", "/_internal/asterisk/inbound", "{}", 401, "unauthorized"},
	}
	count := func() (faxes, endpoints, keys int) {
		var l struct{ Data []json.RawMessage }
		g.do("GET", "/v1/faxes?limit=500", nil, &l)
		faxes = len(l.Data)
		g.do("GET", "/v1/webhook-endpoints", nil, &l)
		endpoints = len(l.Data)
		g.do("GET", "/v1/api-keys", nil, &l)
		keys = len(l.Data)
		return
	}
	f0, e0, k0 := count()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e errorBody
			code := g.doKey(tt.key, tt.method, tt.path, tt.body, &e)
			if code != tt.status || e.Error.Code != tt.code {
				t.Errorf("got %d %q (%s), want %d %q", code, e.Error.Code, e.Error.Message, tt.status, tt.code)
			}
			if e.Error.Message == "" || e.Error.RequestID == "" {
				t.Errorf("error without message or request id: %+v", e)
			}
		})
	}
	if f1, e1, k1 := count(); f1 != f0 || e1 != e0 || k1 != k0 {
		t.Errorf("bad input changed state: faxes %d→%d, endpoints %d→%d, keys %d→%d", f0, f1, e0, e1, k0, k1)
	}
}

func TestHealthAndOpenAPI(t *testing.T) {
	g := startGateway(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code := g.doKey("", "GET", p, nil, nil); code != 200 {
			t.Errorf("%s: got %d", p, code)
		}
	}
	var doc map[string]any
	if code := g.doKey("", "GET", "/openapi.json", nil, &doc); code != 200 || doc["openapi"] != "3.1.0" {
		t.Errorf("openapi: got %d %v", code, doc["openapi"])
	}
	// X-Request-Id is echoed.
	req, _ := http.NewRequest("GET", g.url+"/healthz", nil)
	req.Header.Set("X-Request-Id", "client-chosen-id-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "client-chosen-id-1" {
		t.Errorf("X-Request-Id: got %q", got)
	}
}
