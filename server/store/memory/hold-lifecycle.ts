import type { ChargeLine, Metadata } from "../../ledger/types.js";
import type { HoldState } from "./hold-state.js";
import { nextId, postLine, type TreeState } from "./tree-state.js";
import { available, changeBalance, type WalletState } from "./wallet-state.js";

/**
 * Hold transitions: open -> captured | voided | expired, exactly once. Each function assumes its
 * caller already checked everything (an open wallet, an open hold, caps): they only write.
 */

/** What an authorization reserves. */
export interface HoldRequest {
  amount: number;
  service: string;
  metadata: Metadata;
  nowMs: number;
  ttlMs: number;
}

/** Reserves credits on `wallet` as a new open hold. No line: nothing is charged yet. */
export function placeHold(tree: TreeState, wallet: WalletState, req: HoldRequest): HoldState {
  const { id, seq } = nextId(tree, "h");
  const hold: HoldState = {
    id,
    seq,
    walletId: wallet.id,
    amount: req.amount,
    service: req.service,
    metadata: { ...req.metadata },
    status: "open",
    capturedAmount: 0,
    createdAtMs: req.nowMs,
    expiresAtMs: req.nowMs + req.ttlMs,
  };
  tree.holds.set(id, hold);
  tree.holdQueue.push(hold);
  wallet.openHolds.set(id, hold);
  tree.openHoldCount += 1;
  tree.heldTotal += req.amount;
  changeBalance(wallet, "held", req.amount);
  return hold;
}

/**
 * Posts `amount` (already checked <= the hold) and releases the rest: a CAPTURE line with the
 * hold's service and its metadata overlaid by the capture's.
 */
export function captureHold(
  tree: TreeState,
  hold: HoldState,
  amount: number,
  metadata: Metadata,
  requestId: string,
  nowMs: number,
): ChargeLine {
  const wallet = unhold(tree, hold);
  changeBalance(wallet, "spent", amount);
  hold.status = "captured";
  hold.capturedAmount = amount;
  return postLine(
    tree,
    wallet,
    {
      kind: "capture",
      amount,
      service: hold.service,
      metadata: { ...hold.metadata, ...metadata },
      overBudget: available(wallet) < 0,
      holdId: hold.id,
      requestId,
      createdAtMs: nowMs,
    },
    nowMs,
  );
}

/**
 * Releases the whole hold with a VOID line (a void or a close; `requestId` is the caller's) or
 * an EXPIRE line (dated at the hold's expiry, with no request id: nobody asked for it). `nowMs`
 * is the clock of the step doing it, which dates the line's event.
 */
export function releaseHold(
  tree: TreeState,
  hold: HoldState,
  kind: "void" | "expire",
  requestId: string,
  createdAtMs: number,
  nowMs: number,
): ChargeLine {
  const wallet = unhold(tree, hold);
  hold.status = kind === "void" ? "voided" : "expired";
  return postLine(
    tree,
    wallet,
    {
      kind,
      amount: hold.amount,
      service: hold.service,
      metadata: hold.metadata,
      overBudget: false,
      holdId: hold.id,
      requestId,
      createdAtMs,
    },
    nowMs,
  );
}

/**
 * Expires at most `budget` of the holds due at `nowMs`, earliest first (ties in creation order),
 * so EXPIRE lines are written in the order of their dates across batches. Every operation on the
 * tree runs this (through pending-work.ts) until none is due, reads included: an expired hold is
 * released with no client action and no timer, as the Redis store's scripts do it. Returns true
 * when none is left due.
 */
export function expireDueHolds(tree: TreeState, nowMs: number, budget: number): boolean {
  for (let left = budget; left > 0; left--) {
    const hold = tree.holdQueue.popDue(nowMs);
    if (hold === undefined) return true;
    // Holds captured or voided before they were due are still queued: skip them.
    if (hold.status === "open") releaseHold(tree, hold, "expire", "", hold.expiresAtMs, nowMs);
  }
  return !tree.holdQueue.hasDue(nowMs);
}

/** Takes an open hold off its wallet's books and returns that wallet. */
function unhold(tree: TreeState, hold: HoldState): WalletState {
  const wallet = tree.wallets.get(hold.walletId) as WalletState;
  wallet.openHolds.delete(hold.id);
  tree.openHoldCount -= 1;
  tree.heldTotal -= hold.amount;
  changeBalance(wallet, "held", -hold.amount);
  return wallet;
}
