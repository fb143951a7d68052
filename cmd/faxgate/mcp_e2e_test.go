package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// keyTransport adds an API key to every request of the MCP client.
type keyTransport struct{ key string }

func (t keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	if t.key != "" {
		r.Header.Set("Authorization", "Bearer "+t.key)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// mcpSession connects the Go SDK's client to the gateway's /mcp with key.
func mcpSession(t *testing.T, ctx context.Context, g *gateway, key string) *sdk.ClientSession {
	t.Helper()
	c := sdk.NewClient(&sdk.Implementation{Name: "faxgate-test", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: g.url + "/mcp",
		HTTPClient: &http.Client{Transport: keyTransport{key}}, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// callTool calls a tool and returns its text, failing unless the tool's
// outcome is wantErr.
func callTool(t *testing.T, ctx context.Context, cs *sdk.ClientSession, name string, args map[string]any, wantErr bool) (string, *sdk.CallToolResult) {
	t.Helper()
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	text := ""
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			text += tc.Text
		}
	}
	if res.IsError != wantErr {
		t.Fatalf("%s: got IsError %t (%s), want %t", name, res.IsError, text, wantErr)
	}
	return text, res
}

func toolNames(t *testing.T, ctx context.Context, cs *sdk.ClientSession) []string {
	t.Helper()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range res.Tools {
		if tl.Description == "" {
			t.Errorf("tool %s has no description", tl.Name)
		}
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

var allTools = []string{"cancel_fax", "fax_timeline", "get_fax", "get_fax_document", "list_deliveries", "list_faxes", "receive_test_fax", "retry_delivery", "send_fax"}

// TestMCPHTTP drives every tool through /mcp with the Go SDK's client.
func TestMCPHTTP(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := mcpSession(t, ctx, g, adminKey)
	if got := toolNames(t, ctx, cs); !slices.Equal(got, allTools) {
		t.Fatalf("got tools %v, want %v", got, allTools)
	}
	text, _ := callTool(t, ctx, cs, "send_fax", map[string]any{"to": "+15551230100", "text": "Hello from an assistant.\n"}, false)
	var f struct{ ID, To, Status string }
	if err := json.Unmarshal([]byte(text), &f); err != nil || !strings.HasPrefix(f.ID, "fax_") || f.To != "+15551230100" {
		t.Fatalf("send_fax answered %s (%v), want a fax with its whole number (the admin may read faxes)", text, err)
	}
	for deadline := time.Now().Add(time.Minute); f.Status != "sent" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		text, _ = callTool(t, ctx, cs, "get_fax", map[string]any{"id": f.ID}, false)
		json.Unmarshal([]byte(text), &f)
	}
	if f.Status != "sent" {
		t.Fatalf("get_fax: got status %s, want sent", f.Status)
	}
	text, _ = callTool(t, ctx, cs, "fax_timeline", map[string]any{"id": f.ID}, false)
	if !strings.Contains(text, `"fax.sent"`) {
		t.Fatalf("fax_timeline: got %s, want fax.sent in it", text)
	}
	text, _ = callTool(t, ctx, cs, "list_faxes", map[string]any{"direction": "outbound", "limit": 5}, false)
	if !strings.Contains(text, f.ID) {
		t.Fatalf("list_faxes: got %s, want %s in it", text, f.ID)
	}
	callTool(t, ctx, cs, "cancel_fax", map[string]any{"id": f.ID}, true) // final: 409

	text, _ = callTool(t, ctx, cs, "receive_test_fax", map[string]any{"from": "+15557654321", "to": "+15551112222", "pages": 2}, false)
	var in struct{ ID, Direction string }
	json.Unmarshal([]byte(text), &in)
	if in.Direction != "inbound" {
		t.Fatalf("receive_test_fax: got %s, want an inbound fax", text)
	}
	_, res := callTool(t, ctx, cs, "get_fax_document", map[string]any{"id": in.ID}, false)
	er, ok := res.Content[0].(*sdk.EmbeddedResource)
	if !ok || er.Resource.MIMEType != "application/pdf" || !bytes.HasPrefix(er.Resource.Blob, []byte("%PDF")) {
		t.Fatalf("get_fax_document: got %#v, want an embedded PDF", res.Content[0])
	}
	// A delivery of the fax's events, listed and retried through MCP.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer hook.Close()
	var ep struct{ ID string }
	if g.do("POST", "/v1/webhook-endpoints", map[string]any{"url": hook.URL, "events": []string{"fax.sent"}}, &ep) != 201 {
		t.Fatal("create an endpoint")
	}
	text, _ = callTool(t, ctx, cs, "send_fax", map[string]any{"to": "+15551230101", "text": "with a webhook\n"}, false)
	json.Unmarshal([]byte(text), &f)
	var dl struct{ Data []struct{ ID string } }
	for deadline := time.Now().Add(time.Minute); len(dl.Data) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		text, _ = callTool(t, ctx, cs, "list_deliveries", map[string]any{"fax_id": f.ID}, false)
		json.Unmarshal([]byte(text), &dl)
	}
	if len(dl.Data) == 0 {
		t.Fatalf("list_deliveries of %s: got none", f.ID)
	}
	text, _ = callTool(t, ctx, cs, "retry_delivery", map[string]any{"id": dl.Data[0].ID}, false)
	if !strings.Contains(text, dl.Data[0].ID) {
		t.Fatalf("retry_delivery: got %s, want the delivery", text)
	}
	text, _ = callTool(t, ctx, cs, "retry_delivery", map[string]any{"id": "dlv_nosuchdelivery"}, true)
	if !strings.Contains(text, "not_found") {
		t.Fatalf("retry_delivery of an unknown id: got %s, want not_found", text)
	}
	// A document over the SDK's default 4 MiB body, in base64, reaches the
	// API, which judges it (random bytes: 415).
	big := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x00, 0xff, 0x13, 0x37}, 900<<10))
	text, _ = callTool(t, ctx, cs, "send_fax", map[string]any{"to": "+15551230100", "content_base64": big, "filename": "big.bin"}, true)
	if !strings.Contains(text, "415 unsupported_type") {
		t.Fatalf("send_fax of a 3.5 MiB document: got %.200s, want the API's 415", text)
	}
	// The API validates a send from MCP as any other.
	text, _ = callTool(t, ctx, cs, "send_fax", map[string]any{"to": "12", "text": "x"}, true)
	if !strings.Contains(text, "400 invalid") {
		t.Fatalf("send_fax to a bad number: got %s, want the API's 400 invalid", text)
	}
}

