// The TypeScript client of faxgate's API v1. The types in schema.d.ts are
// generated from the gateway's /openapi.json by openapi-typescript (npm run
// generate); a Go test fails when they are stale. Requests go through
// openapi-fetch, so every path, parameter and body is type-checked.
import createClient, { type Client } from "openapi-fetch";
import { Webhook } from "standardwebhooks";
import type { components, operations, paths } from "./schema.js";

export type { components, paths };
export type Fax = components["schemas"]["Fax"];
export type Batch = components["schemas"]["Batch"];
export type FaxList = components["schemas"]["FaxList"];
export type Event = components["schemas"]["Event"];
export type Endpoint = components["schemas"]["Endpoint"];
export type Delivery = components["schemas"]["Delivery"];
export type APIKey = components["schemas"]["APIKey"];
export type SendJSON = components["schemas"]["SendJSON"];
export type FaxgateClient = Client<paths>;

export interface FaxgateOptions {
  /** The gateway, e.g. "http://localhost:8080". */
  baseUrl: string;
  /** An API key; its scopes decide what the client may do. */
  apiKey: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
}

/** createFaxgateClient returns a typed openapi-fetch client of the gateway. */
export function createFaxgateClient(opts: FaxgateOptions): FaxgateClient {
  return createClient<paths>({
    baseUrl: opts.baseUrl.replace(/\/+$/, ""),
    headers: { Authorization: `Bearer ${opts.apiKey}` },
    fetch: opts.fetch,
  });
}

/** FaxgateError is the API's error answer with its HTTP status. */
export class FaxgateError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string,
  ) {
    super(`faxgate: ${status} ${code}: ${message}`);
    this.name = "FaxgateError";
  }
}

type ErrorBody = components["schemas"]["Error"];

/**
 * unwrap returns the data of an openapi-fetch answer, or throws a
 * FaxgateError carrying the API's code, message and request id.
 */
export async function unwrap<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await p;
  if (error !== undefined || !response.ok) {
    const e = (error as ErrorBody | undefined)?.error;
    throw new FaxgateError(
      response.status,
      e?.code ?? `http_${response.status}`,
      e?.message ?? response.statusText,
      e?.request_id ?? response.headers.get("X-Request-Id") ?? "",
    );
  }
  return data as T;
}

export interface SendFaxOptions extends Omit<SendJSON, "to" | "content_base64" | "filename" | "content_url"> {
  /** The number to fax, E.164 such as +15551234567. */
  to: string;
  /** The document: PDF, TIFF or text bytes, or a string of text. */
  document?: Uint8Array | string;
  /** The document's file name (default "document.txt" for a string, else "document"). */
  filename?: string;
  /** Or a URL the gateway fetches the document from. */
  contentUrl?: string;
  /** Repeat-safe key: sending again with it returns the same fax. */
  idempotencyKey?: string;
}

/** sendFax sends a document to one number and returns the queued fax. */
export async function sendFax(client: FaxgateClient, o: SendFaxOptions): Promise<Fax> {
  return (await send(client, o)) as Fax;
}

export interface SendBatchOptions extends Omit<SendFaxOptions, "to"> {
  /** The numbers to fax, one fax each under one batch_id; one bad number refuses them all. */
  to: string[];
}

/** sendBatch sends a document to several numbers and returns the batch: its id and one queued fax per number. */
export async function sendBatch(client: FaxgateClient, o: SendBatchOptions): Promise<Batch> {
  return (await send(client, o)) as Batch;
}

async function send(client: FaxgateClient, o: SendFaxOptions | SendBatchOptions): Promise<Fax | Batch> {
  const { document, filename, contentUrl, idempotencyKey, ...fields } = o;
  const body: SendJSON = { ...fields };
  if (document !== undefined) {
    const bytes = typeof document === "string" ? new TextEncoder().encode(document) : document;
    body.content_base64 = toBase64(bytes);
    body.filename = filename ?? (typeof document === "string" ? "document.txt" : "document");
  }
  if (contentUrl !== undefined) body.content_url = contentUrl;
  return unwrap(
    client.POST("/v1/faxes", {
      params: { header: idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {} },
      body,
    }),
  );
}

/** waitFax polls a fax until its status is final. */
export async function waitFax(client: FaxgateClient, id: string, intervalMs = 1000, signal?: AbortSignal): Promise<Fax> {
  for (;;) {
    const fax = await unwrap(client.GET("/v1/faxes/{id}", { params: { path: { id } }, signal }));
    if (fax.status !== "queued" && fax.status !== "sending") return fax;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** listAllFaxes iterates over every fax matching the filter, page after page. */
export async function* listAllFaxes(
  client: FaxgateClient,
  query: Omit<NonNullable<operations["getFaxes"]["parameters"]["query"]>, "cursor"> = {},
): AsyncGenerator<Fax> {
  let cursor: string | undefined;
  for (;;) {
    const page = await unwrap(client.GET("/v1/faxes", { params: { query: { ...query, cursor } } }));
    yield* page.data;
    if (!page.next_cursor || page.next_cursor === cursor) return;
    cursor = page.next_cursor;
  }
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/** WebhookEvent is a JSON-format delivery from faxgate. */
export interface WebhookEvent {
  id: string;
  type: string;
  created_at: string;
  api_version: string;
  data: Fax & { page?: number; retry_count?: number };
}

/**
 * verifyWebhook checks a delivery's Standard Webhooks signature with the
 * standardwebhooks package (timestamp tolerance, constant-time compare)
 * against every secret in use (two during a rotation) and returns the
 * decoded event; it throws when none verifies. body is the raw request
 * body, unparsed.
 */
export function verifyWebhook(
  secrets: string[],
  body: string,
  headers: Record<string, string | string[] | undefined>,
): WebhookEvent {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k.toLowerCase()] = Array.isArray(v) ? v.join(" ") : v;
  let last: unknown = new Error("no webhook secret given");
  for (const secret of secrets) {
    try {
      return new Webhook(secret).verify(body, h) as WebhookEvent;
    } catch (e) {
      last = e;
    }
  }
  throw last;
}
