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
  /** Percentages of the budget that emit THRESHOLD_CROSSED when totalSpent reaches them, ascending. */
  alertThresholds: number[];
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
  /** SHA-1 hex of the line's canonical encoding (which includes `prevHash`): docs/events.md. */
  hash: string;
  /** `hash` of the tree's previous line; "" on the tree's first line. */
  prevHash: string;
  /**
   * For a spend paid through the gateway whose upstream call failed: what happened (recorded once,
   * after the line, outside its hash). Absent otherwise.
   */
  gatewayFailure?: string;
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

/** The two ways a receipt breaks debits down. */
export type BreakdownDimension = "service" | "agent";

/**
 * Aggregates for a wallet's subtree, maintained incrementally by the same atomic step as each
 * line. `totalCredits` = sum of SPEND and CAPTURE line amounts in the subtree. Each breakdown is
 * its top rows plus an `other` row, and the two sum to `totalCredits` and `callCount`. A line
 * without an `agent` metadata key counts under its wallet's name (attribution by role).
 *
 * A receipt is bounded whatever the tree holds: it carries the top
 * `Limits.receiptBreakdownTop` rows of each breakdown and the first `Limits.receiptChildrenMax`
 * children; the rest page in full (`listBreakdown`, `listChildReceipts`).
 */
export interface Receipt {
  walletId: string;
  name: string;
  totalCredits: number;
  callCount: number;
  ownCredits: number;
  ownCallCount: number;
  /** The services with the most credits (ties by name in code point order), at most 20. */
  byService: Breakdown[];
  /** Every service not in `byService`, summed (key ""); zero when none is left out. */
  byServiceOther: Breakdown;
  /** Distinct service names in the subtree. */
  serviceKeyCount: number;
  /** The agents with the most credits, as `byService`. */
  byAgent: Breakdown[];
  /** Every agent not in `byAgent`, summed (key ""). */
  byAgentOther: Breakdown;
  /** Distinct agent names in the subtree. */
  agentKeyCount: number;
  refillCredits: number;
  refillCount: number;
  voidedHoldCredits: number;
  voidedHoldCount: number;
  overBudgetCount: number;
  budget: number;
  available: number;
  /** The first direct children in creation order, at most 100. */
  children: ChildReceipt[];
  /** Direct children in all. */
  childCount: number;
}

/** A page of results; `nextCursor` is undefined on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: number | undefined;
}

/**
 * What an event reports: a receipt line (its kind), a wallet's creation or close, a hold placed,
 * or an alert (docs/events.md).
 */
export type EventKind =
  | ChargeKind
  | "wallet_created"
  | "wallet_closed"
  | "hold_placed"
  | "threshold_crossed"
  | "soft_cap_exceeded"
  | "wallet_exhausted";

/** A wallet's balances right after an event. */
export interface Balances {
  budget: number;
  spent: number;
  held: number;
  allocated: number;
  /** As WalletView.available: 0 once closed. */
  available: number;
  totalSpent: number;
}

/**
 * Where an event sits in its tree's log: `seq` counts the tree's events from 1 without gaps,
 * `ms` is its commit time, never decreasing within a tree (the later of the step's clock and the
 * previous event's `ms`).
 */
export interface EventPosition {
  ms: number;
  seq: number;
}

/** One event of a tree's log, appended by the same atomic step as the change it reports. */
export interface LedgerEvent extends EventPosition {
  rootId: string;
  kind: EventKind;
  /** The wallet it happened to (an alert's: the wallet whose threshold or cap it is). */
  walletId: string;
  /** The line, for the line kinds. */
  line?: ChargeLine;
  /** hold_placed: the hold. */
  holdId?: string;
  /** threshold_crossed: the percentage crossed. */
  thresholdPercent?: number;
  balances: Balances;
}
