/**
 * The memory store's sweeper schedule: which trees have pending work, and when it is due. A
 * binary min-heap by due time with lazy deletion (an entry is stale once its tree was scheduled
 * earlier or taken since), so taking the due trees costs O(log n) each instead of a scan of every
 * scheduled tree per sweep.
 */
export class SweepSchedule {
  /** root id -> the due time its live heap entry carries. */
  private readonly dueOf = new Map<string, number>();
  private readonly heap: { rootId: string; dueMs: number }[] = [];

  /** Schedules `rootId` at `dueMs`, unless it is scheduled for earlier already. */
  schedule(rootId: string, dueMs: number): void {
    const current = this.dueOf.get(rootId);
    if (current !== undefined && current <= dueMs) return;
    this.dueOf.set(rootId, dueMs);
    this.push({ rootId, dueMs });
  }

  /** Takes up to `max` trees due at `nowMs` off the schedule, earliest first. */
  takeDue(nowMs: number, max: number): string[] {
    const taken: string[] = [];
    while (taken.length < max) {
      const top = this.heap[0];
      if (top === undefined || top.dueMs > nowMs) break;
      this.pop();
      if (this.dueOf.get(top.rootId) !== top.dueMs) continue;
      this.dueOf.delete(top.rootId);
      taken.push(top.rootId);
    }
    return taken;
  }

  private push(entry: { rootId: string; dueMs: number }): void {
    const heap = this.heap;
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      const parent = heap[up] as { rootId: string; dueMs: number };
      if (parent.dueMs <= entry.dueMs) break;
      heap[i] = parent;
      i = up;
    }
    heap[i] = entry;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const l = heap[left] as { dueMs: number };
      const child =
        right < heap.length && (heap[right] as { dueMs: number }).dueMs < l.dueMs ? right : left;
      const c = heap[child] as { rootId: string; dueMs: number };
      if (c.dueMs >= last.dueMs) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}
