import { treeOf } from "../ledger/ids.js";
import { invalidArgument, LedgerError } from "../ledger/ledger-error.js";
import { Limits } from "../ledger/limits.js";
import type { EventKind, EventPosition, LedgerEvent } from "../ledger/types.js";
import { listEventsInput, parse, watchEventsInput } from "../ledger/validation.js";
import type { LedgerStore } from "../store/ledger-store.js";
import { decodeCursor } from "./cursor.js";
import { ReaderState } from "./reader-state.js";
import { type Tail, TreeTails } from "./tree-tails.js";
import { Wakeups } from "./wakeups.js";

/** An event with the cursor that resumes right after it. */
export interface FeedEvent {
  event: LedgerEvent;
  cursor: string;
}

/** What a watch yields: events, and first a checkpoint (no event) with where it began. */
export type WatchItem = FeedEvent | { event?: undefined; cursor: string };

/** Input of {@link EventFeed.list} and {@link EventFeed.watch}, as a transport hands it over. */
export interface EventFeedInput {
  /** Empty: every tree of the caller's project. */
  walletId?: string;
  /** Domain kind names; empty: every kind. */
  kinds?: string[];
  after?: string;
  pageSize?: number;
}

export interface EventFeedOptions {
  now?: () => number;
  /** Open watchers per project on this server (TOO_MANY_WATCHERS past it). Default 32. */
  maxWatchersPerProject?: number;
}

/** Default of {@link EventFeedOptions.maxWatchersPerProject}: a team's monitors, not a fleet. */
export const defaultMaxWatchersPerProject = 32;

/**
 * The event feed: reads the trees' event logs (docs/events.md) for `ListEvents` and
 * `WatchEvents`. The log is the truth: the store appends to it in the step that commits, and the
 * feed only reads it, after a cursor, so what a reader gets is exactly what committed, once, in
 * commit order per tree. Store notifications only say when to read again; one that is lost costs
 * latency, never an event (and a store that may have lost some says so, and everything is read).
 *
 * A watcher holds no buffer of events: it reads the next ones when its transport has sent the
 * last, so a slow watcher costs memory for its position only, and never slows a spend (the spend
 * path does not know watchers exist). Transports end a watcher whose client stops reading
 * (WATCHER_TOO_SLOW) so it can resume by cursor.
 */
export class EventFeed {
  private readonly now: () => number;
  private readonly maxWatchers: number;
  private readonly watchers = new Map<string, number>();
  private readonly tails: TreeTails;

  constructor(
    private readonly store: LedgerStore,
    options: EventFeedOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.maxWatchers = options.maxWatchersPerProject ?? defaultMaxWatchersPerProject;
    this.tails = new TreeTails(store, this.now);
  }

  /** Open watchers of `project` on this server. */
  watcherCount(project: string): number {
    return this.watchers.get(project) ?? 0;
  }

  /**
   * One page of events after `after` (empty: from the oldest retained), oldest first per tree,
   * with the cursor to continue from (the same cursor when nothing new has committed).
   */
  async list(
    project: string,
    input: EventFeedInput,
  ): Promise<{ events: FeedEvent[]; nextCursor: string }> {
    const { walletId, kinds, after, pageSize } = parse(listEventsInput, input);
    const state = await this.open(project, walletId, after, "oldest");
    const events: FeedEvent[] = [];
    for (const root of await this.treesOf(state)) {
      for (let caughtUp = false; !caughtUp && events.length < pageSize; ) {
        caughtUp = await this.readTree(state, root, pageSize - events.length, kinds, (e) => {
          events.push(e);
        });
      }
      if (events.length >= pageSize) break;
    }
    return { events, nextCursor: state.cursor() };
  }

  /**
   * A checkpoint with the cursor where the watch begins, then the events after `after` (empty:
   * from the next one committed), then live ones as they commit, until `signal` aborts. Throws TOO_MANY_WATCHERS past the per-project limit,
   * EVENTS_EXPIRED when `after` is older than retention.
   */
  async *watch(
    project: string,
    input: EventFeedInput,
    signal: AbortSignal,
  ): AsyncGenerator<WatchItem> {
    const { walletId, kinds, after } = parse(watchEventsInput, input);
    const release = this.admit(project);
    const wake = new Wakeups();
    const stop = () => wake.stop();
    signal.addEventListener("abort", stop, { once: true });
    let unsubscribe = () => {};
    const tails = new Map<string, { tail: Tail; release: () => void }>();
    try {
      const state = await this.open(project, walletId, after, "now");
      unsubscribe = this.store.subscribeEvents(project, (root, position) => {
        if (root === undefined) wake.everything();
        else if (state.covers(root) && !state.hasReached(root, position)) wake.tree(root);
      });
      yield { event: undefined, cursor: state.cursor() };
      // Whatever committed before the subscription took effect is read by this first round.
      wake.everything();
      for (;;) {
        const due = await wake.next();
        if (due === undefined || signal.aborted) return;
        const roots = due === "everything" ? await this.treesOf(state) : due;
        for (const root of roots) {
          const fromTail = await this.fromTail(state, root, tails);
          if (fromTail) {
            for (const event of fromTail) {
              state.advance(root, event);
              if (kinds.size === 0 || kinds.has(event.kind)) {
                yield { event, cursor: state.cursor() };
                if (signal.aborted) return;
              }
            }
            continue;
          }
          const ready: FeedEvent[] = [];
          for (let caughtUp = false; !caughtUp; ) {
            caughtUp = await this.readTree(state, root, Number.POSITIVE_INFINITY, kinds, (e) => {
              ready.push(e);
            });
            for (const e of ready.splice(0)) {
              yield e;
              if (signal.aborted) return;
            }
          }
        }
        state.compact(this.now());
      }
    } finally {
      signal.removeEventListener("abort", stop);
      unsubscribe();
      for (const held of tails.values()) held.release();
      release();
    }
  }

