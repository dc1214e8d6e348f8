import type { ChargeLine } from "../../ledger/types.js";

/**
 * What a successful mutation leaves behind for its replays: the ids and the figures of the first
 * outcome. Wallets and holds are stored by id because a replay reports them as they are now.
 */
export type StoredOutcome =
  | { kind: "wallet"; walletId: string }
  | { kind: "close"; walletId: string; returned: number }
  | { kind: "spend"; line: ChargeLine; remaining: number }
  | { kind: "authorize"; holdId: string; remaining: number }
  | { kind: "resolve"; line: ChargeLine; holdId: string; remaining: number };

interface IdempotencyRecord {
  fingerprint: string;
  outcome: StoredOutcome;
  expiresAtMs: number;
}

/**
 * The request ids one tree has seen, each kept for `ttlMs` of command time (`nowMs`, not the wall
 * clock, so a fake clock drives it in tests and both stores agree on the boundary): a record
 * written at t answers replays while nowMs < t + ttlMs.
 */
export class IdempotencyLog {
  /** Insertion order is (nearly) expiry order, which lets {@link prune} stop at the first live one. */
  private readonly records = new Map<string, IdempotencyRecord>();

  constructor(private readonly ttlMs: number) {}

  /** The live record of `requestId`, if any. */
  find(
    requestId: string,
    nowMs: number,
  ): { fingerprint: string; outcome: StoredOutcome } | undefined {
    const record = this.records.get(requestId);
    if (record === undefined) return undefined;
    if (record.expiresAtMs <= nowMs) {
      this.records.delete(requestId);
      return undefined;
    }
    return record;
  }

  /** Remembers a successful outcome. Only called after every check of the command passed. */
  remember(requestId: string, fingerprint: string, outcome: StoredOutcome, nowMs: number): void {
    // Delete first so a re-used expired id moves to the end and the map stays in expiry order.
    this.records.delete(requestId);
    this.records.set(requestId, { fingerprint, outcome, expiresAtMs: nowMs + this.ttlMs });
  }

  /**
   * Drops expired records from the front, so a busy tree keeps about one TTL's worth. A record
   * out of order (a command that carried an earlier nowMs) only delays pruning; {@link find}
   * still checks each record's own expiry.
   */
  prune(nowMs: number): void {
    for (const [requestId, record] of this.records) {
      if (record.expiresAtMs > nowMs) return;
      this.records.delete(requestId);
    }
  }

  /** Records currently kept (expired ones not yet pruned included); for tests. */
  get size(): number {
    return this.records.size;
  }
}
