import { MemoryAgentKeyStore } from "../../agent-keys/memory-agent-key-store.js";
import { treeOf } from "../../ledger/ids.js";
import { Limits, type TreeLimits } from "../../ledger/limits.js";
import {
  holdNotFound,
  idempotencyKeyReused,
  storeClosed,
  walletNotFound,
} from "../../ledger/refusals.js";
import type {
  Breakdown,
  ChargeLine,
  ChildReceipt,
  Page,
  Receipt,
  WalletView,
} from "../../ledger/types.js";
import {
  type AddCreditsCommand,
  type AuthorizeCommand,
  type AuthorizeOutcome,
  type CaptureCommand,
  type CaptureOutcome,
  type CloseOutcome,
  type CloseWalletCommand,
  type CreateChildCommand,
  type CreateRootCommand,
  type EventListener,
  type EventRead,
  type EventRetention,
  type HoldInfo,
  type LedgerStore,
  type ListBreakdownQuery,
  type ListChargesQuery,
  type ListChildReceiptsQuery,
  type ListWalletsQuery,
  type MutationBase,
  type ReadEventsQuery,
  resolveStoreOptions,
  type SpendCommand,
  type SpendOutcome,
  type StoreOptions,
  type VoidCommand,
  type VoidOutcome,
  type WalletQuery,
} from "../ledger-store.js";
import type { ObservableStore, ScriptObserver } from "../script-observer.js";
import { timeOperations } from "../timed-operations.js";
import { WorkLane } from "../work-lane.js";
import { EventSubscribers } from "./event-subscribers.js";
import { type HoldState, holdView } from "./hold-state.js";
import type { StoredOutcome } from "./idempotency-log.js";
import { MemoryRedemptionStore } from "./memory-redemption-store.js";
import { nextDueMs, workOff } from "./pending-work.js";
import { breakdownRows, childReceipt, receiptView } from "./receipt-aggregates.js";
import { capture, debit, reserve, voidHold } from "./spend-commands.js";
import { SweepSchedule } from "./sweep-schedule.js";
import { createTree, lineView, type TreeState } from "./tree-state.js";
import { carveChild, closeWallet, growBudget } from "./wallet-commands.js";
import { type WalletState, walletView } from "./wallet-state.js";

type OutcomeOf<K extends StoredOutcome["kind"]> = Extract<StoredOutcome, { kind: K }>;

/**
 * The embedded `LedgerStore`: the default of `npm start` and of fast tests, with the semantics of
 * the Redis store (the conformance suite runs both).
 *
 * Each operation is one synchronous run inside its async method: no `await` separates its checks
 * from its writes, so in Node's single thread it is atomic exactly as a Lua script is in Redis.
 * Every method first finds the tree in the caller's project and works off its pending work (a
 * close under way, due holds) a bounded batch per event-loop turn, as the Redis scripts do it a
 * batch per script, so one tenant's backlog never stalls the others; then, in the turn that
 * finds none left, it finds the wallet or hold, consults the request id, checks and writes.
 * Nothing internal is ever returned: views, lines and receipts are fresh copies. State lives only
 * in this process.
 */
export class MemoryLedgerStore implements LedgerStore, ObservableStore {
  private readonly trees = new Map<string, TreeState>();
  /** Root ids per project in creation order (the root listing). */
  private readonly projectRoots = new Map<string, string[]>();
  private readonly idempotencyTtlMs: number;
  private readonly maxDepth: number;
  private readonly limits: TreeLimits;
  private readonly eventRetention: EventRetention;
  /** `subscribeEvents` listeners, told after each step that appended events. */
  private readonly subscribers = new EventSubscribers();
  /** The sweeper's schedule: when each tree next has pending work. */
  private readonly due = new SweepSchedule();
  /** One batch of pending work per event-loop turn, whoever waits on it (see `WorkLane`). */
  private readonly lane = new WorkLane(1);
  readonly agentKeys = new MemoryAgentKeyStore();
  readonly redemptions = new MemoryRedemptionStore();
  private closed = false;

  constructor(options: StoreOptions = {}) {
    const resolved = resolveStoreOptions(options);
    this.idempotencyTtlMs = resolved.idempotencyTtlMs;
    this.maxDepth = resolved.maxDepth;
    this.limits = resolved.limits;
    this.eventRetention = resolved.eventRetention;
  }

