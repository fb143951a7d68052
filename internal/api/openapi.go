package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/faxgate/faxgate/internal/fax"
)

// op documents what the route table does not say: parameters, bodies and
// responses of one route.
type op struct {
	query    []string
	body     string // schema name of the JSON body; "SendMultipart" adds the multipart form
	ok       int
	response string // schema name; "" means no body; "PDF" means a PDF download
	errors   []int
}

// faxListNames are the query parameters of the fax list.
func faxListNames() []string {
	var out []string
	for _, p := range faxListParams {
		out = append(out, p.name)
	}
	return out
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

// operations describes each route by "METHOD path".
func operations() map[string]op {
	common := []int{400, 401, 403, 404, 429, 500, 503}
	return map[string]op{
		"GET /healthz":      {ok: 200, response: "Status", errors: []int{400}},
		"GET /readyz":       {ok: 200, response: "Status", errors: []int{400, 503}},
		"GET /openapi.json": {ok: 200, response: "Object", errors: []int{400}},
		"GET /metrics":      {ok: 200, response: "Prometheus", errors: common},

		"POST /v1/faxes":                 {body: "SendJSON", ok: 202, response: "FaxOrBatch", errors: append(common, 408, 409, 413, 415, 422)},
		"GET /v1/faxes":                  {query: faxListNames(), ok: 200, response: "FaxList", errors: common},
		"GET /v1/faxes/{id}":             {ok: 200, response: "Fax", errors: common},
		"GET /v1/faxes/{id}/document":    {ok: 200, response: "PDF", errors: append(common, 409, 410)},
		"GET /v1/faxes/{id}/events":      {ok: 200, response: "EventList", errors: common},
		"POST /v1/faxes/{id}/cancel":     {ok: 200, response: "Fax", errors: append(common, 409)},
		"DELETE /v1/faxes/{id}":          {ok: 204, errors: append(common, 409)},
		"DELETE /v1/faxes/{id}/document": {ok: 204, errors: append(common, 409)},

		"POST /v1/webhook-endpoints":                    {body: "EndpointCreate", ok: 201, response: "Endpoint", errors: common},
		"GET /v1/webhook-endpoints":                     {query: []string{"limit", "cursor"}, ok: 200, response: "EndpointList", errors: common},
		"GET /v1/webhook-endpoints/{id}":                {ok: 200, response: "Endpoint", errors: common},
		"PATCH /v1/webhook-endpoints/{id}":              {body: "EndpointUpdate", ok: 200, response: "Endpoint", errors: common},
		"DELETE /v1/webhook-endpoints/{id}":             {ok: 204, errors: common},
		"POST /v1/webhook-endpoints/{id}/rotate-secret": {body: "Rotate", ok: 200, response: "Endpoint", errors: common},
		"GET /v1/callback-secret":                       {ok: 200, response: "Secret", errors: common},
		"POST /v1/webhook-endpoints/{id}/test":          {ok: 202, response: "Delivery", errors: append(common, 409)},
		"POST /v1/webhook-endpoints/{id}/retry-failed":  {body: "RetryFailed", ok: 202, response: "Retried", errors: append(common, 409)},

		"GET /v1/deliveries":             {query: []string{"endpoint_id", "event_id", "event_type", "fax_id", "status", "since", "until", "limit", "cursor"}, ok: 200, response: "DeliveryList", errors: common},
		"GET /v1/deliveries/{id}":        {ok: 200, response: "Delivery", errors: common},
		"POST /v1/deliveries/{id}/retry": {ok: 202, response: "Delivery", errors: append(common, 409)},

		"POST /v1/sms":               {body: "SMSCreate", ok: 202, response: "SMS", errors: append(common, 422)},
		"GET /v1/sms/{id}":           {ok: 200, response: "SMS", errors: common},
		"POST /v1/simulator/inbound": {body: "SimulatorInbound", ok: 201, response: "Fax", errors: common},

		"GET /v1/audit":            {query: []string{"action", "actor", "target_id", "since", "until", "limit", "cursor"}, ok: 200, response: "AuditList", errors: common},
		"POST /v1/api-keys":        {body: "APIKeyCreate", ok: 201, response: "APIKey", errors: common},
		"GET /v1/api-keys":         {ok: 200, response: "APIKeyList", errors: common},
		"DELETE /v1/api-keys/{id}": {ok: 204, errors: common},
	}
}

var queryDocs = map[string]string{
	"direction": "outbound or inbound", "status": "filter by status", "limit": "page size, 1 to 500 (default 50)",
	"cursor": "next_cursor of the previous page", "action": "filter by action, e.g. fax.send", "actor": "filter by API key id",
	"target_id": "filter by the id acted on", "endpoint_id": "filter by endpoint", "event_id": "filter by event", "event_type": "filter by the event's type (fax.sent, …)",
	"fax_id": "filter by fax", "to": "filter by the whole number faxed to (E.164, as a send takes it)",
	"from":            "filter by the whole number faxed from (E.164, as a send takes it)",
	"document_status": "received faxes whose document is pending, available or unavailable",
	"provider":        "filter by carrier (simulator, phaxio, sinch, gofax, asterisk)", "batch_id": "filter by the batch_id of a send to several numbers",
	"created_after": "created at or after (RFC 3339)", "created_before": "created before (RFC 3339)", "since": "created at or after (RFC 3339)", "until": "created before (RFC 3339)",
}

func str() map[string]any     { return map[string]any{"type": "string"} }
func nstr() map[string]any    { return map[string]any{"type": []string{"string", "null"}} }
func integer() map[string]any { return map[string]any{"type": "integer"} }
func boolean() map[string]any { return map[string]any{"type": "boolean"} }

// described is schema s with a description.
func described(s map[string]any, text string) map[string]any {
	s["description"] = text
	return s
}

// maxAttempts is a send's max_attempts.
func maxAttempts() map[string]any {
	return map[string]any{"type": "integer", "minimum": 1, "maximum": fax.MaxAttemptsLimit,
		"description": "dial attempts in all for a busy, unanswered or unplaced call, the first included (default FAXGATE_REDIAL_ATTEMPTS)"}
}
func arr(v any) map[string]any { return map[string]any{"type": "array", "items": v} }
func enum(v ...string) map[string]any {
	return map[string]any{"type": "string", "enum": v}
}
func obj(req []string, props map[string]any) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(req) > 0 {
		o["required"] = req
	}
	return o
}
func list(item string) map[string]any {
	return obj([]string{"data", "next_cursor"}, map[string]any{"data": arr(ref(item)), "next_cursor": nstr()})
}

