import { ReplyError } from "ioredis";
import { invalidArgument, LedgerError, mergedMetadataMessage } from "../../ledger/ledger-error.js";

/**
 * The two ways a Redis call fails: a script refuses (a reply code, mapped by {@link refusal}), or
 * Redis cannot serve (mapped by {@link storeFailure} to STORE_UNAVAILABLE: the ledger fails closed
 * and grants nothing it has not committed).
 */

/** The reply codes of scripts/includes/errors.lua; 0 is success. */
export const ReplyCode = {
  ok: 0,
  walletNotFound: 1,
  holdNotFound: 2,
  idempotencyKeyReused: 3,
  insufficientCredits: 4,
  walletClosed: 5,
  holdExpired: 6,
  holdAlreadyResolved: 7,
  depthExceeded: 8,
  softChildOfHard: 9,
  creditLimit: 10,
  captureExceedsHold: 11,
  mergedMetadataTooLarge: 12,
} as const;

/**
 * The one translation of a script's refusal into the ledger's error. The metadata and message are
 * exactly the memory store's (server/store/memory/store-errors.ts), so both stores fail alike:
 * `field` for argument errors, wallet_id / requested / available for INSUFFICIENT_CREDITS, and
 * the id the caller asked for (`wallet_id` or `hold_id`) for the not-found reasons, which a
 * script reports the same way whether the id is missing or another project's. An unknown code is
 * a bug in a script, not a refusal, and surfaces as a plain error.
 */
export function refusal(code: number, detail: readonly string[]): LedgerError {
  const [first = "", second = "", third = ""] = detail;
  switch (code) {
    case ReplyCode.walletNotFound:
      return new LedgerError("WALLET_NOT_FOUND", `wallet ${first} not found`, { wallet_id: first });
    case ReplyCode.holdNotFound:
      return new LedgerError("HOLD_NOT_FOUND", `hold ${first} not found`, { hold_id: first });
    case ReplyCode.idempotencyKeyReused:
      return new LedgerError(
        "IDEMPOTENCY_KEY_REUSED",
        "request_id: was already used with different parameters",
        { field: "request_id" },
      );
    case ReplyCode.insufficientCredits:
      return new LedgerError(
        "INSUFFICIENT_CREDITS",
        `wallet ${first} has ${third} credits available, ${second} requested`,
        { wallet_id: first, requested: second, available: third },
      );
    case ReplyCode.walletClosed:
      return new LedgerError("WALLET_CLOSED", `wallet ${first} is closed`);
    case ReplyCode.holdExpired:
      return new LedgerError("HOLD_EXPIRED", `hold ${first} expired`);
    case ReplyCode.holdAlreadyResolved:
      return new LedgerError("HOLD_ALREADY_RESOLVED", `hold ${first} was already resolved`);
    case ReplyCode.depthExceeded:
      return invalidArgument("parent_id", `a tree has at most ${first} levels`);
    case ReplyCode.softChildOfHard:
      return invalidArgument("hard_cap", "a child of a hard-capped wallet must be hard-capped");
    case ReplyCode.creditLimit:
      return invalidArgument("amount", "the budget or the tree's spend would pass 2^53-1 credits");
    case ReplyCode.captureExceedsHold:
      return invalidArgument("amount", `must not exceed the hold's ${first} credits`);
    case ReplyCode.mergedMetadataTooLarge:
      return invalidArgument("metadata", mergedMetadataMessage);
    default:
      throw new Error(`unknown reply code ${code} from a tollgate script`);
  }
}

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
