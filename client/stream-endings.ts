import { type StatusObject, status } from "@grpc/grpc-js";
import { type ErrorContext, errorFromCallStatus } from "./errors/from-status.js";
import { TollgateError } from "./errors/tollgate-error.js";
import { UnavailableError } from "./errors/unavailable-error.js";
import type { PendingOp } from "./pending-ops.js";

/*
 * What the SpendStream does when a stream ends with operations unanswered: reconnect and resend
 * them, or reject them, and with which error. The rule that matters for money: an operation that
 * was sent may have been applied, so unless the ending proves nothing ran, it is rejected as an
 * UnavailableError naming the request id to retry with, never as a definite failure (a caller
 * retrying a definite failure with a new id would pay twice).
 */

/**
 * Stream-level endings after which resending is worthwhile: the rpc contract says a SpendStream
 * fails only for authentication or transport reasons, and these are the transport ones (a
 * server restart or a dropped connection shows as UNAVAILABLE, INTERNAL (RST_STREAM) or
 * CANCELLED; OK is a server that ended the stream while operations were unanswered).
 */
const reconnectCodes: ReadonlySet<number> = new Set([
  status.OK,
  status.CANCELLED,
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.ABORTED,
  status.INTERNAL,
  status.UNAVAILABLE,
]);

/**
 * Endings that prove no operation ran: the call was refused before any message was read
 * (authentication, permission, a server without streaming). Operations fail with the ending's
 * own typed error, and are not resent since they would fail again.
 */
const nothingRanCodes: ReadonlySet<number> = new Set([
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
  status.UNIMPLEMENTED,
]);

/** Whether a stream that ended with `code` should be reopened and its operations resent. */
export function shouldReconnect(code: number): boolean {
  return reconnectCodes.has(code);
}

/**
 * The error of `op` when the stream ended with `ending` and will not be reopened (any other code,
 * e.g. RESOURCE_EXHAUSTED: resending could end the next stream the same way).
 */
export function streamEndedError(ending: StatusObject, op: PendingOp): TollgateError {
  const cause = errorFromCallStatus(ending, op.context);
  if (nothingRanCodes.has(ending.code)) return cause;
  const what = `the spend stream ended (${status[ending.code] ?? ending.code}: ${ending.details})`;
  return unanswered(op, cause, what);
}

/**
 * `cause` for an operation never sent (it cannot have run: a definite failure), or else an
 * {@link UnavailableError} saying it may have been applied, with the request id to retry with.
 */
export function unanswered(op: PendingOp, cause: TollgateError, what: string): TollgateError {
  if (!op.sent) return cause;
  const requestId = op.context.requestId;
  return new UnavailableError(
    `${what} before the operation was answered; it may have been applied: retry with the same request_id ${requestId}`,
    { code: status.UNAVAILABLE, reason: "STREAM_ENDED", requestId, cause },
  );
}

/** An operation not answered within its deadline (which covers reconnects): it may have run. */
export function deadlinePassed(
  deadlineMs: number,
  context: ErrorContext,
  lastFailure: string | undefined,
): UnavailableError {
  const last = lastFailure === undefined ? "" : ` (last stream failure: ${lastFailure})`;
  return new UnavailableError(
    `no answer on the spend stream within ${deadlineMs} ms${last}; the operation may have been applied: retry with the same request_id ${context.requestId}`,
    { code: status.DEADLINE_EXCEEDED, reason: "DEADLINE_EXCEEDED", requestId: context.requestId },
  );
}

/** An operation still unanswered when the client was closed: it may have run. */
export function closedBeforeAnswer(context: ErrorContext): TollgateError {
  return new TollgateError(
    `the tollgate client was closed before the answer arrived; the operation may have been applied: retry with the same request_id ${context.requestId}`,
    { code: status.CANCELLED, reason: "CLIENT_CLOSED", requestId: context.requestId },
  );
}
