import type { ChargeLine, Metadata, WalletStatus, WalletView } from "../../ledger/types.js";
import type { HoldState } from "./hold-state.js";
import { emptyAggregates, type ReceiptAggregates } from "./receipt-aggregates.js";

/**
 * The mutable record of one wallet inside a memory tree. Never handed out: callers get
 * {@link walletView} copies, so nobody outside the store can change a balance.
 */
export interface WalletState {
  id: string;
  rootId: string;
  /** Position in the tree's id sequence (0 for the root): orders wallets by creation. */
  seq: number;
  parent: WalletState | undefined;
  depth: number;
  name: string;
  budget: number;
  hardCap: boolean;
  metadata: Metadata;
  spent: number;
  held: number;
  allocated: number;
  settled: number;
  status: WalletStatus;
  createdAtMs: number;
  /** Direct children in creation order (listing and receipt order). */
  children: WalletState[];
  /** Open holds in creation order, so a close voids them in a stable order. */
  openHolds: Map<string, HoldState>;
  /**
   * Whether this wallet itself can still spend (open and available > 0), as last counted in
   * `liveInSubtree` along the ancestor chain.
   */
  live: boolean;
  /**
   * Open wallets of this subtree (itself included) with available > 0. `exhausted` is exactly
   * "this is 0", because an open wallet's ancestors are all open (close cascades down), so the
   * recursive definition collapses to a count. Keeping the count lets a read answer without
   * walking the subtree.
   */
  liveInSubtree: number;
  /** Receipt figures of this wallet and its subtree, updated by every line. */
  receipt: ReceiptAggregates;
  /** This wallet's own lines, oldest first. */
  ownLines: ChargeLine[];
  /** Percentages of the budget that alert when totalSpent reaches them, ascending (alerts.ts). */
  alertThresholds: number[];
  /** How many of `alertThresholds` have alerted since they were last armed. */
  alertLevel: number;
  /** Whether the soft cap has alerted since it was last armed. */
  overAlerted: boolean;
  /**
   * Lines of the whole subtree, oldest first. Each line is appended to every ancestor's list
   * (at most `maxDepth` references per line) so a subtree listing pages by offset instead of
   * filtering the tree's lines.
   */
  subtreeLines: ChargeLine[];
}

/** The balance fields a mutation may change; each change goes through {@link changeBalance}. */
export type BalanceField = "budget" | "spent" | "held" | "allocated" | "settled";

/** What a new wallet needs; every balance starts at 0 except the budget. */
export interface NewWallet {
  id: string;
  rootId: string;
  seq: number;
  parent: WalletState | undefined;
  name: string;
  budget: number;
  hardCap: boolean;
  metadata: Metadata;
  createdAtMs: number;
  alertThresholds: number[];
}

/**
 * Creates a wallet record, links it under its parent and counts it as live when its budget is
 * positive. The parent's `allocated` is the caller's business (roots have none).
 */
export function createWalletState(init: NewWallet): WalletState {
  const wallet: WalletState = {
    ...init,
    metadata: { ...init.metadata },
    alertThresholds: [...init.alertThresholds],
    alertLevel: 0,
    overAlerted: false,
    depth: init.parent === undefined ? 1 : init.parent.depth + 1,
    spent: 0,
    held: 0,
    allocated: 0,
    settled: 0,
    status: "open",
    children: [],
    openHolds: new Map(),
    live: false,
    liveInSubtree: 0,
    receipt: emptyAggregates(),
    ownLines: [],
    subtreeLines: [],
  };
  init.parent?.children.push(wallet);
  refreshLiveness(wallet);
  return wallet;
}

/**
 * budget - spent - held - allocated - settled. Negative only on a soft-capped wallet that
 * overspent; meaningless once closed (the view reports 0 then).
 */
export function available(wallet: WalletState): number {
  return wallet.budget - wallet.spent - wallet.held - wallet.allocated - wallet.settled;
}

/** Adds `delta` to one balance and keeps the exhaustion counts in step with it. */
export function changeBalance(wallet: WalletState, field: BalanceField, delta: number): void {
  wallet[field] += delta;
  refreshLiveness(wallet);
}

/** Marks the wallet closed and drops it from the live counts of its ancestors. */
export function markClosed(wallet: WalletState): void {
  wallet.status = "closed";
  refreshLiveness(wallet);
}

/**
 * Re-derives whether the wallet itself is live and, only when that flips, moves the
 * `liveInSubtree` count of the wallet and every ancestor by one: O(depth) per change, O(1) per
 * read.
 */
function refreshLiveness(wallet: WalletState): void {
  const live = wallet.status === "open" && available(wallet) > 0;
  if (live === wallet.live) return;
  wallet.live = live;
  const delta = live ? 1 : -1;
  for (let w: WalletState | undefined = wallet; w !== undefined; w = w.parent) {
    w.liveInSubtree += delta;
  }
}

/** A detached copy of the wallet as the interface reports it. */
export function walletView(wallet: WalletState): WalletView {
  const open = wallet.status === "open";
  return {
    id: wallet.id,
    rootId: wallet.rootId,
    parentId: wallet.parent?.id ?? "",
    depth: wallet.depth,
    name: wallet.name,
    budget: wallet.budget,
    hardCap: wallet.hardCap,
    metadata: { ...wallet.metadata },
    spent: wallet.spent,
    held: wallet.held,
    allocated: wallet.allocated,
    settled: wallet.settled,
    // A closed wallet's remainder went back to its parent: it has nothing left to offer.
    available: open ? available(wallet) : 0,
    totalSpent: wallet.receipt.totalCredits,
    status: wallet.status,
    exhausted: !open || wallet.liveInSubtree === 0,
    createdAtMs: wallet.createdAtMs,
    alertThresholds: [...wallet.alertThresholds],
  };
}
