import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/metrics.js";
import type { RpcDependencies, ServedService } from "../rpc/bodies.js";
import { connectHandlers } from "./connect-routes.js";
import { closeServer, listen } from "./node-listener.js";
import { webMonitorFiles } from "./web-monitor-files.js";

/** Everything {@link startHttpFace} needs. */
export interface HttpFaceOptions {
  /** host:port; port 0 binds a free port. */
  address: string;
  deps: RpcDependencies;
  services: readonly ServedService[];
  /** Largest request message accepted, as on grpc-js. */
  maxMessageBytes: number;
  /** Largest response message sent, as on grpc-js. */
  maxSendMessageBytes: number;
  /** The JWK Set served at `/.well-known/jwks.json` (credential verifiers fetch it). */
  jwks?: () => unknown;
}

/** The running HTTP face. */
export interface HttpFace {
  /** The bound port (the real one when the address asked for port 0). */
  readonly port: number;
  /** host:port actually bound. */
  readonly address: string;
  /**
   * Stops accepting connections (a request on one already open is refused 503, which Connect
   * clients read as UNAVAILABLE) and resolves once every open one has closed: idle keep-alive
   * connections at once, busy ones when their response ends, and any left after `graceMs` are cut.
   * Server streams are not ended here: the server winds them down first (OpenStreams).
   */
  close(graceMs: number): Promise<void>;
}

/**
 * Starts the HTTP face: one Node HTTP/1.1 listener serving
 *
 * - the services' unary and server-streaming methods over the Connect protocol (JSON for curl,
 *   binary) and gRPC-Web, for browsers and anything that cannot speak gRPC over HTTP/2
 *   ({@link connectHandlers}), with the same bodies, auth, limits, errors and call log as grpc-js;
 * - `GET /metrics`, the Prometheus text of the server's metrics;
 * - the web monitor's files at `/` (GET and HEAD: {@link webMonitorFiles}).
 *
 * HTTP/1.1 only: it is what curl and browsers use against a plain-text port (browsers speak
 * HTTP/2 only over TLS), it carries unary calls and server streams, and gRPC clients have the
 * gRPC port. Resolves once the port is bound, or rejects with a {@link BindError}.
 */
export async function startHttpFace(options: HttpFaceOptions): Promise<HttpFace> {
  const { deps } = options;
  const handlers = connectHandlers(deps, options.services, {
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxSendMessageBytes,
    compressions: [compressionGzip, compressionBrotli],
  });
  const monitor = webMonitorFiles();
  let closing: Promise<void> | undefined;
  const server = createServer((request, response) => {
    const path = (request.url ?? "").split("?", 1)[0] ?? "";
    if (closing !== undefined) {
      // A request on a kept-alive connection after shutdown began: refused as grpc-js refuses a new
      // call then. Connect and gRPC-Web clients read 503 as UNAVAILABLE, and retry elsewhere.
      response.writeHead(503, { connection: "close", "content-type": "text/plain; charset=utf-8" });
      response.end("shutting down\n");
      return;
    }
    if (path === "/metrics") {
      serveMetrics(request, response, deps.metrics, deps.logger);
      return;
    }
    if (path === "/.well-known/jwks.json" && options.jwks !== undefined) {
      serveJwks(request, response, options.jwks());
      return;
    }
    const handler = handlers.get(path);
    if (handler === undefined) {
      monitor.serve(request, response, path, () => {
        response.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
        response.end(
          "not found: POST /<package>.<Service>/<Method>, GET /metrics, GET /.well-known/jwks.json, or GET / (the web monitor)\n",
        );
      });
      return;
    }
    let universal: ReturnType<typeof universalRequestFromNodeRequest>;
    try {
      universal = universalRequestFromNodeRequest(
        request,
        response,
        undefined,
        createContextValues(),
      );
    } catch {
      // No Host header (HTTP/1.0): Connect cannot build the request URL.
      response.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
      response.end("a Host header is required\n");
      return;
    }
    handler(universal)
      .then((answer) => universalResponseToNodeResponse(answer, response))
      .catch((error: unknown) => {
        const code = ConnectError.from(error).code;
        // The client went away mid-response: nothing to answer, nothing wrong here.
        if (code !== Code.Aborted && code !== Code.Canceled) {
          deps.logger.warn({ path, err: error }, "http response failed");
        }
        if (!response.headersSent) response.writeHead(500);
        response.end();
      });
  });
  const port = await listen(server, options.address, "http");
  const host = options.address.slice(0, options.address.lastIndexOf(":"));

  return {
    port,
    address: `${host}:${port}`,
    close(graceMs) {
      closing ??= closeServer(server, graceMs);
      return closing;
    },
  };
}

function serveMetrics(
  request: IncomingMessage,
  response: ServerResponse,
  metrics: Metrics,
  logger: Logger,
): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { allow: "GET, HEAD" });
    response.end();
    return;
  }
  metrics.render().then(
    (text) => {
      response.writeHead(200, { "content-type": metrics.contentType });
      response.end(request.method === "HEAD" ? undefined : text);
    },
    (error: unknown) => {
      logger.error({ err: error }, "rendering /metrics failed");
      response.writeHead(500);
      response.end();
    },
  );
}

/**
 * The JWK Set, public. Cached by verifiers for five minutes at most: a rotation publishes the new
 * key before it signs anything a verifier could see, and jose's remote set refetches on an
 * unknown `kid` anyway.
 */
function serveJwks(request: IncomingMessage, response: ServerResponse, jwks: unknown): void {
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { allow: "GET, HEAD" });
    response.end();
    return;
  }
  const body = JSON.stringify(jwks);
  response.writeHead(200, {
    "content-type": "application/jwk-set+json",
    "cache-control": "public, max-age=300",
    "access-control-allow-origin": "*",
  });
  response.end(request.method === "HEAD" ? undefined : body);
}
