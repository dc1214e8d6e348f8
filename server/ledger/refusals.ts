import { invalidArgument, LedgerError } from "./ledger-error.js";
import { Limits } from "./limits.js";

/**
 * Every refusal a store can answer with, built in this one place. The memory store throws these
 * directly; the Redis store maps each script reply code to the same constructor
 * (server/store/redis/reply-codes.ts), so both stores fail with the same reason, message and
 * metadata by construction. Not-found refusals name the id the caller asked for and are the same
 * whether it is missing or another project's, so nothing reveals that another project's tree
 * exists.
 */

/** `walletId` is the id asked for (the parent, for a carve-out or a listing). */
export function walletNotFound(walletId: string): LedgerError {
  return new LedgerError("WALLET_NOT_FOUND", `wallet ${walletId} not found`, {
    wallet_id: walletId,
  });
}

/** `holdId` is the id asked for; see {@link walletNotFound}. */
export function holdNotFound(holdId: string): LedgerError {
  return new LedgerError("HOLD_NOT_FOUND", `hold ${holdId} not found`, { hold_id: holdId });
}

export function idempotencyKeyReused(): LedgerError {
  return new LedgerError(
    "IDEMPOTENCY_KEY_REUSED",
    "request_id: was already used with different parameters",
    { field: "request_id" },
  );
}

/** `available` may be negative (a soft-capped parent that overspent): decimal strings carry it. */
export function insufficientCredits(
  walletId: string,
  requested: number | string,
  available: number | string,
): LedgerError {
  return new LedgerError(
    "INSUFFICIENT_CREDITS",
    `wallet ${walletId} has ${available} credits available, ${requested} requested`,
    { wallet_id: walletId, requested: String(requested), available: String(available) },
  );
}

export function walletClosed(walletId: string): LedgerError {
  return new LedgerError("WALLET_CLOSED", `wallet ${walletId} is closed`);
}

export function holdExpired(holdId: string): LedgerError {
  return new LedgerError("HOLD_EXPIRED", `hold ${holdId} expired`);
}

export function holdAlreadyResolved(holdId: string): LedgerError {
  return new LedgerError("HOLD_ALREADY_RESOLVED", `hold ${holdId} was already resolved`);
}

/** A child would sit deeper than the store's `maxDepth`. */
export function depthExceeded(maxDepth: number | string): LedgerError {
  return invalidArgument("parent_id", `a tree has at most ${maxDepth} levels`);
}

/** A soft child could overspend and so break the cap of its hard-capped ancestors. */
export function softChildOfHard(): LedgerError {
  return invalidArgument("hard_cap", "a child of a hard-capped wallet must be hard-capped");
}

/** A root's budget, or a tree's spent + held credits, would pass 2^53 - 1. */
export function creditLimit(): LedgerError {
  return invalidArgument("amount", "the budget or the tree's spend would pass 2^53-1 credits");
}

export function captureExceedsHold(holdAmount: number | string): LedgerError {
  return invalidArgument("amount", `must not exceed the hold's ${holdAmount} credits`);
}

/** A capture's metadata overlaid on the hold's would pass the per-line key limit. */
export function mergedMetadataTooLarge(): LedgerError {
  return invalidArgument(
    "metadata",
    `with the hold's metadata, at most ${Limits.metadataMaxKeys} keys`,
  );
}

/** The tree already has `limit` open holds. */
export function tooManyOpenHolds(walletId: string, limit: number | string): LedgerError {
  return new LedgerError(
    "TOO_MANY_OPEN_HOLDS",
    `the tree of wallet ${walletId} has ${limit} open holds, its limit: capture or void some first`,
    { wallet_id: walletId, limit: String(limit) },
  );
}

/** The parent already has `limit` children (closed ones count: they stay listed). */
export function tooManyChildren(walletId: string, limit: number | string): LedgerError {
  return new LedgerError(
    "TOO_MANY_CHILDREN",
    `wallet ${walletId} has ${limit} children, its limit`,
    { wallet_id: walletId, limit: String(limit) },
  );
}

/** The two receipt breakdowns. */
export type BreakdownDimension = "service" | "agent";

/** The tree's `dimension` breakdown already has `limit` distinct keys, and this one is new. */
export function tooManyBreakdownKeys(
  walletId: string,
  dimension: BreakdownDimension,
  limit: number | string,
): LedgerError {
  return new LedgerError(
    "TOO_MANY_BREAKDOWN_KEYS",
    `the tree of wallet ${walletId} has ${limit} distinct ${dimension} names, its limit`,
    { wallet_id: walletId, dimension, limit: String(limit) },
  );
}

/** A store used after `close()`. */
export function storeClosed(): LedgerError {
  return new LedgerError("STORE_UNAVAILABLE", "the store was closed");
}
