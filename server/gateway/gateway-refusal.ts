import type { ServerResponse } from "node:http";
import { LedgerError } from "../ledger/ledger-error.js";

/**
 * Reasons only the gateway gives (the ledger's own reasons, CREDENTIAL_* and the rest, pass
 * through unchanged). Part of the public contract like the ledger's: add, never rename.
 */
export const GatewayReason = {
  /** The request target is not `/<service>/<path>` or has a path the gateway refuses to forward. */
  MalformedPath: "MALFORMED_PATH",
  /** The credential's (or the key's) project has no service of that name in its catalog. */
  ServiceNotInCatalog: "SERVICE_NOT_IN_CATALOG",
  /** The service does not forward this HTTP method. */
  MethodNotAllowed: "METHOD_NOT_ALLOWED",
  /** The path is under none of the service's path prefixes. */
  PathNotAllowed: "PATH_NOT_ALLOWED",
  /** The request body is larger than the service's `maxRequestBytes`. */
  RequestTooLarge: "REQUEST_TOO_LARGE",
  /** A header the gateway reads (`tollgate-wallet`, `tollgate-metadata`) is malformed. */
  InvalidHeader: "INVALID_HEADER",
  /** The upstream could not be reached (connection refused, reset, DNS). */
  UpstreamUnreachable: "UPSTREAM_UNREACHABLE",
  /** The upstream did not answer within the service's timeout. */
  UpstreamTimeout: "UPSTREAM_TIMEOUT",
  /** The upstream answered in a content encoding the gateway cannot scrub. */
  UpstreamBadAnswer: "UPSTREAM_BAD_ANSWER",
  /** The gateway is shutting down; retry (with the same request id) elsewhere. */
  ShuttingDown: "SHUTTING_DOWN",
} as const;

/** One of {@link GatewayReason}'s values. */
export type GatewayReasonCode = (typeof GatewayReason)[keyof typeof GatewayReason];

/** A refused gateway call: the HTTP status, and the body's code, reason and message. */
export class GatewayRefusal extends Error {
  override readonly name = "GatewayRefusal";

