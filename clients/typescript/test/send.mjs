// Sends a fax through a live gateway with the package under Node, as a new
// user would: FAXGATE_URL and FAXGATE_API_KEY name the gateway. A webhook
// endpoint on loopback receives fax.sent and verifies it with
// verifyWebhook. Prints one JSON line of what it saw.
import http from "node:http";
import { createFaxgateClient, sendFax, sendBatch, waitFax, listAllFaxes, unwrap, verifyWebhook, FaxgateError } from "../dist/index.js";

const client = createFaxgateClient({ baseUrl: process.env.FAXGATE_URL, apiKey: process.env.FAXGATE_API_KEY });
const out = {};

let resolveHook;
const hook = new Promise((r) => (resolveHook = r));
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    resolveHook({ body, headers: req.headers });
    res.writeHead(204).end();
  });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const endpoint = await unwrap(
  client.POST("/v1/webhook-endpoints", { body: { url: `http://127.0.0.1:${server.address().port}/hook`, events: ["fax.sent"] } }),
);

const queued = await sendFax(client, { to: "+15551230100", document: "Hello from TypeScript.\n", idempotencyKey: "ts-1" });
const again = await sendFax(client, { to: "+15551230100", document: "Hello from TypeScript.\n", idempotencyKey: "ts-1" });
const fax = await waitFax(client, queued.id, 50);
out.fax_id = fax.id;
out.status = fax.status;
out.idempotent = again.id === queued.id;

const delivery = await hook;
const event = verifyWebhook(["whsec_c3RyYW5nZXItc2VjcmV0LXN0cmFuZ2VyLXNlY3JldA==", endpoint.secret], delivery.body, delivery.headers);
out.webhook_type = event.type;
out.webhook_fax = event.data.id;
try {
  verifyWebhook([endpoint.secret], delivery.body.replace('"sent"', '"failed"'), delivery.headers);
  out.tampered_rejected = false;
} catch {
  out.tampered_rejected = true;
}

out.listed = false;
for await (const f of listAllFaxes(client, { limit: "1" })) if (f.id === fax.id) out.listed = true;

const batch = await sendBatch(client, { to: ["+15551230101", "+15551230102"], document: "To two.\n" });
out.batch_listed = 0;
for await (const f of listAllFaxes(client, { batch_id: batch.batch_id, provider: "simulator" })) if (f.batch_id === batch.batch_id) out.batch_listed++;

try {
  await unwrap(client.GET("/v1/faxes/{id}", { params: { path: { id: "fax_nosuchfax" } } }));
} catch (e) {
  out.error = e instanceof FaxgateError ? `${e.status} ${e.code} ${e.requestId !== ""}` : String(e);
}
await unwrap(client.DELETE("/v1/webhook-endpoints/{id}", { params: { path: { id: endpoint.id } } })).catch(() => {});
server.close();
console.log(JSON.stringify(out));