  /**
   * The events of `root` after the reader's position from the tree's shared tail, or undefined
   * when the reader must read the store itself: it watches an inner wallet (the store filters
   * its subtree), has no position in the tree yet, or is behind what the tail holds.
   */
  private async fromTail(
    state: ReaderState,
    root: string,
    tails: Map<string, { tail: Tail; release: () => void }>,
  ): Promise<LedgerEvent[] | undefined> {
    if (state.walletId !== "" && state.walletId !== root) return undefined;
    const position = state.positionOf(root);
    if (position === undefined) return undefined;
    let held = tails.get(root);
    if (!held) {
      held = this.tails.acquire(state.project, root);
      tails.set(root, held);
    }
    await held.tail.refresh();
    return held.tail.after(position);
  }

  /** Counts a watcher in; the returned function counts it out. */
  private admit(project: string): () => void {
    const open = this.watcherCount(project);
    if (open >= this.maxWatchers) {
      throw new LedgerError(
        "TOO_MANY_WATCHERS",
        `project has ${open} open watchers, the most this server allows`,
        { limit: String(this.maxWatchers) },
      );
    }
    this.watchers.set(project, open + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.watcherCount(project) - 1;
      if (left > 0) this.watchers.set(project, left);
      else this.watchers.delete(project);
    };
  }

  /**
   * Where a reader starts: after its cursor, or (without one) at the oldest event retained
   * ("oldest", for listing) or at the next event committed ("now", for watching).
   */
  private async open(
    project: string,
    walletId: string,
    after: string,
    fresh: "oldest" | "now",
  ): Promise<ReaderState> {
    const cursor = after === "" ? undefined : decodeCursor(after);
    if (walletId === "") {
      if (cursor) return new ReaderState(project, "", cursor.trees, cursor.sinceMs);
      // A millisecond back: an event committed in the same millisecond as the watch began may be
      // delivered, never one after it missed.
      return new ReaderState(project, "", new Map(), fresh === "now" ? this.now() - 1 : undefined);
    }
    const root = treeOf(walletId);
    if (cursor) {
      const position = cursor.trees.get(root);
      if (cursor.trees.size !== 1 || position === undefined || cursor.sinceMs !== undefined) {
        throw invalidArgument("after", "not a cursor of this wallet's events");
      }
      return new ReaderState(project, walletId, new Map([[root, position]]), undefined);
    }
    const trees = new Map<string, EventPosition>();
    if (fresh === "now") {
      // Every read answers the tree's head; this one also checks that the wallet is the caller's.
      const { head } = await this.store.readEvents({
        project,
        walletId,
        after: head0,
        limit: 1,
        nowMs: this.now(),
      });
      trees.set(root, head);
    } else {
      await this.store.getWallet({ project, walletId, nowMs: this.now() });
    }
    return new ReaderState(project, walletId, trees, undefined);
  }

  /**
   * The trees a reader reads: its wallet's, or every root of the project (in creation order). A
   * project-wide cursor naming a tree that is not the caller's is refused, as a page token from
   * another listing is.
   */
  private async treesOf(state: ReaderState): Promise<string[]> {
    if (state.walletId !== "") return [treeOf(state.walletId)];
    const roots: string[] = [];
    for (let cursor: number | undefined = 0; cursor !== undefined; ) {
      const page = await this.store.listWallets({
        project: state.project,
        parentId: "",
        pageSize: Limits.pageSizeMax,
        cursor,
        nowMs: this.now(),
      });
      for (const wallet of page.items) roots.push(wallet.id);
      cursor = page.nextCursor;
    }
    const mine = new Set(roots);
    for (const root of state.namedTrees()) {
      if (!mine.has(root)) throw invalidArgument("after", "not a cursor of this project's events");
    }
    return roots;
  }

  /**
   * Reads one piece of `root`'s log from the reader's position, hands each event of the wanted
   * kinds (at most `room`) to `take` with its cursor, and moves the position past what it read.
   * Resolves true once the reader has reached the tree's newest event.
   */
  private async readTree(
    state: ReaderState,
    root: string,
    room: number,
    kinds: Set<EventKind>,
    take: (event: FeedEvent) => void,
  ): Promise<boolean> {
    const from = state.from(root);
    const read = await this.store.readEvents({
      project: state.project,
      walletId: state.walletId === "" ? root : state.walletId,
      ...from,
      limit: Limits.rowsPerScript,
      nowMs: this.now(),
    });
    if (from.after) {
      if (from.after.seq > read.head.seq) {
        throw invalidArgument("after", "not a cursor of this tree's events");
      }
      if (from.after.seq + 1 < read.firstSeq) {
        throw new LedgerError(
          "EVENTS_EXPIRED",
          `events of tree ${root} after the cursor are no longer retained; list from the oldest`,
          { root_id: root, oldest_sequence: String(read.firstSeq) },
        );
      }
    }
    let taken = 0;
    for (const event of read.events) {
      if (taken >= room) {
        // The page is full: stop right after the last event handed over.
        return false;
      }
      state.advance(root, event);
      if (kinds.size === 0 || kinds.has(event.kind)) {
        take({ event, cursor: state.cursor() });
        taken++;
      }
    }
    if (read.scannedTo) state.advance(root, read.scannedTo);
    return read.scannedTo === undefined || read.scannedTo.seq >= read.head.seq;
  }
}

/** The position before a tree's first event. */
const head0: EventPosition = { ms: 0, seq: 0 };
