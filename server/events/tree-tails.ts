import { Limits } from "../ledger/limits.js";
import type { EventPosition, LedgerEvent } from "../ledger/types.js";
import type { LedgerStore } from "../store/ledger-store.js";

/** Newest events of a tree kept for its live watchers: a few seconds of a busy tree. */
export const tailSize = 1000;

/**
 * The newest events of one tree, read once for all of its live watchers. Without it every
 * watcher of a busy tree would read each new event from the store itself, so ten monitors on one
 * run would cost the store ten reads per spend; with it they cost one read per wake-up, shared
 * (and under load one read returns many events). Only whole-tree watchers (a root, or a
 * project) read from a tail; a watcher of an inner wallet reads its subtree from the store,
 * which filters by ancestry.
 */
class Tail {
  /** Consecutive events, ascending, ending at `head` once anything has been read. */
  events: LedgerEvent[] = [];
  head: EventPosition | undefined;
  watchers = 0;
  private reading: Promise<void> | undefined;
  private stale = false;

  constructor(
    private readonly store: LedgerStore,
    private readonly project: string,
    private readonly root: string,
    private readonly now: () => number,
  ) {}

  /**
   * Reads the tree's new events into the tail, once for every caller at the same time: a call
   * made while a read runs waits for a read that starts after it.
   */
  refresh(): Promise<void> {
    if (this.reading) {
      this.stale = true;
      return this.reading;
    }
    this.reading = this.readNew().finally(() => {
      this.reading = undefined;
    });
    return this.reading.then(() => {
      if (!this.stale) return;
      this.stale = false;
      return this.refresh();
    });
  }

  /**
   * The events after `position` if the tail covers them (it holds the next one, or the reader is
   * at its head), else undefined: the reader is behind the tail and reads the store itself.
   */
  after(position: EventPosition): LedgerEvent[] | undefined {
    const head = this.head;
    if (head === undefined || position.seq > head.seq) return undefined;
    const first = this.events[0];
    if (position.seq === head.seq) return [];
    if (first === undefined || first.seq > position.seq + 1) return undefined;
    return this.events.slice(position.seq + 1 - first.seq);
  }

  private async readNew(): Promise<void> {
    for (;;) {
      const read = await this.store.readEvents({
        project: this.project,
        walletId: this.root,
        ...(this.head ? { after: this.head } : { sinceMs: this.now() }),
        limit: Limits.rowsPerScript,
        nowMs: this.now(),
      });
      const first = read.events[0];
      const continues =
        this.head !== undefined && (first === undefined || first.seq === this.head.seq + 1);
      // A first read, or a gap (retention dropped what the tail had not read): start afresh.
      if (!continues) this.events = [];
      this.events.push(...read.events);
      if (this.events.length > tailSize) this.events.splice(0, this.events.length - tailSize);
      this.head = read.scannedTo ?? (this.head === undefined ? read.head : this.head);
      if (read.scannedTo === undefined || read.scannedTo.seq >= read.head.seq) return;
    }
  }
}

/** The tails of the trees that have whole-tree watchers on this server. */
export class TreeTails {
  private readonly tails = new Map<string, Tail>();

  constructor(
    private readonly store: LedgerStore,
    private readonly now: () => number,
  ) {}

  /** The tail of `root` for one more watcher; `release` when the watcher ends. */
  acquire(project: string, root: string): { tail: Tail; release: () => void } {
    const key = `${project}\u0000${root}`;
    let tail = this.tails.get(key);
    if (!tail) {
      tail = new Tail(this.store, project, root, this.now);
      this.tails.set(key, tail);
    }
    tail.watchers++;
    const held = tail;
    let released = false;
    return {
      tail: held,
      release: () => {
        if (released) return;
        released = true;
        held.watchers--;
        if (held.watchers === 0) this.tails.delete(key);
      },
    };
  }
}

export type { Tail };
