import type { Amount } from "./amount.js";
import type { CallOptions } from "./options.js";

/** What happened on a receipt line. */
export type ChargeKind = "SPEND" | "CAPTURE" | "VOID" | "EXPIRE" | "REFILL" | "ALLOCATION";

/** Where a hold is in its life; it resolves exactly once. */
export type HoldStatus = "OPEN" | "CAPTURED" | "VOIDED" | "EXPIRED";

/** One receipt line: every spend, capture, void, expiry and budget extension leaves one. */
export interface Charge {
  id: string;
  walletId: string;
  kind: ChargeKind;
  /** Debited for SPEND and CAPTURE, released for VOID and EXPIRE, added for REFILL and ALLOCATION. */
  amount: bigint;
  /** The paid service; empty for REFILL and ALLOCATION. */
  service: string;
  metadata: Record<string, string>;
  /** A soft-capped wallet posted this debit past its budget. */
  overBudget: boolean;
  /** The hold this line resolves (CAPTURE, VOID, EXPIRE); empty otherwise. */
  holdId: string;
  /** The request id of the call that wrote the line (empty for EXPIRE). */
  requestId: string;
  createdAt: Date;
  /** SHA-1 (hex) of the line's canonical encoding, which covers `prevHash` (docs/events.md). */
  hash: string;
  /** `hash` of the tree's previous line; empty on the tree's first line. */
  prevHash: string;
}

/** A reservation of credits, later captured (fully or partly) or voided. */
export interface Hold {
  id: string;
  walletId: string;
  /** Credits reserved. */
  amount: bigint;
  service: string;
  metadata: Record<string, string>;
  status: HoldStatus;
  /** Credits posted by the capture; 0n unless captured. */
  capturedAmount: bigint;
  createdAt: Date;
  /** When an open hold releases itself if nobody captures or voids it. */
  expiresAt: Date;
}

/** Options of a spend: the paid service is required. */
export interface SpendOptions extends CallOptions {
  /** The paid service, 1..64 characters. */
  service: string;
  /** Labels for the receipt line; `agent` feeds the receipt's per-agent breakdown. */
  metadata?: Record<string, string>;
}

/** Options of an authorize. */
export interface AuthorizeOptions extends SpendOptions {
  /** 1..86400 seconds before an unresolved hold releases itself; default (0) 300. */
  ttlSeconds?: number;
}

/** Options of a capture (labels are merged over the hold's). */
export type CaptureOptions = CallOptions & { metadata?: Record<string, string> };

/** The answer to a spend. */
export interface SpendResult {
  /** The SPEND receipt line. */
  charge: Charge;
  /** The wallet's available credits right after the debit. */
  remaining: bigint;
  /** A signed JWS (EdDSA) naming the wallet, charge, service and amount, for the paid tool. */
  credential: string;
  credentialExpiresAt: Date;
}

/** The answer to a capture. */
export interface CaptureResult {
  /** The CAPTURE receipt line. */
  charge: Charge;
  /** The hold, now captured. */
  hold: Hold;
  /** The wallet's available credits right after the capture. */
  remaining: bigint;
}

/** The answer to a void. */
export interface VoidResult {
  /** The hold, now voided. */
  hold: Hold;
  /** The wallet's available credits right after the release. */
  remaining: bigint;
}

/** An open hold as the server granted it. */
export interface AuthorizeResult {
  hold: Hold;
  /** The wallet's available credits right after the reservation. */
  remaining: bigint;
  /** A signed JWS (EdDSA) naming the wallet, hold, service and maximum amount. */
  credential: string;
  credentialExpiresAt: Date;
}

/** An open hold, with shortcuts to resolve it (over the mode that authorized it). */
export interface Authorization extends AuthorizeResult {
  /** Posts `amount` (at most the hold's) and releases the rest. */
  capture(amount: Amount, options?: CaptureOptions): Promise<CaptureResult>;
  /** Releases the whole hold without charging anything. */
  void(options?: CallOptions): Promise<VoidResult>;
}

/** Debits grouped by one key (a service, or an agent: the `agent` label or the wallet's name). */
export interface Breakdown {
  key: string;
  credits: bigint;
  callCount: bigint;
}

/** Summary of one direct child's subtree. */
export interface ChildReceipt {
  walletId: string;
  name: string;
  budget: bigint;
  /** Credits debited in its subtree. */
  totalCredits: bigint;
  /** Debits (SPEND and CAPTURE lines) in its subtree. */
  callCount: bigint;
  available: bigint;
  /** The child is closed. */
  closed: boolean;
  /** Nothing in its subtree can spend any more. */
  exhausted: boolean;
}

/**
 * Totals for a wallet and its subtree, kept by the same atomic step as every debit:
 * `totalCredits` is the sum of the subtree's SPEND and CAPTURE lines, `callCount` their number.
 */
export interface Receipt {
  walletId: string;
  name: string;
  totalCredits: bigint;
  callCount: bigint;
  /** Credits debited by this wallet itself. */
  ownCredits: bigint;
  ownCallCount: bigint;
  /** The 20 services with the most credits, most first (`wallet.listBreakdown` pages all). */
  byService: Breakdown[];
  /** Every service not in `byService`, summed (key ""). */
  byServiceOther: Breakdown;
  /** Distinct services in the subtree. */
  serviceKeyCount: bigint;
  /**
   * The 20 agents with the most credits: the `agent` metadata key, or for a line without one its
   * wallet's name (its role), so a team's receipt breaks down by role with no metadata at all.
   */
  byAgent: Breakdown[];
  /** Every agent not in `byAgent`, summed (key ""). */
  byAgentOther: Breakdown;
  /** Distinct agents in the subtree. */
  agentKeyCount: bigint;
  /** Root top-ups in the subtree. */
  refillCredits: bigint;
  refillCount: bigint;
  /** Credits released by voided or expired holds. */
  voidedHoldCredits: bigint;
  voidedHoldCount: bigint;
  overBudgetCount: bigint;
  budget: bigint;
  available: bigint;
  /** The first 100 direct children, in creation order (`wallet.listChildReceipts` pages all). */
  children: ChildReceipt[];
  /** Direct children in all. */
  childCount: bigint;
}
