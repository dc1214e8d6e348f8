import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";

/** A request the upstream received (so tests can say exactly what reached it). */
export interface UpstreamCall {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

/** A local paid API that refuses calls without its secret: what the gateway forwards to. */
export interface TestUpstream {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** Every authorized request whose body arrived whole, in arrival order. */
  calls: UpstreamCall[];
  /** Requests refused for a missing or wrong secret. */
  unauthorized: number;
  /** Resolves the next time an `/sse?hold=1` stream's client goes away. */
  streamClosed(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the upstream on 127.0.0.1:0. It checks `authorization: Bearer <secret>` on every request
 * (401 otherwise) and, by path:
 *
 * - `/echo...`: 200, JSON of what it received, the authorization header (so the secret) included:
 *   the worst upstream for secret hygiene;
 * - `/fail`: 500 with the secret in the body and a header;
 * - `/slow`: never answers;
 * - `/hang-first?n=N`: the first request of an Idempotency-Key never answers, a repeat gets 200
 *   with `x-cost: N`;
 * - `/sse?n=K[&hold=1]`: K server-sent events, then ends, or with `hold`, waits for the client
 *   to go away;
 * - `/usage?n=N`: JSON `{"usage": {"n": N}}`;
 * - `/cost?n=N`: 200 with `x-cost: N`;
 * - `/redirect`: 302 to another host;
 * - `/gzip`: a gzipped body holding the secret;
 * - `/hop`: answers with hop-by-hop headers and a cookie, which must not reach the agent.
 */
export async function startUpstream(secret: string): Promise<TestUpstream> {
  const calls: UpstreamCall[] = [];
  let closedWaiters: Array<() => void> = [];
  const state = { unauthorized: 0 };
  const hungKeys = new Set<string>();
  const server: Server = createServer(async (request, response) => {
    if (request.headers.authorization !== `Bearer ${secret}`) {
      state.unauthorized++;
      response.writeHead(401, { "content-type": "text/plain" });
      response.end("missing or wrong secret\n");
      return;
    }
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of request) chunks.push(chunk as Buffer);
    } catch {
      // The gateway aborted the request (its agent's body was too big or too slow): no call.
      return;
    }
    const call = {
      method: request.method ?? "",
      url: request.url ?? "",
      headers: request.headers,
      body: Buffer.concat(chunks),
    };
    calls.push(call);
    const url = new URL(request.url ?? "/", "http://upstream");
    const path = url.pathname;
    const n = Number(url.searchParams.get("n") ?? "0");
    if (path.startsWith("/echo")) {
      response.writeHead(200, { "content-type": "application/json", "x-echo-auth": secret });
      response.end(
        JSON.stringify({ ...call, body: call.body.toString("utf8"), secretSeen: secret }),
      );
    } else if (path === "/fail") {
      response.writeHead(500, { "content-type": "text/plain", "x-debug": `key=${secret}` });
      response.end(`upstream failed while using ${secret}\n`);
    } else if (path === "/hang-first") {
      // The first attempt of a call hangs (its gateway dies meanwhile); a retry, which carries
      // the same Idempotency-Key, is answered.
      const key = String(request.headers["idempotency-key"]);
      if (!hungKeys.has(key)) {
        hungKeys.add(key);
        return;
      }
      response.writeHead(200, { "x-cost": String(n) });
      response.end("answered on retry");
    } else if (path === "/slow") {
      // never answers; the gateway's timeout must cut it
    } else if (path === "/sse") {
      response.writeHead(200, { "content-type": "text/event-stream" });
      for (let i = 0; i < n; i++) response.write(`data: token ${i}\n\n`);
      if (url.searchParams.get("hold") === "1") {
        response.on("close", () => {
          for (const waiter of closedWaiters) waiter();
          closedWaiters = [];
        });
      } else {
        response.end();
      }
    } else if (path === "/usage") {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ result: "ok", usage: { n } }));
    } else if (path === "/cost") {
      response.writeHead(200, { "x-cost": String(n) });
      response.end("ok");
    } else if (path === "/redirect") {
      response.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" });
      response.end();
    } else if (path === "/gzip") {
      response.writeHead(200, { "content-type": "text/plain", "content-encoding": "gzip" });
      response.end(gzipSync(Buffer.from(`compressed ${secret} inside`)));
    } else if (path === "/hop") {
      response.writeHead(200, {
        connection: "keep-alive, x-hop",
        "x-hop": "hop-by-hop",
        "keep-alive": "timeout=77, max=1000",
        "set-cookie": "session=upstream",
        "content-type": "text/plain",
      });
      response.end("hop\n");
    } else {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("no such path\n");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    calls,
    get unauthorized() {
      return state.unauthorized;
    },
    streamClosed() {
      return new Promise((resolve) => closedWaiters.push(resolve));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
