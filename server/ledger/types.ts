/**
 * Domain types of the ledger. Plain TypeScript: no generated message type ever reaches the ledger
 * or a store, and no ledger type leaks into the wire (the rpc adapters translate).
 *
 * Every amount is a safe integer count of the wallet's smallest unit ("credits"). Amounts are
 * `number`, not `bigint`, because Redis Lua works in doubles: the ledger rejects any amount or
 * balance past 2^53 - 1 at the edge, so a `number` is always exact here.
 */

/** Caller-defined labels on wallets, holds and receipt lines. */
export type Metadata = Record<string, string>;

/** A wallet's lifecycle. */
export type WalletStatus = "open" | "closed";

/** A hold's lifecycle; a hold resolves exactly once. */
export type HoldStatus = "open" | "captured" | "voided" | "expired";

/**
 * Receipt line kinds. SPEND and CAPTURE are debits ("calls"); VOID and EXPIRE release a hold;
 * REFILL is a root top-up; ALLOCATION moves credits from a parent into a child.
 */
export type ChargeKind = "spend" | "capture" | "void" | "expire" | "refill" | "allocation";

/** A wallet and its balances, as read in one atomic step. */
export interface WalletView {
  id: string;
  rootId: string;
  /** Empty string for a root. */
  parentId: string;
  /** 1 for a root. */
  depth: number;
  name: string;
  budget: number;
  hardCap: boolean;
  metadata: Metadata;
  spent: number;
  held: number;
  allocated: number;
  settled: number;
  /** budget - spent - held - allocated - settled while open; 0 once closed. */
  available: number;
  /** Posted debits of this wallet and all its descendants. */
  totalSpent: number;
  status: WalletStatus;
  /** Own available <= 0 and every open child exhausted; always true once closed. */
  exhausted: boolean;
  createdAtMs: number;
}

/** A hold (reservation). */
export interface HoldView {
  id: string;
  walletId: string;
  amount: number;
  service: string;
  metadata: Metadata;
  status: HoldStatus;
  /** 0 unless captured. */
  capturedAmount: number;
  createdAtMs: number;
  expiresAtMs: number;
}

/** One receipt line. */
export interface ChargeLine {
  id: string;
  walletId: string;
  kind: ChargeKind;
  amount: number;
  /** Empty for refill and allocation. */
  service: string;
  metadata: Metadata;
  overBudget: boolean;
  /** Empty unless the line resolves a hold. */
  holdId: string;
  /** Empty for expire lines (nobody asked for them). */
  requestId: string;
  createdAtMs: number;
}

/** Debits grouped by a service name or an agent name. */
export interface Breakdown {
  key: string;
  credits: number;
  callCount: number;
}

/** Summary of one child's subtree inside a receipt. */
export interface ChildReceipt {
  walletId: string;
  name: string;
  budget: number;
  totalCredits: number;
  callCount: number;
  available: number;
  status: WalletStatus;
  exhausted: boolean;
}

/**
 * Aggregates for a wallet's subtree, maintained incrementally by the same atomic step as each
 * line. `totalCredits` = sum of SPEND and CAPTURE line amounts in the subtree; `byService` and
 * `byAgent` each sum to it (lines without an `agent` metadata key group under "").
 */
export interface Receipt {
  walletId: string;
  name: string;
  totalCredits: number;
  callCount: number;
  ownCredits: number;
  ownCallCount: number;
  /** Sorted by key. */
  byService: Breakdown[];
  /** Sorted by key. */
  byAgent: Breakdown[];
  refillCredits: number;
  refillCount: number;
  voidedHoldCredits: number;
  voidedHoldCount: number;
  overBudgetCount: number;
  budget: number;
  available: number;
  /** Direct children in creation order. */
  children: ChildReceipt[];
}

/** A page of results; `nextCursor` is undefined on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: number | undefined;
}
