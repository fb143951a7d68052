package mcp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/faxgate/faxgate/client"
	"github.com/faxgate/faxgate/internal/mcp"
)

const faxJSON = `{"id":"fax_1","direction":"outbound","status":"sent","to":"+15551234567","from":"+15559876543","provider":"simulator",` +
	`"provider_fax_id":null,"pages":1,"error":null,"callback_url":null,"document_sha256":null,"document_size":1,` +
	`"created_at":"2026-12-01T00:00:00.000Z","updated_at":"2026-12-01T00:00:00.000Z","completed_at":null}`

// session serves the MCP server over the SDK's in-memory transport, its
// tools calling a fake API on loopback with a key that may or may not read
// faxes.
func session(t *testing.T, canRead bool) (*sdk.ClientSession, *[]string) {
	t.Helper()
	var calls []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/faxes/fax_1":
			io.WriteString(w, faxJSON)
		case "/v1/faxes/fax_1/events":
			io.WriteString(w, `{"data":[{"id":"evt_1","type":"fax.sent","created_at":"2026-12-01T00:00:00.000Z","data":`+faxJSON+`}],"next_cursor":null}`)
		default:
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"code":"not_found","message":"no","request_id":"req_1"}}`)
		}
	}))
	t.Cleanup(api.Close)
	c, err := client.New(api.URL, "key", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := mcp.New(mcp.Options{ClientFunc: func(context.Context, http.Header) (*client.Client, bool, error) { return c, canRead, nil }})
	st, ct := sdk.NewInMemoryTransports()
	ctx := context.Background()
	if _, err := srv.Connect(ctx, st, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, &calls
}

func call(t *testing.T, cs *sdk.ClientSession, name string, args map[string]any) (string, bool) {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String(), res.IsError
}

// TestMasking: without fax:read, numbers in a fax and in its timeline show
// only their last four digits; with it, whole.
func TestMasking(t *testing.T) {
	t.Parallel()
	cs, _ := session(t, false)
	for _, tool := range []string{"get_fax", "fax_timeline"} {
		text, isErr := call(t, cs, tool, map[string]any{"id": "fax_1"})
		if isErr || strings.Contains(text, "5551234567") || strings.Contains(text, "5559876543") || !strings.Contains(text, "…4567") || !strings.Contains(text, "…6543") {
			t.Fatalf("%s without fax:read: got %s, want the numbers masked", tool, text)
		}
	}
	cs, _ = session(t, true)
	if text, _ := call(t, cs, "get_fax", map[string]any{"id": "fax_1"}); !strings.Contains(text, "+15551234567") {
		t.Fatalf("get_fax with fax:read: got %s, want the whole number", text)
	}
}

// TestSendNeedsOneDocument: send_fax refuses no document or two before
// calling the API, and an API error reaches the model with its code.
func TestSendNeedsOneDocument(t *testing.T) {
	t.Parallel()
	cs, calls := session(t, true)
	for _, args := range []map[string]any{
		{"to": "+15551234567"},
		{"to": "+15551234567", "text": "a", "content_url": "https://example.com/a.pdf"},
		{"to": "+15551234567", "content_base64": "not base64!"},
	} {
		if text, isErr := call(t, cs, "send_fax", args); !isErr {
			t.Fatalf("send_fax %v: got %s, want a tool error", args, text)
		}
	}
	if len(*calls) != 0 {
		t.Fatalf("got API calls %v, want none", *calls)
	}
	text, isErr := call(t, cs, "get_fax", map[string]any{"id": "fax_2"})
	if !isErr || !strings.Contains(text, "404 not_found") || !strings.Contains(text, "req_1") {
		t.Fatalf("get_fax of an unknown fax: got %s, want 404 not_found with the request id", text)
	}
	res, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tl := range res.Tools {
		if tl.Name == "receive_test_fax" {
			t.Fatal("receive_test_fax listed without the simulator")
		}
	}
}
