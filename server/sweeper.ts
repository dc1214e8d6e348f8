import type { Logger } from "./logger.js";
import type { LedgerStore } from "./store/ledger-store.js";

/**
 * The background half of bounded work: calls `store.sweep` so that trees nobody touches still
 * get their holds expired on time (their EXPIRE lines dated at the hold's expiry, not at the next
 * access) and a close whose caller went away is finished. Each sweep is a few bounded store
 * steps; when more is due it goes again at once (after yielding to the event loop), else it waits
 * `intervalMs`. Every operation on a tree still works off that tree's due work first, so the
 * sweeper is never needed for correctness, only for timeliness. Replicas may all run one: the
 * store lets one sweeper at a time work a tree.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly store: LedgerStore,
    private readonly intervalMs: number,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  /** Starts sweeping; the first sweep is one interval away (nothing is due at start-up). */
  start(): void {
    this.schedule(this.intervalMs);
  }

  /** Stops sweeping and waits for a sweep in flight, so the store can be closed after. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep();
    }, delayMs);
    // A sweeper never keeps a process alive on its own.
    this.timer.unref();
  }

  private async sweep(): Promise<void> {
    let more = false;
    try {
      more = await this.store.sweep(this.now());
      if (this.failing) this.logger.info("sweeper: the store answers again");
      this.failing = false;
    } catch (error) {
      // An outage is logged once, not once per interval; health and calls report it too.
      if (!this.failing) this.logger.warn({ err: error }, "sweeper: the store failed a sweep");
      this.failing = true;
    }
    this.schedule(more ? 0 : this.intervalMs);
  }
}
