/**
 * Runs batches of pending work (hold expiry, a close under way) a few at a time per store. A
 * batch is bounded (`Limits.workBatch`), but many at once would still queue up in front of every
 * other tenant's call: Redis runs scripts one after another, and the memory store runs every
 * ready batch of an event-loop turn back to back. So every batch, the sweeper's and those an
 * operation waits on alike, takes a place in the lane, and another tenant's call waits behind at
 * most `size` of them. Calls that find no pending work never touch the lane.
 */
export class WorkLane {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1) throw new RangeError("size must be >= 1");
  }

  /** Runs `batch` once a place is free; places are handed out first come, first served. */
  async run<T>(batch: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await batch();
    } finally {
      // Hand the place straight to the next waiter (the count stays), or give it back.
      const next = this.waiting.shift();
      if (next === undefined) this.running -= 1;
      else next();
    }
  }
}