  async createRoot(cmd: CreateRootCommand): Promise<WalletView> {
    this.ensureOpen();
    const existing = this.trees.get(cmd.rootId);
    if (existing !== undefined) {
      // The root id hashes project and request id, so another project's tree here would take a
      // hash collision; refuse it like any reuse rather than reveal or overwrite it.
      if (existing.project !== cmd.project) throw idempotencyKeyReused();
      return this.onTree(existing, cmd.nowMs, () =>
        this.mutate(
          existing,
          cmd,
          "wallet",
          (o) => this.view(existing, o.walletId),
          () => {
            // The log forgot the request (older than its TTL) but the tree it created is still
            // here: the same create is answered, a different one refused.
            if (existing.createFingerprint !== cmd.fingerprint) throw idempotencyKeyReused();
            return { kind: "wallet", walletId: existing.rootId };
          },
        ),
      );
    }
    const tree = createTree({
      ...cmd,
      createdAtMs: cmd.nowMs,
      idempotencyTtlMs: this.idempotencyTtlMs,
      eventRetention: this.eventRetention,
      onEvent: (t) => this.subscribers.mark(t),
    });
    tree.idempotency.remember(
      cmd.requestId,
      cmd.fingerprint,
      { kind: "wallet", walletId: tree.rootId },
      cmd.nowMs,
    );
    this.trees.set(tree.rootId, tree);
    const roots = this.projectRoots.get(cmd.project);
    if (roots === undefined) this.projectRoots.set(cmd.project, [tree.rootId]);
    else roots.push(tree.rootId);
    return walletView(tree.root);
  }

  async createChild(cmd: CreateChildCommand): Promise<WalletView> {
    return this.onWallet(cmd.project, cmd.parentId, cmd.nowMs, (tree, parent) =>
      this.mutate(
        tree,
        cmd,
        "wallet",
        (o) => this.view(tree, o.walletId),
        () => carveChild(tree, parent, cmd, this.maxDepth, this.limits.maxChildrenPerWallet),
      ),
    );
  }

  async getWallet(query: WalletQuery): Promise<WalletView> {
    return this.onWallet(query.project, query.walletId, query.nowMs, (_, w) => walletView(w));
  }

  async listWallets(query: ListWalletsQuery): Promise<Page<WalletView>> {
    if (query.parentId === "") {
      this.ensureOpen();
      const roots = this.projectRoots.get(query.project) ?? [];
      // Each listed root is an access to its tree, so its pending work is done first (in Redis
      // each root is read by its own script, in its own slot).
      const end = query.cursor + query.pageSize;
      const items: WalletView[] = [];
      for (const rootId of roots.slice(query.cursor, end)) {
        items.push((await this.getWallet({ ...query, walletId: rootId })) as WalletView);
      }
      return { items, nextCursor: end < roots.length ? end : undefined };
    }
    return this.onWallet(query.project, query.parentId, query.nowMs, (_, wallet) =>
      page(wallet.children, query.cursor, query.pageSize, walletView),
    );
  }

  async addCredits(cmd: AddCreditsCommand): Promise<WalletView> {
    return this.onWallet(cmd.project, cmd.walletId, cmd.nowMs, (tree, wallet) =>
      this.mutate(
        tree,
        cmd,
        "wallet",
        (o) => this.view(tree, o.walletId),
        () => growBudget(tree, wallet, cmd),
      ),
    );
  }

  async closeWallet(cmd: CloseWalletCommand): Promise<CloseOutcome> {
    const { tree, outcome } = await this.onWallet(
      cmd.project,
      cmd.walletId,
      cmd.nowMs,
      (tree, wallet) => ({
        tree,
        outcome: this.mutate(
          tree,
          cmd,
          "close",
          (o) => o,
          () => closeWallet(tree, wallet, cmd.requestId, cmd.nowMs),
        ),
      }),
    );
    // The close is accepted and remembered; the subtree closes in batches, then it answers.
    return this.onTree(tree, cmd.nowMs, () => ({
      wallet: this.view(tree, outcome.walletId),
      returned: outcome.returned,
    }));
  }

  async spend(cmd: SpendCommand): Promise<SpendOutcome> {
    return this.onWallet(cmd.project, cmd.walletId, cmd.nowMs, (tree, wallet) =>
      this.mutate(
        tree,
        cmd,
        "spend",
        (o) => ({ line: lineView(o.line), remaining: o.remaining }),
        () => debit(tree, wallet, cmd, this.limits),
      ),
    );
  }

  async authorize(cmd: AuthorizeCommand): Promise<AuthorizeOutcome> {
    return this.onWallet(cmd.project, cmd.walletId, cmd.nowMs, (tree, wallet) => {
      const outcome = this.mutate(
        tree,
        cmd,
        "authorize",
        (o) => ({ hold: holdView(this.hold(tree, o.holdId)), remaining: o.remaining }),
        () => reserve(tree, wallet, cmd, this.limits),
      );
      this.schedule(tree.rootId, outcome.hold.expiresAtMs);
      return outcome;
    });
  }

