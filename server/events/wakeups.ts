/**
 * What a watcher must read next: the trees it was told about since it last looked, or
 * everything (at the start, and when the store may have lost notifications). Bounded by the
 * number of trees, whatever the rate of events: a watcher that reads slowly only gets more
 * events per read.
 */
export class Wakeups {
  private readonly dirty = new Set<string>();
  private all = false;
  private stopped = false;
  private waiting: (() => void) | undefined;

  tree(root: string): void {
    this.dirty.add(root);
    this.wake();
  }

  everything(): void {
    this.all = true;
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    this.wake();
  }

  /** The next trees to read, once there are any; undefined once stopped. */
  async next(): Promise<string[] | "everything" | undefined> {
    while (!this.stopped && !this.all && this.dirty.size === 0) {
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
    if (this.stopped) return undefined;
    if (this.all) {
      this.all = false;
      this.dirty.clear();
      return "everything";
    }
    const roots = [...this.dirty];
    this.dirty.clear();
    return roots;
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
