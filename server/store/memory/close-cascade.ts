import { logEvent } from "./event-log.js";
import { releaseHold } from "./hold-lifecycle.js";
import type { TreeState } from "./tree-state.js";
import { changeBalance, markClosed, type WalletState } from "./wallet-state.js";

/**
 * A close under way, worked off in bounded batches (the memory twin of the Redis store's
 * scripts/includes/close.lua). Closing a wallet closes its open subtree children before parents
 * (each wallet after all its children, siblings in creation order), voiding each one's open holds
 * in creation order before it closes; its parent then takes back its remainder: `allocated` drops
 * by its budget, `settled` grows by its consumption (spent + settled, final because its children
 * closed first). The walk is an explicit stack so it can stop after any unit of work and go on in
 * a later turn; every operation on the tree finishes it first (pending-work.ts), so nobody sees
 * it half done.
 */
export interface CloseUnderWay {
  /** The close's request id and time: its VOID lines carry them. */
  requestId: string;
  atMs: number;
  /** Wallets whose subtree is being closed, each with the index of its next child to look at. */
  stack: { wallet: WalletState; nextChild: number }[];
}

/**
 * Accepts the close of `wallet` and returns what it gives back to its parent: budget - its
 * subtree's debits (which is spent + settled once every child has settled; voiding holds does
 * not change it), or 0 for a root. The work itself is left on the tree.
 */
export function beginClose(
  tree: TreeState,
  wallet: WalletState,
  requestId: string,
  nowMs: number,
): number {
  tree.closing = { requestId, atMs: nowMs, stack: [{ wallet, nextChild: 0 }] };
  return wallet.parent === undefined ? 0 : wallet.budget - wallet.receipt.totalCredits;
}

/**
 * Works the close under way for at most `budget` units (a child looked at, a hold voided, a
 * wallet closed), logging each VOID and each `wallet_closed` at `nowMs`, the clock of the step
 * doing the work (the VOID lines themselves carry the close's time). Returns the budget left;
 * above 0 means the close is done.
 */
export function continueClose(tree: TreeState, budget: number, nowMs: number): number {
  const closing = tree.closing;
  if (closing === undefined) return budget;
  let left = budget;
  while (left > 0) {
    const top = closing.stack.at(-1);
    if (top === undefined) {
      tree.closing = undefined;
      return left;
    }
    left -= 1;
    const child = top.wallet.children[top.nextChild];
    if (child !== undefined) {
      top.nextChild += 1;
      // A closed child's subtree is closed already: closing cascades down.
      if (child.status === "open") closing.stack.push({ wallet: child, nextChild: 0 });
      continue;
    }
    for (const hold of top.wallet.openHolds.values()) {
      if (left === 0) break;
      releaseHold(tree, hold, "void", closing.requestId, closing.atMs, nowMs);
      left -= 1;
    }
    if (top.wallet.openHolds.size === 0) {
      closeOne(top.wallet);
      // A closed wallet emits no alert: its available drops to 0 without `wallet_exhausted`.
      logEvent(tree, nowMs, top.wallet, "wallet_closed");
      closing.stack.pop();
    }
  }
  return 0;
}

/** Marks a wallet closed (its children closed, its holds voided) and settles its parent. */
function closeOne(wallet: WalletState): void {
  markClosed(wallet);
  const parent = wallet.parent;
  if (parent !== undefined) {
    changeBalance(parent, "allocated", -wallet.budget);
    changeBalance(parent, "settled", wallet.spent + wallet.settled);
  }
}
