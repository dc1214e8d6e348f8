import { Metadata, status } from "@grpc/grpc-js";
import type { Any } from "../../gen/ts-proto/google/protobuf/any.js";
import { BadRequest, ErrorInfo } from "../../gen/ts-proto/google/rpc/error_details.js";
import { Status } from "../../gen/ts-proto/google/rpc/status.js";
import { LedgerError } from "../ledger/ledger-error.js";
import type { ReasonCode } from "../ledger/reasons.js";

/** `google.rpc.ErrorInfo.domain` of every tollgate error. */
export const errorDomain = "tollgate.dev";

/** The trailer that carries the binary `google.rpc.Status` (the gRPC richer error model). */
export const statusDetailsKey = "grpc-status-details-bin";

/**
 * The status code of each reason (docs/errors.md). A `Record` over every reason, so
 * adding a reason without choosing its code fails to compile.
 */
const codeOf: Record<ReasonCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  // INVALID_ARGUMENT rather than ABORTED: retrying the same call can never succeed.
  IDEMPOTENCY_KEY_REUSED: status.INVALID_ARGUMENT,
  WALLET_NOT_FOUND: status.NOT_FOUND,
  HOLD_NOT_FOUND: status.NOT_FOUND,
  INSUFFICIENT_CREDITS: status.FAILED_PRECONDITION,
  WALLET_CLOSED: status.FAILED_PRECONDITION,
  HOLD_EXPIRED: status.FAILED_PRECONDITION,
  HOLD_ALREADY_RESOLVED: status.FAILED_PRECONDITION,
  // A per-tree quota (docs/limits.md): the caller must free some first (capture or void holds)
  // or use another tree; retrying as is cannot succeed, but nothing about the request is wrong.
  TOO_MANY_OPEN_HOLDS: status.RESOURCE_EXHAUSTED,
  TOO_MANY_CHILDREN: status.RESOURCE_EXHAUSTED,
  TOO_MANY_BREAKDOWN_KEYS: status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  STORE_UNAVAILABLE: status.UNAVAILABLE,
  // The client's own bytes are at fault: resending them can never succeed.
  MALFORMED_REQUEST: status.INVALID_ARGUMENT,
  // The cursor is well formed but what it points at is gone: OUT_OF_RANGE, as reading past the
  // end of a file (AIP-193); list from the oldest retained event instead.
  EVENTS_EXPIRED: status.OUT_OF_RANGE,
  // The watch as such was fine: ABORTED tells the client to resume it (after `cursor`).
  WATCHER_TOO_SLOW: status.ABORTED,
  TOO_MANY_WATCHERS: status.RESOURCE_EXHAUSTED,
  // Who the caller is is known; what it asked for is beyond its key (docs/credentials.md).
  AGENT_KEY_NOT_ALLOWED: status.PERMISSION_DENIED,
  OUTSIDE_AGENT_SCOPE: status.PERMISSION_DENIED,
  SERVICE_NOT_ALLOWED: status.PERMISSION_DENIED,
  AGENT_KEY_NOT_FOUND: status.NOT_FOUND,
  PRICE_SET_BY_CATALOG: status.INVALID_ARGUMENT,
  CREDENTIAL_INVALID: status.UNAUTHENTICATED,
  CREDENTIAL_EXPIRED: status.UNAUTHENTICATED,
  CREDENTIAL_WRONG_SERVICE: status.PERMISSION_DENIED,
  // The credential was fine once; it is spent now, and no retry will change that.
  CREDENTIAL_ALREADY_REDEEMED: status.FAILED_PRECONDITION,
  AGENT_KEY_REVOKED: status.PERMISSION_DENIED,
  AGENT_KEY_SECRET_LOST: status.FAILED_PRECONDITION,
};

/**
 * Messages replaced by a fixed text: a store's message may quote its driver ("connect
 * ECONNREFUSED 10.0.0.7:6379"), which is internal detail a client must not see. The text is
 * honest about timeouts: a script Redis ran after the client gave up did commit, so the only safe
 * retry is one with the same request_id (answered from the idempotency record).
 */
