// An independent MCP client for faxgate's tests: the official TypeScript SDK
// connects to FAXGATE_URL/mcp with FAXGATE_API_KEY, lists the tools, sends a
// fax to the simulator and waits until it is sent. It prints one JSON line.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const base = process.env.FAXGATE_URL;
const key = process.env.FAXGATE_API_KEY;
const transport = new StreamableHTTPClientTransport(new URL(base + "/mcp"), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: "faxgate-node-test", version: "1.0.0" });
await client.connect(transport);

const { tools } = await client.listTools();
const text = (res) => res.content.filter((c) => c.type === "text").map((c) => c.text).join("");

const sent = await client.callTool({
  name: "send_fax",
  arguments: { to: process.env.FAX_TO, text: "Hello from the TypeScript MCP client.\n" },
});
const out = { tools: tools.map((t) => t.name).sort(), send_error: sent.isError === true, send_text: text(sent) };
if (!sent.isError) {
  let fax = JSON.parse(text(sent));
  for (let i = 0; i < 600 && (fax.status === "queued" || fax.status === "sending"); i++) {
    await new Promise((r) => setTimeout(r, 50));
    fax = JSON.parse(text(await client.callTool({ name: "get_fax", arguments: { id: fax.id } })));
  }
  out.fax_id = fax.id;
  out.status = fax.status;
}
await client.close();
console.log(JSON.stringify(out));
