import { Limits, type TreeLimits } from "../../ledger/limits.js";
import {
  captureExceedsHold,
  creditLimit,
  holdAlreadyResolved,
  holdExpired,
  insufficientCredits,
  mergedMetadataTooLarge,
  tooManyBreakdownKeys,
  tooManyOpenHolds,
  walletClosed,
} from "../../ledger/refusals.js";
import type { AuthorizeCommand, SpendCommand } from "../ledger-store.js";
import { debitAlerts, exhaustionAlert } from "./alerts.js";
import { logEvent } from "./event-log.js";
import { captureHold, placeHold, releaseHold } from "./hold-lifecycle.js";
import type { HoldState } from "./hold-state.js";
import type { StoredOutcome } from "./idempotency-log.js";
import { committedCredits, postLine, type TreeState } from "./tree-state.js";
import { available, changeBalance, type WalletState } from "./wallet-state.js";

/**
 * Debits and holds. Each function is handed a wallet or hold that exists in the caller's
 * project, after the idempotency check, and runs every check before its first write.
 */

/** Posts a SPEND line; the line and the available after it are what replays return. */
export function debit(
  tree: TreeState,
  wallet: WalletState,
  cmd: SpendCommand,
  limits: TreeLimits,
): StoredOutcome {
  checkCanReserve(tree, wallet, cmd.amount);
  checkBreakdownRoom(tree, wallet, cmd.service, cmd.metadata.agent ?? wallet.name, limits);
  const before = available(wallet);
  changeBalance(wallet, "spent", cmd.amount);
  const remaining = available(wallet);
  const line = postLine(
    tree,
    wallet,
    {
      kind: "spend",
      amount: cmd.amount,
      service: cmd.service,
      metadata: cmd.metadata,
      overBudget: remaining < 0,
      holdId: "",
      requestId: cmd.requestId,
      createdAtMs: cmd.nowMs,
    },
    cmd.nowMs,
  );
  debitAlerts(tree, wallet, line, before, cmd.nowMs);
  return { kind: "spend", line, remaining };
}

/** Opens a hold under the same cap rules as a spend. */
export function reserve(
  tree: TreeState,
  wallet: WalletState,
  cmd: AuthorizeCommand,
  limits: TreeLimits,
): StoredOutcome {
  checkCanReserve(tree, wallet, cmd.amount);
  if (tree.openHoldCount >= limits.maxOpenHoldsPerTree) {
    throw tooManyOpenHolds(wallet.id, limits.maxOpenHoldsPerTree);
  }
  // The hold's names must fit now, so that its capture can always post them.
  checkBreakdownRoom(tree, wallet, cmd.service, cmd.metadata.agent ?? wallet.name, limits);
  const before = available(wallet);
  const hold = placeHold(tree, wallet, cmd);
  // A hold posts no line but moves `held`: its event, then exhaustion (holds are not debits, so
  // no threshold or soft cap alert).
  logEvent(tree, cmd.nowMs, wallet, "hold_placed", { holdId: hold.id });
  exhaustionAlert(tree, wallet, before, cmd.nowMs);
  return { kind: "authorize", holdId: hold.id, remaining: available(wallet) };
}

/**
 * Captures `amount` of an open hold. The hold's state is checked before the amount: a hold that
 * is gone cannot be captured for any amount, and saying so is the more useful answer.
 */
export function capture(
  tree: TreeState,
  hold: HoldState,
  amount: number,
  metadata: Record<string, string>,
  requestId: string,
  nowMs: number,
  limits: TreeLimits,
): StoredOutcome {
  checkOpen(hold);
  if (amount > hold.amount) throw captureExceedsHold(hold.amount);
  // The CAPTURE line carries the hold's metadata overlaid by the capture's; the merge obeys the
  // same 16-key limit as any line, so a line never grows past what validation allows.
  const merged = { ...hold.metadata, ...metadata };
  if (Object.keys(merged).length > Limits.metadataMaxKeys) throw mergedMetadataTooLarge();
  const wallet = tree.wallets.get(hold.walletId) as WalletState;
  // The hold's own names were checked when it was placed; only another agent is new here.
  const agent = merged.agent ?? wallet.name;
  const limit = limits.maxBreakdownKeysPerTree;
  if (
    agent !== (hold.metadata.agent ?? wallet.name) &&
    nameFull(tree.root.receipt.byAgent, agent, limit)
  ) {
    throw tooManyBreakdownKeys(wallet.id, "agent", limit);
  }
  const before = available(wallet);
  const line = captureHold(tree, hold, amount, metadata, requestId, nowMs);
  debitAlerts(tree, wallet, line, before, nowMs);
  return { kind: "resolve", line, holdId: hold.id, remaining: available(wallet) };
}

/** Releases an open hold entirely. */
export function voidHold(
  tree: TreeState,
  hold: HoldState,
  requestId: string,
  nowMs: number,
): StoredOutcome {
  checkOpen(hold);
  const line = releaseHold(tree, hold, "void", requestId, nowMs, nowMs);
  const wallet = tree.wallets.get(hold.walletId) as WalletState;
  return { kind: "resolve", line, holdId: hold.id, remaining: available(wallet) };
}

/**
 * The cap rules shared by spend and authorize. A hard cap needs available >= amount. Any wallet
 * (a soft one, or a hard child under a soft root) must keep the tree's spent + held credits
 * <= 2^53 - 1; counting held credits too means every later capture (<= its hold) stays exact.
 */
function checkCanReserve(tree: TreeState, wallet: WalletState, amount: number): void {
  if (wallet.status !== "open") throw walletClosed(wallet.id);
  const walletAvailable = available(wallet);
  if (wallet.hardCap && walletAvailable < amount) {
    throw insufficientCredits(wallet.id, amount, walletAvailable);
  }
  if (committedCredits(tree) + amount > Limits.maxCredits) throw creditLimit();
}

/**
 * A debit's service and agent names must fit the tree's limit on distinct names. The root's
 * breakdowns hold every name of the tree, so checking them bounds every receipt in it.
 */
function checkBreakdownRoom(
  tree: TreeState,
  wallet: WalletState,
  service: string,
  agent: string,
  limits: TreeLimits,
): void {
  const root = tree.root.receipt;
  const limit = limits.maxBreakdownKeysPerTree;
  if (nameFull(root.byService, service, limit)) {
    throw tooManyBreakdownKeys(wallet.id, "service", limit);
  }
  if (nameFull(root.byAgent, agent, limit)) throw tooManyBreakdownKeys(wallet.id, "agent", limit);
}

/** Whether `name` would be a new key past `limit` keys of a root breakdown. */
function nameFull(breakdown: ReadonlyMap<string, unknown>, name: string, limit: number): boolean {
  return !breakdown.has(name) && breakdown.size >= limit;
}

function checkOpen(hold: HoldState): void {
  if (hold.status === "expired") throw holdExpired(hold.id);
  if (hold.status !== "open") throw holdAlreadyResolved(hold.id);
}