  async capture(cmd: CaptureCommand): Promise<CaptureOutcome> {
    return this.onHold(cmd.project, cmd.holdId, cmd.nowMs, (tree, hold) =>
      this.mutate(
        tree,
        cmd,
        "resolve",
        (o) => this.resolution(tree, o),
        () => capture(tree, hold, cmd.amount, cmd.metadata, cmd.requestId, cmd.nowMs, this.limits),
      ),
    );
  }

  async void(cmd: VoidCommand): Promise<VoidOutcome> {
    return this.onHold(cmd.project, cmd.holdId, cmd.nowMs, (tree, hold) =>
      this.mutate(
        tree,
        cmd,
        "resolve",
        (o) => this.resolution(tree, o),
        () => voidHold(tree, hold, cmd.requestId, cmd.nowMs),
      ),
    );
  }

  async getReceipt(query: WalletQuery): Promise<Receipt> {
    return this.onWallet(query.project, query.walletId, query.nowMs, (_, w) => receiptView(w));
  }

  async listBreakdown(query: ListBreakdownQuery): Promise<Page<Breakdown>> {
    return this.onWallet(query.project, query.walletId, query.nowMs, (_, wallet) =>
      page(breakdownRows(wallet, query.dimension), query.cursor, query.pageSize, (r) => r),
    );
  }

  async listChildReceipts(query: ListChildReceiptsQuery): Promise<Page<ChildReceipt>> {
    return this.onWallet(query.project, query.walletId, query.nowMs, (_, wallet) =>
      page(wallet.children, query.cursor, query.pageSize, childReceipt),
    );
  }

  async listCharges(query: ListChargesQuery): Promise<Page<ChargeLine>> {
    return this.onWallet(query.project, query.walletId, query.nowMs, (_, wallet) => {
      const lines = query.includeDescendants ? wallet.subtreeLines : wallet.ownLines;
      const failures = this.redemptions.gatewayFailures;
      return page(lines, query.cursor, query.pageSize, (line) => {
        const view = lineView(line);
        const failure = failures.get(view.id);
        if (failure !== undefined) view.gatewayFailure = failure;
        return view;
      });
    });
  }

  /** Works one batch on each of up to {@link sweepTrees} trees whose pending work is due. */
  async sweep(nowMs: number): Promise<boolean> {
    this.ensureOpen();
    const dueTrees = this.due.takeDue(nowMs, sweepTrees);
    let more = dueTrees.length === sweepTrees;
    for (const rootId of dueTrees) {
      const tree = this.trees.get(rootId) as TreeState;
      await this.batch(tree, nowMs);
      const next = nextDueMs(tree, nowMs);
      if (next !== undefined) this.schedule(rootId, next);
      if (next !== undefined && next <= nowMs) more = true;
    }
    return more;
  }

  /**
   * Reads the tree's log as it is: no pending work is done first (a read of the log is not an
   * operation on the tree, and a watcher polling must not change what it watches), so a due
   * hold's `expire` event appears with the next operation or sweep that expires it.
   */
  async readEvents(query: ReadEventsQuery): Promise<EventRead> {
    const tree = this.callersTree(query.project, query.walletId);
    const wallet = tree?.wallets.get(query.walletId);
    if (tree === undefined || wallet === undefined) throw walletNotFound(query.walletId);
    const keep =
      wallet === tree.root
        ? () => true
        : (event: { walletId: string }) => inSubtree(tree.wallets.get(event.walletId), wallet);
    return tree.events.read(query, query.limit, keep);
  }

  subscribeEvents(project: string, listener: EventListener): () => void {
    return this.subscribers.subscribe(project, listener);
  }

  async holdInfo(holdId: string): Promise<HoldInfo | undefined> {
    this.ensureOpen();
    const hold = this.trees.get(treeOf(holdId))?.holds.get(holdId);
    if (hold === undefined) return undefined;
    const { walletId, service, status, expiresAtMs } = hold;
    return { walletId, service, status, expiresAtMs };
  }

  async ping(): Promise<void> {
    this.ensureOpen();
  }

  /**
   * Marks the store closed: later calls fail STORE_UNAVAILABLE, as they would on a closed Redis
   * connection, so a use after shutdown is loud instead of silently serving stale state.
   */
  async close(): Promise<void> {
    this.closed = true;
  }

  /** Reports each operation (store `memory`, script `spend`, ...): see `ObservableStore`. */
  observeScripts(observer: ScriptObserver): void {
    timeOperations(this, "memory", observer);
  }

