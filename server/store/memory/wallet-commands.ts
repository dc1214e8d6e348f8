import { Limits } from "../../ledger/limits.js";
import {
  creditLimit,
  depthExceeded,
  insufficientCredits,
  softChildOfHard,
  tooManyChildren,
  walletClosed,
} from "../../ledger/refusals.js";
import type { AddCreditsCommand, CreateChildCommand } from "../ledger-store.js";
import { exhaustionAlert, rearmAlerts } from "./alerts.js";
import { beginClose } from "./close-cascade.js";
import { logEvent } from "./event-log.js";
import type { StoredOutcome } from "./idempotency-log.js";
import { nextId, postLine, type TreeState } from "./tree-state.js";
import { available, changeBalance, createWalletState, type WalletState } from "./wallet-state.js";

/**
 * Mutations of the wallet tree itself: carve-outs, budget increases and closes. Each one is
 * handed a wallet that exists in the caller's project, after the idempotency check, and runs
 * every check before its first write, so a thrown error leaves the tree untouched.
 */

/**
 * Carves a child out of `parent`. Checks in order: the parent is open, the child fits within
 * `maxDepth`, a hard-capped parent gets no soft child, the parent has room for another child,
 * and last the parent can afford the budget (argument errors first: they hold whatever the
 * balances are).
 */
export function carveChild(
  tree: TreeState,
  parent: WalletState,
  cmd: CreateChildCommand,
  maxDepth: number,
  maxChildren: number,
): StoredOutcome {
  if (parent.status !== "open") throw walletClosed(parent.id);
  if (parent.depth + 1 > maxDepth) throw depthExceeded(maxDepth);
  const hardCap = cmd.hardCap ?? parent.hardCap;
  if (parent.hardCap && !hardCap) throw softChildOfHard();
  // Closed children count too: they stay listed, and the limit bounds what a listing carries.
  if (parent.children.length >= maxChildren) throw tooManyChildren(parent.id, maxChildren);
  const parentAvailable = available(parent);
  if (parentAvailable < cmd.budget) {
    throw insufficientCredits(parent.id, cmd.budget, parentAvailable);
  }

  const { id, seq } = nextId(tree, "w");
  changeBalance(parent, "allocated", cmd.budget);
  const child = createWalletState({
    id,
    rootId: tree.rootId,
    seq,
    parent,
    name: cmd.name,
    budget: cmd.budget,
    hardCap,
    metadata: cmd.metadata,
    createdAtMs: cmd.nowMs,
    alertThresholds: cmd.alertThresholds,
  });
  tree.wallets.set(id, child);
  logEvent(tree, cmd.nowMs, child, "wallet_created");
  exhaustionAlert(tree, parent, parentAvailable, cmd.nowMs);
  return { kind: "wallet", walletId: id };
}

/**
 * Grows a wallet's budget. A root is topped up from outside (REFILL line) and its budget must
 * stay <= 2^53 - 1; a child draws from its parent (ALLOCATION line), which must afford it, and
 * may exhaust it. The wallet's alerts re-arm against its larger budget.
 */
export function growBudget(
  tree: TreeState,
  wallet: WalletState,
  cmd: AddCreditsCommand,
): StoredOutcome {
  if (wallet.status !== "open") throw walletClosed(wallet.id);
  const parent = wallet.parent;
  const parentAvailable = parent === undefined ? 0 : available(parent);
  if (parent === undefined) {
    if (wallet.budget + cmd.amount > Limits.maxCredits) throw creditLimit();
  } else {
    if (parentAvailable < cmd.amount) {
      throw insufficientCredits(parent.id, cmd.amount, parentAvailable);
    }
    changeBalance(parent, "allocated", cmd.amount);
  }
  changeBalance(wallet, "budget", cmd.amount);
  rearmAlerts(wallet);
  postLine(
    tree,
    wallet,
    {
      kind: parent === undefined ? "refill" : "allocation",
      amount: cmd.amount,
      service: "",
      metadata: cmd.metadata,
      overBudget: false,
      holdId: "",
      requestId: cmd.requestId,
      createdAtMs: cmd.nowMs,
    },
    cmd.nowMs,
  );
  if (parent !== undefined) exhaustionAlert(tree, parent, parentAvailable, cmd.nowMs);
  return { kind: "wallet", walletId: wallet.id };
}

/**
 * Accepts the close of the wallet and its open subtree, which the tree then works off in bounded
 * batches (close-cascade.ts); WALLET_CLOSED when it is closed already.
 */
export function closeWallet(
  tree: TreeState,
  wallet: WalletState,
  requestId: string,
  nowMs: number,
): StoredOutcome {
  if (wallet.status !== "open") throw walletClosed(wallet.id);
  const returned = beginClose(tree, wallet, requestId, nowMs);
  return { kind: "close", walletId: wallet.id, returned };
}
