import type { ChargeLine } from "../../ledger/types.js";
import { logEvent } from "./event-log.js";
import type { TreeState } from "./tree-state.js";
import { available, type WalletState } from "./wallet-state.js";

/**
 * Budget alerts (docs/events.md#budget-alerts): threshold crossings, the soft cap and
 * exhaustion, appended to the log by the step that causes them. Each alert fires once per
 * crossing: thresholds by a per-wallet level, the soft cap by an armed flag, exhaustion by the
 * transition itself. Closed wallets emit none.
 */

/**
 * The credits at which `percent` of `budget` is reached: ceil(percent * budget / 100), computed
 * as q * percent + ceil(r * percent / 100) with q, r = budget divmod 100, because the plain
 * product can pass 2^53 and round. Past 2^53 the sum may still round, but only to a value
 * >= 2^53, which no totalSpent (<= 2^53 - 1) reaches: the comparison stays exact.
 */
export function thresholdCredits(percent: number, budget: number): number {
  const q = Math.floor(budget / 100);
  const r = budget % 100;
  return q * percent + Math.ceil((r * percent) / 100);
}

/** How many of the wallet's thresholds its subtree's debits have reached (a prefix: ascending). */
export function crossedCount(wallet: WalletState): number {
  const totalSpent = wallet.receipt.totalCredits;
  if (totalSpent <= 0) return 0;
  let count = 0;
  for (const percent of wallet.alertThresholds) {
    if (totalSpent < thresholdCredits(percent, wallet.budget)) break;
    count += 1;
  }
  return count;
}

/**
 * `wallet_exhausted` when a hard-capped open wallet's own available went from above 0 (before
 * the step) to 0. Fires on the transition, so it re-arms by itself when credits come back.
 */
export function exhaustionAlert(
  tree: TreeState,
  wallet: WalletState,
  availableBefore: number,
  nowMs: number,
): void {
  if (!wallet.hardCap || wallet.status !== "open") return;
  if (availableBefore > 0 && available(wallet) <= 0) {
    logEvent(tree, nowMs, wallet, "wallet_exhausted");
  }
}

/**
 * The alerts after a debit line of `wallet` (a spend or a capture), in the documented order: the
 * wallet's soft cap or exhaustion, then the newly crossed thresholds of the wallet and of each
 * ancestor up to the root, each wallet's in ascending order.
 */
export function debitAlerts(
  tree: TreeState,
  wallet: WalletState,
  line: ChargeLine,
  availableBefore: number,
  nowMs: number,
): void {
  if (wallet.hardCap) {
    exhaustionAlert(tree, wallet, availableBefore, nowMs);
  } else if (line.overBudget && !wallet.overAlerted && wallet.status === "open") {
    wallet.overAlerted = true;
    logEvent(tree, nowMs, wallet, "soft_cap_exceeded");
  }
  for (let w: WalletState | undefined = wallet; w !== undefined; w = w.parent) {
    if (w.status !== "open") continue;
    const level = crossedCount(w);
    for (let i = w.alertLevel; i < level; i++) {
      logEvent(tree, nowMs, w, "threshold_crossed", {
        thresholdPercent: w.alertThresholds[i] as number,
      });
    }
    w.alertLevel = Math.max(w.alertLevel, level);
  }
}

/**
 * Re-arms after an add-credits step raised `wallet`'s budget (no event): the level drops to what
 * is crossed now, so each threshold above it fires again on its next crossing, and the soft cap
 * re-arms once the wallet is back to available >= 0.
 */
export function rearmAlerts(wallet: WalletState): void {
  wallet.alertLevel = Math.min(wallet.alertLevel, crossedCount(wallet));
  if (available(wallet) >= 0) wallet.overAlerted = false;
}
