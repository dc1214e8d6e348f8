import { ReplyError } from "ioredis";
import { LedgerError } from "../../ledger/ledger-error.js";

/**
 * The two ways a Redis call fails: a script refuses (a reply code, mapped by `refusal` in
 * reply-codes.ts), or Redis cannot serve (mapped by {@link storeFailure} to STORE_UNAVAILABLE:
 * the ledger fails closed and grants nothing it has not committed).
 */

/**
 * Error replies that mean "Redis cannot serve right now", not "the request is wrong": still
 * loading its dataset, busy with a long script, a replica or a cluster in failover, out of memory
 * under `noeviction`, or refusing writes after a failed save. No write happened.
 */
const unavailableReply =
  /^(LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|TRYAGAIN|OOM|NOREPLICAS|MISCONF)\b/;

/** JavaScript's own error types: a bug in our code, never a sign of an unreachable Redis. */
const programmingErrors = [TypeError, RangeError, ReferenceError, SyntaxError];

/**
 * Maps a failed Redis call to what the ledger throws. Anything that is not a reply from Redis is
 * the transport failing (connection refused or closed, offline queue disabled, retries exhausted,
 * command timeout), so it becomes STORE_UNAVAILABLE with the original as `cause`; so do the
 * replies above. Any other error reply (a script error, a wrong type) is a bug: returned as-is.
 *
 * A call that failed in flight may still have run; the caller's retry with the same request id
 * is answered from the idempotency record, so "unavailable" never double-charges.
 */
export function storeFailure(error: unknown): unknown {
  if (error instanceof LedgerError) return error;
  if (error instanceof ReplyError) {
    return unavailableReply.test((error as Error).message) ? unavailable(error) : error;
  }
  if (error instanceof Error && !programmingErrors.some((type) => error instanceof type)) {
    return unavailable(error);
  }
  return error;
}

/** STORE_UNAVAILABLE; the cause stays server-side (it never reaches `metadata`). */
export function unavailable(cause: unknown): LedgerError {
  return new LedgerError("STORE_UNAVAILABLE", "the ledger store is unavailable", {}, { cause });
}
