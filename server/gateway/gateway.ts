import { createServer } from "node:http";
import type { Socket } from "node:net";
import type { Catalog } from "../catalog/catalog.js";
import type { CredentialRedeemer } from "../credentials/credential-redeemer.js";
import type { RedemptionStore } from "../credentials/redemption-store.js";
import { closeServer, listen } from "../http/node-listener.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/metrics.js";
import { handleGatewayCall } from "./gateway-call.js";
import type {
  GatewayAuthenticator,
  GatewayContext,
  GatewayLedger,
  GatewayPolicy,
} from "./gateway-context.js";
import { GatewayMetrics } from "./gateway-metrics.js";
import { UpstreamDispatchers } from "./upstream-dispatchers.js";

/** Everything {@link startGateway} needs. */
export interface GatewayOptions {
  /** host:port; port 0 binds a free port. */
  address: string;
  catalog: Catalog;
  ledger: GatewayLedger;
  redeemer: Pick<CredentialRedeemer, "verify" | "redeem">;
  authenticator: GatewayAuthenticator;
  policy: GatewayPolicy;
  redemptions: Pick<
    RedemptionStore,
    "redeem" | "markDelivered" | "recordGatewayFailure" | "gatewayFailureOf"
  >;
  logger: Logger;
  /** The server's metrics: the gateway's series join its registry (`/metrics`). */
  metrics: Pick<Metrics, "registry">;
  now: () => number;
  /**
   * How long an agent has to send a whole request, headers and body (408 and the connection cut
   * past it): a slow client cannot hold a connection and a paid call open by trickling bytes.
   * Default 30000. The answer is not limited by it: the service's timeout governs the upstream.
   */
  requestTimeoutMs?: number;
  /** How long an agent has to send a request's headers. Default 10000 (at most requestTimeoutMs). */
  headersTimeoutMs?: number;
}

/** A running gateway. */
export interface Gateway {
  /** The bound port. */
  readonly port: number;
  /** host:port actually bound. */
  readonly address: string;
  /**
   * Stops accepting calls (a call on a connection still open is refused 503 SHUTTING_DOWN),
   * lets calls in flight finish for up to `graceMs` (streamed answers included), then cuts what
   * is left (a cut hold expires by itself) and closes the upstream pools. Idempotent.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * Starts the paid-API gateway: `METHOD /<service>/<path>` with a credential (or an API key and a
 * wallet) is paid for, forwarded to the service's upstream with the upstream's secret, relayed
 * back with the secret masked, and settled (docs/credentials.md#the-gateway).
 *
 * A listener of its own rather than routes on the HTTP face: every path of it belongs to the
 * services (`/<service>/...`), so no service name can collide with the API's routes, `/metrics`
 * or the monitor page, and its timeouts (slow agents, long streamed answers) are not the API's.
 */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const context: GatewayContext = {
    catalog: options.catalog,
    ledger: options.ledger,
    redeemer: options.redeemer,
    authenticator: options.authenticator,
    policy: options.policy,
    redemptions: options.redemptions,
    logger: options.logger,
    metrics: new GatewayMetrics(options.metrics.registry),
    dispatchers: new UpstreamDispatchers(),
    now: options.now,
  };
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout);
  let closing: Promise<void> | undefined;
  const server = createServer(
    {
      requestTimeout,
      headersTimeout,
      // How often Node looks for requests past those timeouts: often enough that a slow client
      // is cut close to its deadline.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
      keepAliveTimeout: 5_000,
    },
    (request, response) => {
      void handleGatewayCall(context, request, response, closing !== undefined);
    },
  );
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) =>
    answerClientError(error, socket),
  );
  const port = await listen(server, options.address, "gateway");
  const host = options.address.slice(0, options.address.lastIndexOf(":"));
  return {
    port,
    address: `${host}:${port}`,
    close(graceMs) {
      closing ??= closeServer(server, graceMs).then(() => context.dispatchers.close());
      return closing;
    },
  };
}

/**
 * A request Node's parser refused (bad syntax, CR or LF in a header, headers too large) or one
 * past its timeout: answered with the gateway's JSON error when nothing was written yet, then the
 * connection is cut. Nothing was paid for or forwarded: the handler never saw the request.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  const owned = socket as Socket & { _httpMessage?: { headersSent?: boolean } };
  if (socket.writable && owned._httpMessage?.headersSent !== true) {
    const [status, text, reason, message] =
      error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout", "REQUEST_TIMEOUT", "the request did not arrive in time"]
        : error.code === "HPE_HEADER_OVERFLOW"
          ? [431, "Request Header Fields Too Large", "MALFORMED_REQUEST", "headers too large"]
          : [400, "Bad Request", "MALFORMED_REQUEST", "malformed HTTP request"];
    const body = JSON.stringify({
      error: { code: status === 408 ? "DEADLINE_EXCEEDED" : "INVALID_ARGUMENT", reason, message },
    });
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}
