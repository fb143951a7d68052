package providertest

import (
	"encoding/json"
	"maps"
	"net/http"
	"sync"
	"testing"
)

// GoFax's account endpoints (PROVIDERS.md): the send settings hold the
// fax-sent webhook, the account details the fax-received one.
const (
	GoFaxAccountDetails = "/v1.0/Account/Details"
	GoFaxSendSettings   = "/v1.0/SendFax/Settings"
)

// GoFaxAccount is GoFax's account API on loopback: GET and PUT of
// /v1.0/Account/Details and /v1.0/SendFax/Settings, each a JSON object the
// fake keeps, with the API token as the token query parameter. A wrong
// token gets 401 with no body, as GoFax answers; a PUT replaces the object
// and answers {"Success":true}. Every request is recorded by its Fake.
type GoFaxAccount struct {
	*Fake
	mu      sync.Mutex
	objects map[string]map[string]any
}

// NewGoFaxAccount starts the fake with token and the objects it holds at
// first (by path; a path not given starts as an empty object).
func NewGoFaxAccount(t *testing.T, token string, objects map[string]map[string]any) *GoFaxAccount {
	t.Helper()
	g := &GoFaxAccount{objects: map[string]map[string]any{GoFaxAccountDetails: {}, GoFaxSendSettings: {}}}
	for p, o := range objects {
		g.objects[p] = maps.Clone(o)
	}
	g.Fake = NewFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("token") != token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		obj, ok := g.objects[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			json.NewEncoder(w).Encode(obj)
		case http.MethodPut:
			var next map[string]any
			if err := json.NewDecoder(r.Body).Decode(&next); err != nil || next == nil {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]any{"Success": false, "Message": "The request is invalid."})
				return
			}
			g.objects[r.URL.Path] = next
			json.NewEncoder(w).Encode(map[string]any{"Success": true, "Message": nil})
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	return g
}

// Object returns a copy of the object the fake holds at path.
func (g *GoFaxAccount) Object(path string) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.objects[path])
}