const fixedMessage: Partial<Record<ReasonCode, string>> = {
  STORE_UNAVAILABLE:
    "store unavailable: no credential was granted, but the call may have been applied; retry with the same request_id",
};

/** What a failed call sends: code, message and trailers, plus what the call log needs. */
export interface ErrorStatus {
  code: status;
  details: string;
  metadata: Metadata;
  /** The ErrorInfo reason; undefined for an unexpected (INTERNAL) error. */
  reason: ReasonCode | undefined;
}

/** A failure as a `google.rpc.Status` message, plus the reason the call log needs. */
export interface RpcStatus {
  status: Status;
  /** The ErrorInfo reason; undefined for an unexpected (INTERNAL) error. */
  reason: ReasonCode | undefined;
}

/**
 * The one place a thrown error becomes a `google.rpc.Status` (nice-grpc's
 * createErrorStatusObject). A {@link LedgerError} keeps its reason: the code from the table above,
 * its message, and details holding an ErrorInfo (reason, domain, metadata) and, for
 * INVALID_ARGUMENT, a BadRequest naming the field. Anything else is a bug or an unexpected
 * failure: INTERNAL "internal error" with no details at all; the caller logs the original with
 * the request id. Unary calls send this in a trailer ({@link errorToStatus}); SpendStream sends it
 * as an operation's `error`.
 */
export function errorToRpcStatus(error: unknown): RpcStatus {
  const code = error instanceof LedgerError ? codeOf[error.reason] : undefined;
  if (!(error instanceof LedgerError) || code === undefined) {
    return {
      status: { code: status.INTERNAL, message: "internal error", details: [] },
      reason: undefined,
    };
  }
  const message = fixedMessage[error.reason] ?? error.message;
  const details: Any[] = [
    pack(
      "google.rpc.ErrorInfo",
      ErrorInfo.encode({
        reason: error.reason,
        domain: errorDomain,
        metadata: stringValues(error.metadata),
      }).finish(),
    ),
  ];
  const field = error.field;
  if (code === status.INVALID_ARGUMENT && field !== undefined) {
    details.push(
      pack(
        "google.rpc.BadRequest",
        BadRequest.encode({
          // The message names the field already ("amount: must be ..."); the violation has it apart.
          fieldViolations: [{ field, description: withoutPrefix(message, `${field}: `) }],
        }).finish(),
      ),
    );
  }
  return { status: { code, message, details }, reason: error.reason };
}

/**
 * {@link errorToRpcStatus} as a gRPC call's status: the code and message, and for a
 * {@link LedgerError} the google.rpc.Status in the `grpc-status-details-bin` trailer (an INTERNAL
 * error carries no trailer: there is nothing to tell).
 */
export function errorToStatus(error: unknown): ErrorStatus {
  return grpcStatusOf(errorToRpcStatus(error));
}

/**
 * The gRPC rendering of a {@link RpcStatus}: code and message, and the whole google.rpc.Status
 * in the `grpc-status-details-bin` trailer when there are details to tell. (The HTTP face renders
 * the same RpcStatus as a Connect error: server/http/connect-error.ts.)
 */
export function grpcStatusOf({ status: rpcStatus, reason }: RpcStatus): ErrorStatus {
  const metadata = new Metadata();
  if (reason !== undefined) {
    metadata.set(statusDetailsKey, Buffer.from(Status.encode(rpcStatus).finish()));
  }
  return { code: rpcStatus.code, details: rpcStatus.message, metadata, reason };
}

function withoutPrefix(text: string, prefix: string): string {
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

function pack(typeName: string, value: Uint8Array): Any {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(value) };
}

/** ErrorInfo metadata is map<string, string>; coerce defensively so encoding can never throw. */
function stringValues(metadata: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)]));
}
