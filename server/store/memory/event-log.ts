import type { Balances, EventKind, EventPosition, LedgerEvent } from "../../ledger/types.js";
import type { EventRead, EventRetention } from "../ledger-store.js";
import type { TreeState } from "./tree-state.js";
import { available, type WalletState } from "./wallet-state.js";

/**
 * One tree's event log (docs/events.md#the-event-log), the memory twin of the Redis store's
 * `P{R}:events` stream. Events are appended by the very step that makes the change they report
 * (the command functions call {@link logEvent} next to their writes), so a refused call, which
 * writes nothing, logs nothing, and a replay, which runs nothing, logs nothing either.
 *
 * The log holds its retained events oldest first in an array read from `start`, so dropping the
 * oldest is O(1) and finding a position is a subtraction (seqs have no gaps).
 */
export class EventLog {
  private events: LedgerEvent[] = [];
  /** Index of the oldest retained event in `events`; the ones before it are dropped. */
  private start = 0;
  /** The newest event's position; seq 0 and ms 0 before the first. */
  private headSeq = 0;
  private headMs = 0;

  /**
   * @param retention what to keep, enforced on every append
   * @param onAppend told after each append, so the store can notify subscribers once per step
   */
  constructor(
    private readonly retention: EventRetention,
    private readonly onAppend: () => void,
  ) {}

  /** The newest event's position. */
  get head(): EventPosition {
    return { ms: this.headMs, seq: this.headSeq };
  }

  /** Seq of the oldest retained event; `head.seq + 1` when none is retained. */
  get firstSeq(): number {
    return this.headSeq - (this.events.length - this.start) + 1;
  }

  /**
   * Appends an event at the step's clock, or at the previous event's ms if that is later, so ms
   * never goes back within a tree even when servers' clocks disagree; then drops what retention
   * no longer keeps. The event is stored as given: callers hand over fresh objects.
   */
  append(nowMs: number, event: Omit<LedgerEvent, "seq" | "ms">): void {
    this.headSeq += 1;
    this.headMs = Math.max(nowMs, this.headMs);
    this.events.push({ ...event, seq: this.headSeq, ms: this.headMs });
    this.trim();
    this.onAppend();
  }

  /**
   * Reads after `after` (exclusive), else after `sinceMs`, else from the oldest retained,
   * examining at most `limit` events and returning those `keep` accepts, as copies.
   */
  read(
    from: { after?: EventPosition; sinceMs?: number },
    limit: number,
    keep: (event: LedgerEvent) => boolean,
  ): EventRead {
    const firstSeq = this.firstSeq;
    let index: number;
    if (from.after !== undefined) {
      // Seqs have no gaps: the event after `after` sits at a computed index. A dropped position
      // reads from the oldest retained; the caller sees the gap in `firstSeq`.
      index = this.start + Math.max(0, from.after.seq + 1 - firstSeq);
    } else if (from.sinceMs !== undefined) {
      index = this.firstAfterMs(from.sinceMs);
    } else {
      index = this.start;
    }
    const examined = this.events.slice(index, index + limit);
    const last = examined.at(-1);
    return {
      events: examined.filter(keep).map(eventView),
      scannedTo: last === undefined ? undefined : { ms: last.ms, seq: last.seq },
      firstSeq,
      head: this.head,
    };
  }

  /** Index of the first retained event with ms > `sinceMs` (ms never decrease: a binary search). */
  private firstAfterMs(sinceMs: number): number {
    let lo = this.start;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.events[mid] as LedgerEvent).ms > sinceMs) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /**
   * Keeps the newest `maxEventsPerTree` events and none older than `maxAgeMs` before the newest
   * (an event exactly that old stays, as Redis's `XTRIM MINID` keeps ids >= the cutoff). The
   * newest event always stays, so `head` is always readable right after an append.
   */
  private trim(): void {
    const { maxEventsPerTree, maxAgeMs } = this.retention;
    const cutoffMs = this.headMs - maxAgeMs;
    while (this.events.length - this.start > maxEventsPerTree) this.start += 1;
    while ((this.events[this.start] as LedgerEvent).ms < cutoffMs) this.start += 1;
    // Compact once the dropped prefix outweighs what is kept: amortised O(1) per append.
    if (this.start > 1024 && this.start * 2 > this.events.length) {
      this.events = this.events.slice(this.start);
      this.start = 0;
    }
  }
}

/** A wallet's balances as an event reports them (available 0 once closed, as in WalletView). */
export function balancesOf(wallet: WalletState): Balances {
  return {
    budget: wallet.budget,
    spent: wallet.spent,
    held: wallet.held,
    allocated: wallet.allocated,
    available: wallet.status === "open" ? available(wallet) : 0,
    totalSpent: wallet.receipt.totalCredits,
  };
}

/** What an event adds to its kind and wallet. */
export type EventDetail = Pick<LedgerEvent, "line" | "holdId" | "thresholdPercent">;

/** Appends an event about `wallet`, with its balances as they are now (right after the change). */
export function logEvent(
  tree: TreeState,
  nowMs: number,
  wallet: WalletState,
  kind: EventKind,
  detail: EventDetail = {},
): void {
  tree.events.append(nowMs, {
    rootId: tree.rootId,
    kind,
    walletId: wallet.id,
    ...detail,
    balances: balancesOf(wallet),
  });
}

/** A detached copy of a stored event (its line is shared with the wallets' line lists). */
function eventView(event: LedgerEvent): LedgerEvent {
  const view: LedgerEvent = { ...event, balances: { ...event.balances } };
  if (event.line !== undefined) view.line = { ...event.line, metadata: { ...event.line.metadata } };
  return view;
}