func schemas() map[string]any {
	eventTypes := []string{}
	for _, t := range fax.EventTypes() {
		eventTypes = append(eventTypes, string(t))
	}
	errObj := obj([]string{"code", "message"}, map[string]any{"code": str(), "message": str(), "carrier_type": str(), "carrier_code": str(), "carrier_message": str()})
	errObj["type"] = []string{"object", "null"}
	return map[string]any{
		"Object": map[string]any{"type": "object"},
		"Status": obj([]string{"status"}, map[string]any{"status": str()}),
		"Error": obj([]string{"error"}, map[string]any{"error": obj([]string{"code", "message", "request_id"},
			map[string]any{"code": str(), "message": str(), "request_id": str()})}),
		"Fax": obj([]string{"id", "direction", "status", "to", "from", "provider", "provider_fax_id", "pages", "error", "callback_url", "created_at", "updated_at", "completed_at"}, map[string]any{
			"id": str(), "direction": enum("outbound", "inbound"),
			"status": enum("queued", "sending", "sent", "failed", "canceled", "received", "partial"),
			"to":     str(), "from": str(), "provider": str(), "provider_fax_id": nstr(), "pages": integer(), "pages_sent": integer(),
			"error": errObj, "callback_url": nstr(), "header_text": str(), "document_sha256": nstr(), "document_size": integer(),
			"document_purged": boolean(), "document_status": enum("pending", "available", "unavailable"), "document_error": str(),
			"created_at": str(), "updated_at": str(), "completed_at": nstr(),
			"station_id":       described(str(), "the remote machine's station id (TSID/CSID), when the carrier reported it"),
			"caller_id":        described(str(), "the calling line id as the carrier gave it, when it did"),
			"duration_seconds": described(integer(), "how long the transmission took, when the carrier reported it"),
			"bit_rate":         described(integer(), "the negotiated speed in bits per second, when the carrier reported it"),
			"max_attempts":     integer(),
			"attempts": map[string]any{"type": "array", "description": "every try, once a fax had more than one (a redial or a carrier failover)",
				"items": obj([]string{"number", "provider", "provider_fax_id", "started_at", "ended_at", "outcome", "error"}, map[string]any{
					"number": integer(), "provider": str(), "provider_fax_id": nstr(), "started_at": str(), "ended_at": nstr(),
					"outcome": map[string]any{"type": "string", "description": "redial, failover, or the fax's status for the current or last try"},
					"error":   errObj, "retry_at": str(),
				})},
			"batch_id": map[string]any{"type": "string", "description": "set when the fax is one of a send to several numbers"},
		}),
		"FaxList": list("Fax"),
		"Batch":   obj([]string{"batch_id", "data"}, map[string]any{"batch_id": str(), "data": arr(ref("Fax"))}),
		"FaxOrBatch": map[string]any{"oneOf": []any{ref("Fax"), ref("Batch")},
			"description": "a fax when to is one number; a batch (one fax per number) when to is an array or repeated"},
		"SendJSON": obj([]string{"to"}, coverSchema(map[string]any{
			"to": map[string]any{"oneOf": []any{str(), arr(str())},
				"description": "one E.164 number, or an array of them (at most FAXGATE_MAX_RECIPIENTS, default 50): one fax each under one batch_id"}, "from": str(), "callback_url": str(), "provider": enum("simulator", "phaxio", "sinch", "gofax", "asterisk"),
			"header_text": str(), "content_base64": str(), "filename": str(), "content_url": str(),
			"max_attempts": maxAttempts(),
		}, false)),
		"SendMultipart": obj([]string{"to", "file"}, coverSchema(map[string]any{
			"to": map[string]any{"type": "array", "items": str(),
				"description": "one number; repeat the field for several (at most FAXGATE_MAX_RECIPIENTS, default 50): one fax each under one batch_id"}, "file": map[string]any{"type": "array", "items": map[string]any{"type": "string", "contentMediaType": "application/octet-stream"},
				"description": "one part per file, joined in order: PDF, TIFF, text, PNG, JPEG, GIF, BMP, WebP; DOCX, DOC, ODT, RTF, XLSX, ODS, PPTX, HTML when LibreOffice is installed"},
			"from": str(), "callback_url": str(), "provider": str(), "header_text": str(), "content_url": str(),
			"max_attempts": maxAttempts(),
		}, true)),
		"Event": obj([]string{"id", "type", "created_at", "data"}, map[string]any{
			"id": str(), "type": enum(eventTypes...), "created_at": str(), "data": ref("Fax"),
		}),
		"EventList": list("Event"),
		"Endpoint": obj([]string{"id", "url", "events", "inflight", "format", "numbers", "api_version", "enabled"}, map[string]any{
			"id": str(), "url": str(), "events": arr(enum(eventTypes...)), "inflight": boolean(), "format": str(),
			"numbers": arr(str()), "description": str(), "api_version": str(), "enabled": boolean(), "disabled_reason": str(),
			"secret":     map[string]any{"type": "string", "description": "shown only on create and rotate"},
			"created_at": str(), "updated_at": str(),
		}),
		"EndpointList": list("Endpoint"),
		"EndpointCreate": obj([]string{"url"}, map[string]any{
			"url": str(), "events": arr(enum(eventTypes...)), "inflight": boolean(), "format": str(), "numbers": arr(str()),
			"description": str(), "api_version": str(),
		}),
		"EndpointUpdate": obj(nil, map[string]any{
			"url": str(), "events": arr(enum(eventTypes...)), "inflight": boolean(), "format": str(), "numbers": arr(str()),
			"description": str(), "api_version": str(), "enabled": boolean(),
		}),
		"Rotate":      obj(nil, map[string]any{"overlap": map[string]any{"type": "string", "description": "how long the old secret keeps signing, e.g. 24h"}}),
		"Secret":      obj([]string{"secret"}, map[string]any{"secret": str()}),
		"RetryFailed": obj([]string{"since"}, map[string]any{"since": map[string]any{"type": "string", "description": "RFC 3339 time; failed deliveries created since then are retried"}}),
		"Retried":     obj([]string{"retried"}, map[string]any{"retried": integer()}),
		"Attempt": obj([]string{"at", "status_code", "latency_ms", "error"}, map[string]any{
			"at": str(), "status_code": integer(), "latency_ms": integer(), "error": str(), "response_body": str(),
		}),
		"Delivery": obj([]string{"id", "endpoint_id", "event_id", "event_type", "status", "attempts", "next_attempt_at"}, map[string]any{
			"id": str(), "endpoint_id": str(), "event_id": str(), "event_type": str(), "fax_id": str(),
			"status": enum("pending", "succeeded", "failed"), "attempt_count": integer(), "attempts": arr(ref("Attempt")),
			"next_attempt_at": nstr(), "created_at": str(), "updated_at": str(),
		}),
		"DeliveryList": list("Delivery"),
		"SMSCreate":    obj([]string{"to", "text"}, map[string]any{"to": str(), "text": str(), "provider": enum("gofax")}),
		"SMS": obj([]string{"id", "to", "status"}, map[string]any{
			"id": str(), "to": str(), "text_length": integer(), "provider": str(), "provider_sms_id": nstr(),
			"status": enum("queued", "sent", "failed"), "error": errObj, "created_at": str(), "updated_at": str(), "completed_at": nstr(),
		}),
		"SimulatorInbound": obj([]string{"from", "to"}, map[string]any{"from": str(), "to": str(), "pages": integer()}),
		"APIKeyCreate": obj([]string{"name", "scopes"}, map[string]any{
			"name": str(), "scopes": arr(enum(scopeNames()...)),
		}),
		"APIKey": obj([]string{"id", "name", "scopes"}, map[string]any{
			"id": str(), "name": str(), "prefix": str(), "scopes": arr(str()),
			"key": map[string]any{"type": "string", "description": "shown only on create"}, "created_at": str(), "last_used_at": nstr(),
		}),
		"APIKeyList": list("APIKey"),
		"AuditEntry": obj([]string{"id", "at", "actor", "action"}, map[string]any{
			"id": str(), "at": str(), "actor": str(), "action": str(), "target_type": str(), "target_id": str(),
			"outcome": str(), "remote_addr": str(), "detail": str(),
		}),
		"AuditList": list("AuditEntry"),
	}
}

