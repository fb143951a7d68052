package client_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/faxgate/faxgate/client"
	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/wire"
)

// jsonFields lists the JSON names of t's fields, embedded structs flattened.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// TestTypesMatchWire keeps the client's types in step with the gateway's
// wire shapes: a field added to one and not the other fails here.
func TestTypesMatchWire(t *testing.T) {
	pairs := []struct{ client, wire any }{
		{client.Fax{}, wire.Fax{}},
		{client.Batch{}, wire.Batch{}},
		{client.FaxError{}, wire.Error{}},
		{client.FaxEventData{}, wire.EventData{}},
		{client.FaxAttempt{}, wire.DialAttempt{}},
		{client.Event{}, wire.Event{}},
		{client.Endpoint{}, wire.Endpoint{}},
		{client.Attempt{}, wire.Attempt{}},
		{client.Delivery{}, wire.Delivery{}},
		{client.APIKey{}, wire.APIKey{}},
		{client.SMS{}, wire.SMS{}},
		{client.AuditEntry{}, wire.AuditEntry{}},
		{client.Page[int]{}, wire.List[int]{}},
	}
	for _, p := range pairs {
		ct, wt := reflect.TypeOf(p.client), reflect.TypeOf(p.wire)
		if got, want := jsonFields(ct), jsonFields(wt); !slices.Equal(got, want) {
			t.Errorf("%s has JSON fields %v, want those of wire.%s: %v", ct, got, wt.Name(), want)
		}
	}
}

// clientMethods names the Client method of each route of the API.
var clientMethods = map[string]string{
	"GET /healthz":      "Health",
	"GET /readyz":       "Ready",
	"GET /openapi.json": "OpenAPI",
	"GET /metrics":      "Metrics",

	"POST /v1/faxes":                 "SendFax",
	"GET /v1/faxes":                  "ListFaxes",
	"GET /v1/faxes/{id}":             "GetFax",
	"GET /v1/faxes/{id}/document":    "FaxDocument",
	"GET /v1/faxes/{id}/events":      "FaxEvents",
	"POST /v1/faxes/{id}/cancel":     "CancelFax",
	"DELETE /v1/faxes/{id}":          "DeleteFax",
	"DELETE /v1/faxes/{id}/document": "DeleteFaxDocument",

	"POST /v1/webhook-endpoints":                    "CreateEndpoint",
	"GET /v1/webhook-endpoints":                     "ListEndpoints",
	"GET /v1/webhook-endpoints/{id}":                "GetEndpoint",
	"PATCH /v1/webhook-endpoints/{id}":              "UpdateEndpoint",
	"DELETE /v1/webhook-endpoints/{id}":             "DeleteEndpoint",
	"POST /v1/webhook-endpoints/{id}/rotate-secret": "RotateEndpointSecret",
	"POST /v1/webhook-endpoints/{id}/test":          "TestEndpoint",
	"POST /v1/webhook-endpoints/{id}/retry-failed":  "RetryFailedDeliveries",
	"GET /v1/callback-secret":                       "CallbackSecret",

	"GET /v1/deliveries":             "ListDeliveries",
	"GET /v1/deliveries/{id}":        "GetDelivery",
	"POST /v1/deliveries/{id}/retry": "RetryDelivery",

	"POST /v1/sms":               "SendSMS",
	"GET /v1/sms/{id}":           "GetSMS",
	"POST /v1/simulator/inbound": "SimulateInbound",

	"GET /v1/audit":            "ListAudit",
	"POST /v1/api-keys":        "CreateAPIKey",
	"GET /v1/api-keys":         "ListAPIKeys",
	"DELETE /v1/api-keys/{id}": "DeleteAPIKey",
}

// TestEveryRouteHasAMethod fails when the router gains a route the client
// cannot call: the OpenAPI document is built from the route table.
func TestEveryRouteHasAMethod(t *testing.T) {
	doc := api.New(api.Options{}).OpenAPI()
	ct := reflect.TypeOf(&client.Client{})
	n := 0
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			n++
			route := strings.ToUpper(method) + " " + path
			name, ok := clientMethods[route]
			if !ok {
				t.Errorf("route %s has no client method", route)
				continue
			}
			if _, ok := ct.MethodByName(name); !ok {
				t.Errorf("route %s: Client has no method %s", route, name)
			}
		}
	}
	if n != len(clientMethods) {
		t.Errorf("the document has %d operations, the client maps %d", n, len(clientMethods))
	}
}
