import { treeOf } from "../ledger/ids.js";
import type { EventPosition } from "../ledger/types.js";
import { encodeCursor } from "./cursor.js";

/**
 * Where one reader of the event feed stands: its scope (a wallet's subtree, or every tree of a
 * project), the last position it read per tree, and for a project-wide reader the time after
 * which a tree it has no position for is read. Its cursor is exactly this state.
 */
export class ReaderState {
  constructor(
    readonly project: string,
    /** The watched wallet; "" for every tree of the project. */
    readonly walletId: string,
    private readonly trees: Map<string, EventPosition>,
    private sinceMs: number | undefined,
  ) {}

  /** The trees the reader has a position for. */
  namedTrees(): IterableIterator<string> {
    return this.trees.keys();
  }

  /** The last position read in `root`, if any. */
  positionOf(root: string): EventPosition | undefined {
    return this.trees.get(root);
  }

  /** Whether events of `root` are in scope. */
  covers(root: string): boolean {
    return this.walletId === "" || treeOf(this.walletId) === root;
  }

  /** Whether the reader has read `root` up to `position` already. */
  hasReached(root: string, position: EventPosition | undefined): boolean {
    const at = this.trees.get(root);
    return at !== undefined && position !== undefined && at.seq >= position.seq;
  }

  /** What to read `root` from: after its position, after `sinceMs`, or from the oldest. */
  from(root: string): { after?: EventPosition; sinceMs?: number } {
    const after = this.trees.get(root);
    if (after) return { after };
    return this.sinceMs === undefined ? {} : { sinceMs: this.sinceMs };
  }

  /** Moves `root`'s position to `position` (never back). */
  advance(root: string, position: EventPosition): void {
    const at = this.trees.get(root);
    if (at === undefined || position.seq > at.seq) {
      this.trees.set(root, { ms: position.ms, seq: position.seq });
    }
  }

  cursor(): string {
    return encodeCursor(
      this.sinceMs === undefined
        ? { trees: this.trees }
        : { trees: this.trees, sinceMs: this.sinceMs },
    );
  }

  /**
   * Keeps a project-wide watcher's cursor small. Once it has caught up at `nowMs`, every event
   * older than a margin has been read (a live watcher reads each tree it is told about), so
   * `sinceMs` can move up to `nowMs - margin` and the trees whose last event is older than that
   * need no position any more: reading them from `sinceMs` gives the same events. The margin
   * covers notification delay and clock skew between servers; only cursors past
   * {@link compactAbove} trees are compacted, so in practice cursors stay exact positions.
   */
  compact(nowMs: number): void {
    if (this.walletId !== "" || this.trees.size <= compactAbove) return;
    const since = Math.max(this.sinceMs ?? 0, nowMs - compactMarginMs);
    this.sinceMs = since;
    for (const [root, position] of this.trees) {
      if (position.ms <= since) this.trees.delete(root);
    }
  }
}

/** Trees a project-wide cursor names before it is compacted. */
export const compactAbove = 256;

/** How old a tree's last event must be before a compacted cursor drops the tree's position. */
export const compactMarginMs = 10_000;
