/**
 * Input limits. Each one exists so that a single request cannot make the ledger slow, unbounded or
 * inexact; each violation is rejected with INVALID_ARGUMENT naming the field.
 */
export const Limits = {
  /** 2^53 - 1: Redis Lua numbers are doubles, so no amount or balance may pass this. */
  maxCredits: Number.MAX_SAFE_INTEGER,
  /** Names are labels for people, not documents. */
  nameMaxChars: 128,
  /** Service names are identifiers ("web_search"), short enough to be breakdown keys. */
  serviceMaxChars: 64,
  /** Metadata rides on every receipt line: bounded so lines stay small. */
  metadataMaxKeys: 16,
  metadataKeyMaxChars: 64,
  metadataValueMaxChars: 256,
  requestIdMaxChars: 128,
  /** A tree has at most 8 levels (root = 1): every spend walks its ancestors once. */
  maxDepth: 8,
  /** A hold that lives less than a second cannot cover a real tool call. */
  holdTtlMinSeconds: 1,
  /** A hold longer than a day is a leak of reserved credits, not a reservation. */
  holdTtlMaxSeconds: 86_400,
  /** Five minutes covers a slow LLM call with margin. */
  holdTtlDefaultSeconds: 300,
  /** Alert thresholds are percentages of a budget; past 1000% a soft cap has long been noticed. */
  alertThresholdMin: 1,
  alertThresholdMax: 1000,
  /** Ten thresholds are plenty for a person to act on; each debit checks them per ancestor. */
  alertThresholdsMax: 10,
  /**
   * A cursor names at most 1,000 trees (~60 KB, under the 64 KB request cap); a project-wide
   * reader compacts its cursor long before (docs/events.md#cursors).
   */
  eventCursorMaxChars: 65_536,
  eventCursorMaxTrees: 1_000,
  pageSizeMax: 1000,
  pageSizeDefault: 100,
  /**
   * Units of pending work (a hold expired or voided, a child looked at or a wallet closed by a
   * close under way) one background batch does: about 100 x 45 us = 5 ms of Redis time at most.
   * Batches run one or two at a time per server (see `WorkLane`), so another project's call
   * waits behind at most a couple of them.
   */
  workBatch: 100,
  /**
   * Units of pending work an operation's own step does before it hands the rest to batches:
   * small (about 0.5 ms) because a tenant can send many operations at once, and each one's first
   * step runs whatever the lane says.
   */
  workSlice: 10,
  /** Rows one script reads for a listing page; a larger page is read in several scripts. */
  rowsPerScript: 100,
  /** Breakdown rows a receipt carries (the rest sum into an "other" row, and page in full). */
  receiptBreakdownTop: 20,
  /** Direct children a receipt summarises (the rest page in full). */
  receiptChildrenMax: 100,
} as const;

/**
 * Per-tree limits that keep one tenant's tree from growing what every store step over it must
 * carry. Each one is refused with its own reason (RESOURCE_EXHAUSTED) and can be configured;
 * the reasons for the defaults are in docs/limits.md.
 */
export interface TreeLimits {
  /** Open holds per tree: what a mass expiry or a close must work off. */
  maxOpenHoldsPerTree: number;
  /** Children per wallet, closed ones included (they stay listed). */
  maxChildrenPerWallet: number;
  /** Distinct service names, and separately distinct agent names, per tree's receipts. */
  maxBreakdownKeysPerTree: number;
}

/**
 * 10,000 each: far above what an agent run uses (a few dozen roles, tools and concurrent holds),
 * and small enough that a close or an expiry backlog of a full tree is about a second of
 * bounded batches, and a breakdown stays a few hundred kilobytes.
 */
export const defaultTreeLimits: TreeLimits = {
  maxOpenHoldsPerTree: 10_000,
  maxChildrenPerWallet: 10_000,
  maxBreakdownKeysPerTree: 10_000,
};