// TestMCPScopes: /mcp needs an API key; a key without fax:send cannot send
// through MCP; a key without fax:read sees masked numbers.
func TestMCPScopes(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resp, err := http.Post(g.url+"/mcp", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/mcp without a key: got %d, want 401", resp.StatusCode)
	}

	// Behind a reverse proxy on the same machine, requests arrive on
	// loopback with the public Host; the key is what guards /mcp.
	req, _ := http.NewRequest("POST", g.url+"/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`))
	req.Host = "fax.example.com"
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("send_fax")) {
		t.Fatalf("/mcp through a proxy's Host: got %d %s, want 200 listing the tools", resp.StatusCode, body)
	}

	var reader, sender struct{ Key string }
	g.do("POST", "/v1/api-keys", map[string]any{"name": "reader", "scopes": []string{"fax:read"}}, &reader)
	g.do("POST", "/v1/api-keys", map[string]any{"name": "sender", "scopes": []string{"fax:send"}}, &sender)

	rs := mcpSession(t, ctx, g, reader.Key)
	text, _ := callTool(t, ctx, rs, "send_fax", map[string]any{"to": "+15551230100", "text": "must not go"}, true)
	if !strings.Contains(text, "403 forbidden") {
		t.Fatalf("send_fax with a fax:read key: got %s, want 403 forbidden", text)
	}
	var list struct{ Data []any }
	g.do("GET", "/v1/faxes", nil, &list)
	if len(list.Data) != 0 {
		t.Fatalf("got %d faxes after a refused send, want 0", len(list.Data))
	}

	ss := mcpSession(t, ctx, g, sender.Key)
	text, _ = callTool(t, ctx, ss, "send_fax", map[string]any{"to": "+15551230100", "from": "+15559998888", "text": "masked"}, false)
	if strings.Contains(text, "5551230100") || strings.Contains(text, "5559998888") || !strings.Contains(text, "…0100") {
		t.Fatalf("send_fax with a key without fax:read: got %s, want the numbers masked to their last four digits", text)
	}
	callTool(t, ctx, ss, "list_faxes", nil, true) // 403: no fax:read
}

// TestMCPStdio runs `faxgate mcp` as a subprocess and drives it with the Go
// SDK's command transport.
func TestMCPStdio(t *testing.T) {
	g := startGateway(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "faxgate")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "mcp")
	cmd.Env = append(os.Environ(), "FAXGATE_URL="+g.url, "FAXGATE_API_KEY="+adminKey)
	c := sdk.NewClient(&sdk.Implementation{Name: "faxgate-test", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if got := toolNames(t, ctx, cs); !slices.Equal(got, allTools) {
		t.Fatalf("got tools %v, want %v", got, allTools)
	}
	text, _ := callTool(t, ctx, cs, "send_fax", map[string]any{"to": "+15551230100", "content_base64": "SGVsbG8gb3ZlciBzdGRpbwo=", "filename": "a.txt"}, false)
	var f struct{ ID string }
	json.Unmarshal([]byte(text), &f)
	var got struct{ ID, To string }
	if g.do("GET", "/v1/faxes/"+f.ID, nil, &got) != 200 || got.To != "+15551230100" {
		t.Fatalf("the fax sent over stdio: got %+v, want it stored", got)
	}
}