// OpenAPI builds the OpenAPI 3.1 document from the route table.
func (s *Server) OpenAPI() map[string]any {
	ops := operations()
	paths := map[string]any{}
	for _, rt := range s.routes() {
		o := ops[rt.method+" "+rt.path]
		item, _ := paths[rt.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		var params []any
		if strings.Contains(rt.path, "{id}") {
			params = append(params, map[string]any{"name": "id", "in": "path", "required": true, "schema": str()})
		}
		for _, q := range o.query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": str(), "description": queryDocs[q]})
		}
		if rt.method == "POST" && rt.path == "/v1/faxes" {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false, "schema": str(),
				"description": "repeat a send safely: the same key returns the same fax"})
		}
		responses := map[string]any{}
		okResp := map[string]any{"description": http.StatusText(o.ok)}
		switch o.response {
		case "":
		case "PDF":
			okResp["content"] = map[string]any{"application/pdf": map[string]any{"schema": map[string]any{"type": "string", "contentMediaType": "application/pdf"}}}
		case "Prometheus":
			okResp["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string", "description": "Prometheus text exposition format"}}}
		default:
			okResp["content"] = map[string]any{"application/json": map[string]any{"schema": ref(o.response)}}
		}
		responses[itoa(o.ok)] = okResp
		for _, code := range o.errors {
			responses[itoa(code)] = map[string]any{"description": http.StatusText(code),
				"content": map[string]any{"application/json": map[string]any{"schema": ref("Error")}}}
		}
		operation := map[string]any{
			"summary":     rt.summary,
			"operationId": operationID(rt.method, rt.path),
			"responses":   responses,
		}
		if len(params) > 0 {
			operation["parameters"] = params
		}
		if o.body != "" {
			content := map[string]any{"application/json": map[string]any{"schema": ref(o.body)}}
			if rt.path == "/v1/faxes" {
				content["multipart/form-data"] = map[string]any{"schema": ref("SendMultipart")}
			}
			operation["requestBody"] = map[string]any{"required": rt.path != "/v1/webhook-endpoints/{id}/rotate-secret", "content": content}
		}
		if rt.scope != "" {
			operation["security"] = []any{map[string]any{"bearer": []string{}}, map[string]any{"apiKey": []string{}}}
			operation["description"] = "Requires the " + string(rt.scope) + " scope."
		} else {
			operation["security"] = []any{}
		}
		item[strings.ToLower(rt.method)] = operation
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "faxgate API", "version": fax.APIVersion,
			"description": "Send and receive faxes through cloud carriers or Asterisk; signed webhooks out. " +
				"Each route takes only the query parameters it lists, each once: an unknown or repeated one gets 400 naming it; " +
				"so does a repeated multipart field of a send, except file and to."},
		"paths": paths,
		"components": map[string]any{
			"schemas": schemas(),
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer"},
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
			},
		},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.Split(path, "/") {
		part = strings.Trim(part, "{}")
		for _, w := range strings.FieldsFunc(part, func(r rune) bool { return r == '-' || r == '.' || r == '_' }) {
			if w == "v1" {
				continue
			}
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.OpenAPI())
	return nil
}

func scopeNames() []string {
	var out []string
	for _, s := range fax.AllScopes() {
		out = append(out, string(s))
	}
	return out
}
