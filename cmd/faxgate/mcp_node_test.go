package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestMCPNodeClient: the TypeScript SDK's MCP client, under Node, lists
// faxgate's tools at /mcp and sends a fax through the simulator; with a key
// lacking fax:send the send is refused.
func TestMCPNodeClient(t *testing.T) {
	dir := "../../internal/mcp/testdata/node"
	node := nodeProject(t, dir, "@modelcontextprotocol/sdk/package.json")
	g := startGateway(t)
	var out struct {
		Tools     []string `json:"tools"`
		SendError bool     `json:"send_error"`
		SendText  string   `json:"send_text"`
		FaxID     string   `json:"fax_id"`
		Status    string   `json:"status"`
	}
	b := runNode(t, dir, []string{"FAXGATE_URL=" + g.url, "FAXGATE_API_KEY=" + adminKey, "FAX_TO=+15551230100"}, node, "client.mjs")
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("client.mjs printed %s: %v", b, err)
	}
	if !slices.Equal(out.Tools, allTools) || out.SendError || out.Status != "sent" {
		t.Fatalf("got %+v, want every tool listed and the fax sent", out)
	}
	var f struct{ Status string }
	if g.do("GET", "/v1/faxes/"+out.FaxID, nil, &f) != 200 || f.Status != "sent" {
		t.Fatalf("the gateway has fax %s as %+v, want sent", out.FaxID, f)
	}

	var reader struct{ Key string }
	g.do("POST", "/v1/api-keys", map[string]any{"name": "reader", "scopes": []string{"fax:read"}}, &reader)
	b = runNode(t, dir, []string{"FAXGATE_URL=" + g.url, "FAXGATE_API_KEY=" + reader.Key, "FAX_TO=+15551230100"}, node, "client.mjs")
	out.SendError, out.SendText = false, ""
	json.Unmarshal(b, &out)
	if !out.SendError || !strings.Contains(out.SendText, "403 forbidden") {
		t.Fatalf("a fax:read key sending through MCP: got %+v, want 403 forbidden", out)
	}
}
