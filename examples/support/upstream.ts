/**
 * A local paid API for the examples (and tests): an HTTP server on 127.0.0.1 that answers only
 * calls carrying its secret (`authorization: Bearer <secret>`), and refuses everything else with
 * 401, as a real paid API does. The agents never hold that secret: tollgate's gateway adds it
 * from the catalog, so an answer proves the call went through the gateway.
 *
 * `GET|POST /<tool>?topic=...` answers `{"tool", "topic", "result"}`; every request is recorded
 * (method, path, whether it was authorized, its Idempotency-Key) for a test to inspect.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request the paid API received. */
export interface UpstreamRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  /** True when it carried the secret. */
  authorized: boolean;
  /** The `idempotency-key` header the gateway derives from the call's request id. */
  idempotencyKey: string | undefined;
  /** Every header as received (the test scans them for what must not reach the upstream). */
  headers: IncomingMessage["headers"];
}

/** A running paid API. */
export interface PaidApi {
  /** `http://127.0.0.1:<port>`: the catalog's `upstream`. */
  url: string;
  /** Every request so far, in arrival order. */
  readonly requests: UpstreamRequest[];
  close(): Promise<void>;
}

/**
 * Answers an authorized request itself instead of the default answer (a test's slow, failing or
 * streaming endpoint); returns false to leave it to the default.
 */
export type PaidApiHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** Starts the paid API on 127.0.0.1 (`port`, default a free one), accepting `secret` only. */
export async function startPaidApi(
  secret: string,
  handle?: PaidApiHandler,
  port = 0,
): Promise<PaidApi> {
  const expected = Buffer.from(`Bearer ${secret}`);
  const requests: UpstreamRequest[] = [];
  const server = createServer((request, response) => {
    const presented = Buffer.from(request.headers.authorization ?? "");
    // Constant-time, as any service comparing a secret should.
    const authorized = presented.length === expected.length && timingSafeEqual(presented, expected);
    const key = request.headers["idempotency-key"];
    requests.push({
      method: request.method ?? "",
      url: request.url ?? "",
      authorized,
      idempotencyKey: typeof key === "string" ? key : undefined,
      headers: request.headers,
    });
    if (!authorized) {
      answer(response, 401, { error: "missing or wrong API key" });
      request.resume();
      return;
    }
    if (handle?.(request, response)) return;
    request.resume();
    const url = new URL(request.url ?? "/", "http://upstream");
    const tool = url.pathname.replace(/^\/+/, "") || "index";
    const topic = url.searchParams.get("topic") ?? "";
    answer(response, 200, { tool, topic, result: `${tool} done on ${topic}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}
