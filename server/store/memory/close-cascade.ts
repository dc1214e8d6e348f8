import { releaseHold } from "./hold-lifecycle.js";
import type { TreeState } from "./tree-state.js";
import { changeBalance, markClosed, type WalletState } from "./wallet-state.js";

/**
 * Closes `wallet` and every open descendant, deepest level first and, within a level, in
 * creation order (the order of their ids). Each one's open holds are voided (VOID lines with the
 * close's request id, in hold creation order), it is marked closed, and its parent takes back
 * its remainder: `allocated` drops by its budget, `settled` grows by what its subtree consumed.
 * Closing leaves before their parents means every wallet's `settled` is final by the time its
 * own turn comes, so its consumption (spent + settled) is exact.
 *
 * Returns what went back to the parent: budget - (spent + settled), or 0 for a root.
 */
export function closeSubtree(
  tree: TreeState,
  wallet: WalletState,
  requestId: string,
  nowMs: number,
): number {
  for (const w of closingOrder(wallet)) {
    for (const hold of [...w.openHolds.values()]) {
      releaseHold(tree, hold, "void", requestId, nowMs);
    }
    markClosed(w);
    const parent = w.parent;
    if (parent !== undefined) {
      changeBalance(parent, "allocated", -w.budget);
      changeBalance(parent, "settled", w.spent + w.settled);
    }
  }
  return wallet.parent === undefined ? 0 : wallet.budget - (wallet.spent + wallet.settled);
}

/**
 * The open wallets of the subtree, deepest first, ties by creation. A closed wallet's
 * descendants are all closed already (closing cascades), so the walk stops at closed wallets.
 */
function closingOrder(wallet: WalletState): WalletState[] {
  const open: WalletState[] = [];
  const stack = [wallet];
  for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
    if (w.status !== "open") continue;
    open.push(w);
    // A loop, not push(...children): spreading a very wide wallet would overflow the call stack.
    for (const c of w.children) stack.push(c);
  }
  return open.sort((a, b) => b.depth - a.depth || a.seq - b.seq);
}