  constructor(
    readonly status: number,
    /** The gRPC code name a tollgate client already knows (`PERMISSION_DENIED`, ...). */
    readonly code: string,
    readonly reason: string,
    message: string,
    readonly metadata: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * HTTP status and code name of each ledger reason the gateway can meet. Credential refusals follow
 * the issue: 401 when the caller is not authenticated (no, bad or expired credential or key), 403
 * when it is but may not make this call. INSUFFICIENT_CREDITS is 402 Payment Required, which is
 * what it means to an HTTP client. Anything unlisted is a 500 with a fixed message.
 */
const ledgerStatus: Record<string, [number, string]> = {
  UNAUTHENTICATED: [401, "UNAUTHENTICATED"],
  CREDENTIAL_INVALID: [401, "UNAUTHENTICATED"],
  CREDENTIAL_EXPIRED: [401, "UNAUTHENTICATED"],
  CREDENTIAL_WRONG_SERVICE: [403, "PERMISSION_DENIED"],
  // Spent, not malformed: 403 as the issue asks (FAILED_PRECONDITION on gRPC).
  CREDENTIAL_ALREADY_REDEEMED: [403, "FAILED_PRECONDITION"],
  AGENT_KEY_REVOKED: [403, "PERMISSION_DENIED"],
  AGENT_KEY_NOT_ALLOWED: [403, "PERMISSION_DENIED"],
  OUTSIDE_AGENT_SCOPE: [403, "PERMISSION_DENIED"],
  SERVICE_NOT_ALLOWED: [403, "PERMISSION_DENIED"],
  PERMISSION_DENIED: [403, "PERMISSION_DENIED"],
  INSUFFICIENT_CREDITS: [402, "FAILED_PRECONDITION"],
  WALLET_NOT_FOUND: [404, "NOT_FOUND"],
  HOLD_NOT_FOUND: [404, "NOT_FOUND"],
  WALLET_CLOSED: [403, "FAILED_PRECONDITION"],
  HOLD_ALREADY_RESOLVED: [409, "FAILED_PRECONDITION"],
  HOLD_EXPIRED: [409, "FAILED_PRECONDITION"],
  IDEMPOTENCY_KEY_REUSED: [409, "INVALID_ARGUMENT"],
  INVALID_ARGUMENT: [400, "INVALID_ARGUMENT"],
  PRICE_SET_BY_CATALOG: [400, "INVALID_ARGUMENT"],
  TOO_MANY_OPEN_HOLDS: [429, "RESOURCE_EXHAUSTED"],
  TOO_MANY_BREAKDOWN_KEYS: [429, "RESOURCE_EXHAUSTED"],
  STORE_UNAVAILABLE: [503, "UNAVAILABLE"],
};

/** As on the RPCs (server/rpc/error-status.ts): a store's message may quote its driver. */
const storeUnavailable =
  "store unavailable: nothing was forwarded; retry with the same x-request-id (it may have been charged once)";

/**
 * The refusal an error becomes: a {@link GatewayRefusal} as is, a {@link LedgerError} by the table
 * above, anything else a 500 `INTERNAL` that says nothing (the caller logs the original).
 */
export function refusalOf(error: unknown): GatewayRefusal {
  if (error instanceof GatewayRefusal) return error;
  if (error instanceof LedgerError) {
    const known = ledgerStatus[error.reason];
    if (known !== undefined) {
      const message = error.reason === "STORE_UNAVAILABLE" ? storeUnavailable : error.message;
      return new GatewayRefusal(known[0], known[1], error.reason, message, error.metadata);
    }
  }
  return new GatewayRefusal(500, "INTERNAL", "INTERNAL", "internal error");
}

/** Shorthands for the gateway's own refusals. */
export const refuse = {
  malformedPath: (message: string) =>
    new GatewayRefusal(400, "INVALID_ARGUMENT", GatewayReason.MalformedPath, message),
  invalidHeader: (header: string, message: string) =>
    new GatewayRefusal(400, "INVALID_ARGUMENT", GatewayReason.InvalidHeader, message, {
      header,
    }),
  notInCatalog: (service: string) =>
    new GatewayRefusal(
      403,
      "PERMISSION_DENIED",
      GatewayReason.ServiceNotInCatalog,
      `service ${JSON.stringify(service)} is not in this project's catalog`,
      { service },
    ),
  method: (method: string, allowed: readonly string[]) =>
    new GatewayRefusal(
      403,
      "PERMISSION_DENIED",
      GatewayReason.MethodNotAllowed,
      `method ${method} is not forwarded to this service (allowed: ${allowed.join(", ")})`,
    ),
  path: () =>
    new GatewayRefusal(
      403,
      "PERMISSION_DENIED",
      GatewayReason.PathNotAllowed,
      "this path is under none of the service's allowed path prefixes",
    ),
  tooLarge: (limit: number) =>
    new GatewayRefusal(
      413,
      "RESOURCE_EXHAUSTED",
      GatewayReason.RequestTooLarge,
      `the request body is larger than this service accepts (${limit} bytes)`,
      { limit: String(limit) },
    ),
  unreachable: () =>
    new GatewayRefusal(
      502,
      "UNAVAILABLE",
      GatewayReason.UpstreamUnreachable,
      "the upstream could not be reached",
    ),
  timeout: () =>
    new GatewayRefusal(
      504,
      "DEADLINE_EXCEEDED",
      GatewayReason.UpstreamTimeout,
      "the upstream did not answer in time",
    ),
  badAnswer: (message: string) =>
    new GatewayRefusal(502, "UNAVAILABLE", GatewayReason.UpstreamBadAnswer, message),
  shuttingDown: () =>
    new GatewayRefusal(
      503,
      "UNAVAILABLE",
      GatewayReason.ShuttingDown,
      "the gateway is shutting down: retry with the same x-request-id",
    ),
};

/**
 * Sends `refusal` as `{"error": {"code", "reason", "message", "metadata"}}`. A request whose body
 * was not read closes its connection afterwards, so the unread bytes are never parsed as the next
 * request (and an oversized body is not read to its end just to be thrown away).
 */
export function sendRefusal(
  response: ServerResponse,
  refusal: GatewayRefusal,
  requestId: string,
  bodyUnread: boolean,
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify({
    error: {
      code: refusal.code,
      reason: refusal.reason,
      message: refusal.message,
      ...(Object.keys(refusal.metadata).length > 0 ? { metadata: refusal.metadata } : {}),
    },
  });
  const headers: Record<string, string | number> = {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "x-request-id": requestId,
    "cache-control": "no-store",
  };
  if (refusal.status === 401) headers["www-authenticate"] = 'Bearer realm="tollgate"';
  if (bodyUnread) headers.connection = "close";
  response.writeHead(refusal.status, headers);
  response.end(body);
}
