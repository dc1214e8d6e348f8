import { compareBreakdownRows, otherRow } from "../../ledger/breakdown.js";
import { Limits } from "../../ledger/limits.js";
import type {
  Breakdown,
  BreakdownDimension,
  ChargeLine,
  ChildReceipt,
  Receipt,
} from "../../ledger/types.js";
import type { WalletState } from "./wallet-state.js";
import { available } from "./wallet-state.js";

/** Credits and calls under one breakdown key. */
interface Tally {
  credits: number;
  callCount: number;
}

/**
 * A wallet's receipt figures, maintained line by line for the wallet and each ancestor so a
 * receipt read never scans lines (issue 2: "reading it never scans lines").
 */
export interface ReceiptAggregates {
  /** SPEND + CAPTURE credits of the subtree; also the wallet's `totalSpent`. */
  totalCredits: number;
  callCount: number;
  ownCredits: number;
  ownCallCount: number;
  byService: Map<string, Tally>;
  byAgent: Map<string, Tally>;
  refillCredits: number;
  refillCount: number;
  voidedHoldCredits: number;
  voidedHoldCount: number;
  overBudgetCount: number;
}

/** Figures of a wallet that has no lines yet. */
export function emptyAggregates(): ReceiptAggregates {
  return {
    totalCredits: 0,
    callCount: 0,
    ownCredits: 0,
    ownCallCount: 0,
    byService: new Map(),
    byAgent: new Map(),
    refillCredits: 0,
    refillCount: 0,
    voidedHoldCredits: 0,
    voidedHoldCount: 0,
    overBudgetCount: 0,
  };
}

/**
 * Counts one line into the aggregates of a wallet whose subtree contains it; `own` says whether
 * the line is the wallet's own, `agent` is the name it counts under in the by-agent breakdown.
 * ALLOCATION lines only move credits inside the tree, so no figure of the receipt counts them.
 */
export function countLine(
  agg: ReceiptAggregates,
  line: ChargeLine,
  own: boolean,
  agent: string,
): void {
  switch (line.kind) {
    case "spend":
    case "capture":
      agg.totalCredits += line.amount;
      agg.callCount += 1;
      if (own) {
        agg.ownCredits += line.amount;
        agg.ownCallCount += 1;
      }
      tally(agg.byService, line.service, line.amount);
      tally(agg.byAgent, agent, line.amount);
      if (line.overBudget) agg.overBudgetCount += 1;
      return;
    case "void":
    case "expire":
      agg.voidedHoldCredits += line.amount;
      agg.voidedHoldCount += 1;
      return;
    case "refill":
      agg.refillCredits += line.amount;
      agg.refillCount += 1;
      return;
    case "allocation":
      return;
  }
}

function tally(map: Map<string, Tally>, key: string, amount: number): void {
  const entry = map.get(key);
  if (entry === undefined) {
    map.set(key, { credits: amount, callCount: 1 });
  } else {
    entry.credits += amount;
    entry.callCount += 1;
  }
}

/**
 * The receipt of a wallet's subtree, built from its aggregates: the top rows of each breakdown
 * and its first children, so a read carries a bounded answer however wide the tree grew.
 */
export function receiptView(wallet: WalletState): Receipt {
  const agg = wallet.receipt;
  const byService = ranked(agg.byService).slice(0, Limits.receiptBreakdownTop);
  const byAgent = ranked(agg.byAgent).slice(0, Limits.receiptBreakdownTop);
  return {
    walletId: wallet.id,
    name: wallet.name,
    totalCredits: agg.totalCredits,
    callCount: agg.callCount,
    ownCredits: agg.ownCredits,
    ownCallCount: agg.ownCallCount,
    byService,
    byServiceOther: otherRow(byService, agg.totalCredits, agg.callCount),
    serviceKeyCount: agg.byService.size,
    byAgent,
    byAgentOther: otherRow(byAgent, agg.totalCredits, agg.callCount),
    agentKeyCount: agg.byAgent.size,
    refillCredits: agg.refillCredits,
    refillCount: agg.refillCount,
    voidedHoldCredits: agg.voidedHoldCredits,
    voidedHoldCount: agg.voidedHoldCount,
    overBudgetCount: agg.overBudgetCount,
    budget: wallet.budget,
    available: wallet.status === "open" ? available(wallet) : 0,
    children: wallet.children.slice(0, Limits.receiptChildrenMax).map(childReceipt),
    childCount: wallet.children.length,
  };
}

/** Every row of one breakdown, in the receipt's order (most credits first, ties by key). */
export function breakdownRows(wallet: WalletState, dimension: BreakdownDimension): Breakdown[] {
  return ranked(dimension === "service" ? wallet.receipt.byService : wallet.receipt.byAgent);
}

/** A child's summary line in its parent's receipt. */
export function childReceipt(child: WalletState): ChildReceipt {
  const open = child.status === "open";
  return {
    walletId: child.id,
    name: child.name,
    budget: child.budget,
    totalCredits: child.receipt.totalCredits,
    callCount: child.receipt.callCount,
    available: open ? available(child) : 0,
    status: child.status,
    exhausted: !open || child.liveInSubtree === 0,
  };
}

function ranked(map: Map<string, Tally>): Breakdown[] {
  return [...map]
    .map(([key, t]) => ({ key, credits: t.credits, callCount: t.callCount }))
    .sort(compareBreakdownRows);
}