  /**
   * Runs a mutation under its request id: a live record with the same fingerprint (and so the
   * same operation) is answered from the stored outcome without running anything; a different
   * one is IDEMPOTENCY_KEY_REUSED; otherwise `run` checks and writes, and only its success is
   * remembered, so a refused call may be retried. `answer` builds the reply for both paths.
   */
  private mutate<K extends StoredOutcome["kind"], R>(
    tree: TreeState,
    cmd: MutationBase,
    kind: K,
    answer: (outcome: OutcomeOf<K>) => R,
    run: () => StoredOutcome,
  ): R {
    const prior = tree.idempotency.find(cmd.requestId, cmd.nowMs);
    if (prior !== undefined) {
      if (prior.fingerprint !== cmd.fingerprint || prior.outcome.kind !== kind) {
        throw idempotencyKeyReused();
      }
      return answer(prior.outcome as OutcomeOf<K>);
    }
    const outcome = run() as OutcomeOf<K>;
    tree.idempotency.remember(cmd.requestId, cmd.fingerprint, outcome, cmd.nowMs);
    return answer(outcome);
  }

  /**
   * Runs `act` on the tree once its pending work is done: a small slice in the caller's own turn,
   * the rest in batches through the lane, one per event-loop turn, so every other call runs
   * between batches. `act` runs in the very turn that found no work left (no `await` in between),
   * which is what keeps an operation atomic with the work it waited for. While work is left the
   * tree stays on the sweeper's schedule, so it is finished even if this caller goes away.
   */
  private async onTree<R>(tree: TreeState, nowMs: number, act: () => R): Promise<R> {
    this.ensureOpen();
    while (!workOff(tree, nowMs, Limits.workSlice)) {
      this.schedule(tree.rootId, nowMs);
      await this.batch(tree, nowMs);
      this.ensureOpen();
    }
    tree.idempotency.prune(nowMs);
    return act();
  }

  /** One batch of the tree's pending work, in the lane, in a turn of its own. */
  private batch(tree: TreeState, nowMs: number): Promise<boolean> {
    return this.lane.run(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      this.ensureOpen();
      return workOff(tree, nowMs, Limits.workBatch);
    });
  }

  /**
   * Runs `act` on a wallet of the caller's project (see {@link onTree}). Missing, or in another
   * project: WALLET_NOT_FOUND, with no work done on the tree.
   */
  private onWallet<R>(
    project: string,
    walletId: string,
    nowMs: number,
    act: (tree: TreeState, wallet: WalletState) => R,
  ): Promise<R> {
    const tree = this.callersTree(project, walletId);
    if (tree === undefined) throw walletNotFound(walletId);
    return this.onTree(tree, nowMs, () => {
      const wallet = tree.wallets.get(walletId);
      if (wallet === undefined) throw walletNotFound(walletId);
      return act(tree, wallet);
    });
  }

  /** Runs `act` on a hold of the caller's project, as {@link onWallet} does on a wallet. */
  private onHold<R>(
    project: string,
    holdId: string,
    nowMs: number,
    act: (tree: TreeState, hold: HoldState) => R,
  ): Promise<R> {
    const tree = this.callersTree(project, holdId);
    if (tree === undefined) throw holdNotFound(holdId);
    return this.onTree(tree, nowMs, () => {
      const hold = tree.holds.get(holdId);
      if (hold === undefined) throw holdNotFound(holdId);
      return act(tree, hold);
    });
  }

  /** The tree of an id if it exists and is the caller's. */
  private callersTree(project: string, id: string): TreeState | undefined {
    this.ensureOpen();
    const tree = this.trees.get(treeOf(id));
    return tree?.project === project ? tree : undefined;
  }

  /** Puts a tree on the sweeper's schedule at `dueMs`, unless it is there for earlier. */
  private schedule(rootId: string, dueMs: number): void {
    this.due.schedule(rootId, dueMs);
  }

  /** A wallet or hold named by a stored outcome: it exists, since nothing is ever deleted. */
  private view(tree: TreeState, walletId: string): WalletView {
    return walletView(tree.wallets.get(walletId) as WalletState);
  }

  private hold(tree: TreeState, holdId: string): HoldState {
    return tree.holds.get(holdId) as HoldState;
  }

  private resolution(tree: TreeState, o: OutcomeOf<"resolve">): CaptureOutcome {
    return {
      line: lineView(o.line),
      hold: holdView(this.hold(tree, o.holdId)),
      remaining: o.remaining,
    };
  }

  private ensureOpen(): void {
    if (this.closed) throw storeClosed();
  }
}

/** Trees one sweep works on, as the Redis store claims them. */
const sweepTrees = 16;

/** Whether `wallet` is `top` or one of its descendants (O(depth)). */
function inSubtree(wallet: WalletState | undefined, top: WalletState): boolean {
  for (let w = wallet; w !== undefined; w = w.parent) {
    if (w === top) return true;
  }
  return false;
}

/** One page of `items` from offset `cursor`; `nextCursor` only when more items follow. */
function page<T, V>(
  items: readonly T[],
  cursor: number,
  pageSize: number,
  view: (item: T) => V,
): Page<V> {
  const end = cursor + pageSize;
  return {
    items: items.slice(cursor, end).map(view),
    nextCursor: end < items.length ? end : undefined,
  };
}
