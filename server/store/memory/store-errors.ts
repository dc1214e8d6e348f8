import { LedgerError } from "../../ledger/ledger-error.js";

/**
 * The errors the memory store throws, with exactly the metadata the `LedgerStore` contract
 * names, so both stores fail alike. Not-found errors say nothing about other projects.
 */

/**
 * `walletId` is the id the caller asked for (the parent, for a carve-out or a listing): echoing
 * it tells the client which id of its request was wrong, and reveals nothing, since the error is
 * the same whether the wallet is missing or another project's.
 */
export function walletNotFound(walletId: string): LedgerError {
  return new LedgerError("WALLET_NOT_FOUND", `wallet ${walletId} not found`, {
    wallet_id: walletId,
  });
}

/** `holdId` is the id the caller asked for; see {@link walletNotFound}. */
export function holdNotFound(holdId: string): LedgerError {
  return new LedgerError("HOLD_NOT_FOUND", `hold ${holdId} not found`, { hold_id: holdId });
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
  requested: number,
  availableCredits: number,
): LedgerError {
  return new LedgerError(
    "INSUFFICIENT_CREDITS",
    `wallet ${walletId} has ${availableCredits} credits available, ${requested} requested`,
    { wallet_id: walletId, requested: String(requested), available: String(availableCredits) },
  );
}

export function storeClosed(): LedgerError {
  return new LedgerError("STORE_UNAVAILABLE", "the memory store was closed");
}
