import type { HoldStatus, HoldView, Metadata } from "../../ledger/types.js";

/** The mutable record of one hold; callers only ever get {@link holdView} copies. */
export interface HoldState {
  id: string;
  /** Position in the tree's id sequence: breaks ties between holds due at the same ms. */
  seq: number;
  walletId: string;
  amount: number;
  service: string;
  metadata: Metadata;
  status: HoldStatus;
  capturedAmount: number;
  createdAtMs: number;
  expiresAtMs: number;
}

/** A detached copy of the hold as the interface reports it. */
export function holdView(hold: HoldState): HoldView {
  return {
    id: hold.id,
    walletId: hold.walletId,
    amount: hold.amount,
    service: hold.service,
    metadata: { ...hold.metadata },
    status: hold.status,
    capturedAmount: hold.capturedAmount,
    createdAtMs: hold.createdAtMs,
    expiresAtMs: hold.expiresAtMs,
  };
}

/**
 * Holds of one tree ordered by (expiresAtMs, seq), so expiry pops exactly the due ones: O(log n)
 * per hold instead of a scan of every open hold at every access. Holds resolved before they are
 * due stay in the heap and are skipped when popped (lazy deletion); each leaves within its TTL
 * (at most 24 h), so the heap stays bounded by the holds of the last day.
 */
export class HoldQueue {
  private readonly heap: HoldState[] = [];

  /** Queues a new hold for expiry. */
  push(hold: HoldState): void {
    const heap = this.heap;
    heap.push(hold);
    let i = heap.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!before(hold, at(heap, up))) break;
      heap[i] = at(heap, up);
      i = up;
    }
    heap[i] = hold;
  }

  /** Whether the earliest queued hold is due at `nowMs` (it may be resolved already). */
  hasDue(nowMs: number): boolean {
    const top = this.heap[0];
    return top !== undefined && top.expiresAtMs <= nowMs;
  }

  /** The earliest queued hold's expiry, or undefined when the queue is empty. */
  earliestMs(): number | undefined {
    return this.heap[0]?.expiresAtMs;
  }

  /** Removes and returns the earliest hold if it is due at `nowMs`, else undefined. */
  popDue(nowMs: number): HoldState | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined || top.expiresAtMs > nowMs) return undefined;
    const last = heap.pop() as HoldState;
    if (heap.length > 0) this.siftDown(last);
    return top;
  }

  private siftDown(hold: HoldState): void {
    const heap = this.heap;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(at(heap, right), at(heap, left)) ? right : left;
      if (!before(at(heap, child), hold)) break;
      heap[i] = at(heap, child);
      i = child;
    }
    heap[i] = hold;
  }
}

function before(a: HoldState, b: HoldState): boolean {
  return a.expiresAtMs < b.expiresAtMs || (a.expiresAtMs === b.expiresAtMs && a.seq < b.seq);
}

function at(heap: HoldState[], i: number): HoldState {
  return heap[i] as HoldState;
}
