package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/faxgate/faxgate/client"
	"github.com/faxgate/faxgate/internal/api"
	"github.com/faxgate/faxgate/internal/fax"
	"github.com/faxgate/faxgate/internal/mcp"
)

// mountMCP serves the MCP server at /mcp (streamable HTTP, stateless: each
// request carries its API key). Its tools call the API through the Go
// client over an in-process transport with the caller's own Authorization
// or X-API-Key header, so the API's scope checks, validation and audit
// apply to every tool call as to any other request.
func (m *Main) mountMCP() {
	// Built on the first call: the SDK works out every tool's JSON schema
	// by reflection, which would otherwise cost every gateway resident
	// memory from the start, MCP used or not.
	h := sync.OnceValue(m.newMCPHandler)
	m.API.Mux().Handle("/mcp", m.API.RequireKey(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h().ServeHTTP(w, r)
	})))
}

// newMCPHandler builds the MCP server and its streamable-HTTP handler.
func (m *Main) newMCPHandler() http.Handler {
	var ids fax.IDGen
	hc := &http.Client{Transport: inProcess{api.WithRequestID(m.API, &ids, m.Now)}}
	srv := mcp.New(mcp.Options{Simulator: m.Simulator != nil, Version: version,
		ClientFunc: func(ctx context.Context, h http.Header) (*client.Client, bool, error) {
			r := &http.Request{Header: h}
			k, err := m.API.AuthenticateRequest(r.WithContext(ctx))
			if err != nil {
				return nil, false, err
			}
			key := h.Get("X-API-Key")
			if key == "" {
				_, key, _ = cutBearer(h.Get("Authorization"))
			}
			// The client sends the key as a Bearer token, which the API
			// accepts as it accepts X-API-Key.
			c, err := client.New("http://faxgate.internal", key, &client.Options{HTTPClient: hc, MaxRetries: -1, UserAgent: "faxgate-mcp"})
			return c, k.Has(fax.ScopeFaxRead), err
		}})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, &sdk.StreamableHTTPOptions{
		Stateless: true, JSONResponse: true, Logger: m.Logger, PropagateRequestCancellation: true,
		// A send_fax call carries its document in base64: room for the
		// largest document the API accepts.
		MaxRequestBodyBytes: m.Config.MaxDocument/3*4 + 64<<10,
		// The SDK refuses a non-localhost Host arriving on loopback, against
		// DNS rebinding; that also refuses a reverse proxy on the same
		// machine. /mcp needs an API key in a header, which a rebound page
		// does not have.
		DisableLocalhostProtection: true,
	})
	return h
}

// inProcess is a RoundTripper that serves a request with the gateway's own
// handler instead of a socket.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = r.URL.RequestURI()
	// The audit trail records where a request came from.
	in.RemoteAddr = "mcp"
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	return rec.Result(), nil
}
