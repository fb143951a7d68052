package api

import (
	"encoding/json"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRouter checks the OpenAPI document against the router
// both ways, so the document cannot drift: every served route is
// documented, every documented operation is served, and every $ref
// resolves.
func TestOpenAPIMatchesRouter(t *testing.T) {
	s := New(Options{})
	doc := s.OpenAPI()
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed.OpenAPI != "3.1.0" {
		t.Errorf("openapi: got %q, want 3.1.0", parsed.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range parsed.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	ops := operations()
	served := map[string]bool{}
	for _, rt := range s.routes() {
		key := rt.method + " " + rt.path
		served[key] = true
		if !documented[key] {
			t.Errorf("route %s is not in the OpenAPI document", key)
		}
		if _, ok := ops[key]; !ok {
			t.Errorf("route %s has no operation description", key)
		}
		// The mux really serves the route with that pattern.
		path := strings.ReplaceAll(rt.path, "{id}", "x_1")
		if _, pattern := s.mux.Handler(httptest.NewRequest(rt.method, path, nil)); pattern != key {
			t.Errorf("%s %s is served by pattern %q, want %q", rt.method, path, pattern, key)
		}
	}
	for key := range documented {
		if !served[key] {
			t.Errorf("documented operation %s is not served", key)
		}
	}
	for key := range ops {
		if !served[key] {
			t.Errorf("operation description %s has no route", key)
		}
	}
	// Every $ref resolves.
	var refs []string
	collectRefs(doc, &refs)
	sort.Strings(refs)
	for _, r := range refs {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		if _, ok := parsed.Components.Schemas[name]; !ok || name == r {
			t.Errorf("$ref %s does not resolve", r)
		}
	}
	if len(refs) == 0 {
		t.Error("no $refs found; the walk is broken")
	}
}

func collectRefs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == "$ref" {
				*out = append(*out, val.(string))
				continue
			}
			collectRefs(val, out)
		}
	case []any:
		for _, e := range x {
			collectRefs(e, out)
		}
	}
}

func TestOperationIDsUnique(t *testing.T) {
	seen := map[string]string{}
	for _, rt := range New(Options{}).routes() {
		id := operationID(rt.method, rt.path)
		if prev, ok := seen[id]; ok {
			t.Errorf("operationId %s used by %s and %s %s", id, prev, rt.method, rt.path)
		}
		seen[id] = rt.method + " " + rt.path
	}
}
