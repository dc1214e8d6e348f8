import { treeOf } from "../../ledger/ids.js";
import type { TreeLimits } from "../../ledger/limits.js";
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
  type LedgerStore,
  type ListBreakdownQuery,
  type ListChargesQuery,
  type ListChildReceiptsQuery,
  type ListWalletsQuery,
  type MutationBase,
  resolveStoreOptions,
  type SpendCommand,
  type SpendOutcome,
  type StoreOptions,
  type VoidCommand,
  type VoidOutcome,
  type WalletQuery,
} from "../ledger-store.js";
import { type HoldState, holdView } from "./hold-state.js";
import type { StoredOutcome } from "./idempotency-log.js";
import { nextDueMs, workOff } from "./pending-work.js";
import { breakdownRows, childReceipt, receiptView } from "./receipt-aggregates.js";
import { capture, debit, reserve, voidHold } from "./spend-commands.js";
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
export class MemoryLedgerStore implements LedgerStore {
  private readonly trees = new Map<string, TreeState>();
  /** Root ids per project in creation order (the root listing). */
  private readonly projectRoots = new Map<string, string[]>();
  private readonly idempotencyTtlMs: number;
  private readonly maxDepth: number;
  private readonly limits: TreeLimits;
  /** The sweeper's schedule: root id -> when its tree next has pending work. */
  private readonly due = new Map<string, number>();
  private closed = false;

  constructor(options: StoreOptions = {}) {
    const resolved = resolveStoreOptions(options);
    this.idempotencyTtlMs = resolved.idempotencyTtlMs;
    this.maxDepth = resolved.maxDepth;
    this.limits = resolved.limits;
  }

  async createRoot(cmd: CreateRootCommand): Promise<WalletView> {
    this.ensureOpen();
    const existing = this.trees.get(cmd.rootId);
    if (existing !== undefined) {
      // The root id hashes project and request id, so another project's tree here would take a
      // hash collision; refuse it like any reuse rather than reveal or overwrite it.
      if (existing.project !== cmd.project) throw idempotencyKeyReused();
      await this.finishPendingWork(existing, cmd.nowMs);
      return this.mutate(
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
      );
    }
    const tree = createTree({
      ...cmd,
      createdAtMs: cmd.nowMs,
      idempotencyTtlMs: this.idempotencyTtlMs,
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
    const { tree, wallet: parent } = await this.findWallet(cmd.project, cmd.parentId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "wallet",
      (o) => this.view(tree, o.walletId),
      () => carveChild(tree, parent, cmd, this.maxDepth, this.limits.maxChildrenPerWallet),
    );
  }

  async getWallet(query: WalletQuery): Promise<WalletView> {
    return walletView((await this.findWallet(query.project, query.walletId, query.nowMs)).wallet);
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
    const { wallet } = await this.findWallet(query.project, query.parentId, query.nowMs);
    return page(wallet.children, query.cursor, query.pageSize, walletView);
  }

  async addCredits(cmd: AddCreditsCommand): Promise<WalletView> {
    const { tree, wallet } = await this.findWallet(cmd.project, cmd.walletId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "wallet",
      (o) => this.view(tree, o.walletId),
      () => growBudget(tree, wallet, cmd),
    );
  }

  async closeWallet(cmd: CloseWalletCommand): Promise<CloseOutcome> {
    const { tree, wallet } = await this.findWallet(cmd.project, cmd.walletId, cmd.nowMs);
    const outcome = this.mutate(
      tree,
      cmd,
      "close",
      (o) => o,
      () => closeWallet(tree, wallet, cmd.requestId, cmd.nowMs),
    );
    // The close is accepted and remembered; the subtree closes in batches, then it answers.
    await this.finishPendingWork(tree, cmd.nowMs);
    return { wallet: this.view(tree, outcome.walletId), returned: outcome.returned };
  }

  async spend(cmd: SpendCommand): Promise<SpendOutcome> {
    const { tree, wallet } = await this.findWallet(cmd.project, cmd.walletId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "spend",
      (o) => ({ line: lineView(o.line), remaining: o.remaining }),
      () => debit(tree, wallet, cmd, this.limits),
    );
  }

  async authorize(cmd: AuthorizeCommand): Promise<AuthorizeOutcome> {
    const { tree, wallet } = await this.findWallet(cmd.project, cmd.walletId, cmd.nowMs);
    const outcome = this.mutate(
      tree,
      cmd,
      "authorize",
      (o) => ({ hold: holdView(this.hold(tree, o.holdId)), remaining: o.remaining }),
      () => reserve(tree, wallet, cmd, this.limits),
    );
    this.schedule(tree.rootId, outcome.hold.expiresAtMs);
    return outcome;
  }

  async capture(cmd: CaptureCommand): Promise<CaptureOutcome> {
    const { tree, hold } = await this.findHold(cmd.project, cmd.holdId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "resolve",
      (o) => this.resolution(tree, o),
      () => capture(tree, hold, cmd.amount, cmd.metadata, cmd.requestId, cmd.nowMs, this.limits),
    );
  }

  async void(cmd: VoidCommand): Promise<VoidOutcome> {
    const { tree, hold } = await this.findHold(cmd.project, cmd.holdId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "resolve",
      (o) => this.resolution(tree, o),
      () => voidHold(tree, hold, cmd.requestId, cmd.nowMs),
    );
  }

  async getReceipt(query: WalletQuery): Promise<Receipt> {
    return receiptView((await this.findWallet(query.project, query.walletId, query.nowMs)).wallet);
  }

  async listBreakdown(query: ListBreakdownQuery): Promise<Page<Breakdown>> {
    const { wallet } = await this.findWallet(query.project, query.walletId, query.nowMs);
    return page(breakdownRows(wallet, query.dimension), query.cursor, query.pageSize, (r) => r);
  }

  async listChildReceipts(query: ListChildReceiptsQuery): Promise<Page<ChildReceipt>> {
    const { wallet } = await this.findWallet(query.project, query.walletId, query.nowMs);
    return page(wallet.children, query.cursor, query.pageSize, childReceipt);
  }

  async listCharges(query: ListChargesQuery): Promise<Page<ChargeLine>> {
    const { wallet } = await this.findWallet(query.project, query.walletId, query.nowMs);
    const lines = query.includeDescendants ? wallet.subtreeLines : wallet.ownLines;
    return page(lines, query.cursor, query.pageSize, lineView);
  }

  /** Works one batch on each of up to {@link sweepTrees} trees whose pending work is due. */
  async sweep(nowMs: number): Promise<boolean> {
    this.ensureOpen();
    const dueTrees = [...this.due]
      .filter(([, dueMs]) => dueMs <= nowMs)
      .slice(0, sweepTrees)
      .map(([rootId]) => rootId);
    let more = dueTrees.length === sweepTrees;
    for (const rootId of dueTrees) {
      const tree = this.trees.get(rootId) as TreeState;
      workOff(tree, nowMs);
      this.due.delete(rootId);
      const next = nextDueMs(tree, nowMs);
      if (next !== undefined) this.schedule(rootId, next);
      if (next !== undefined && next <= nowMs) more = true;
    }
    return more;
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
   * The caller's tree of an id with its pending work done and its stale request ids dropped, or
   * undefined when it does not exist or is another project's (which does no work). Resolves in
   * the turn that finds no work left, so the caller's synchronous rest is atomic with it.
   */
  private async openTree(
    project: string,
    id: string,
    nowMs: number,
  ): Promise<TreeState | undefined> {
    this.ensureOpen();
    const tree = this.trees.get(treeOf(id));
    if (tree === undefined || tree.project !== project) return undefined;
    await this.finishPendingWork(tree, nowMs);
    tree.idempotency.prune(nowMs);
    return tree;
  }

  /**
   * Works off the tree's pending work a batch per turn, letting every other call run between
   * batches. Leaves it on the sweeper's schedule, so the work is finished if this caller is gone.
   */
  private async finishPendingWork(tree: TreeState, nowMs: number): Promise<void> {
    while (!workOff(tree, nowMs)) {
      this.schedule(tree.rootId, nowMs);
      await new Promise((resolve) => setImmediate(resolve));
      this.ensureOpen();
    }
  }

  /** Puts a tree on the sweeper's schedule at `dueMs`, unless it is there for earlier. */
  private schedule(rootId: string, dueMs: number): void {
    const current = this.due.get(rootId);
    if (current === undefined || dueMs < current) this.due.set(rootId, dueMs);
  }

  private async findWallet(
    project: string,
    walletId: string,
    nowMs: number,
  ): Promise<{ tree: TreeState; wallet: WalletState }> {
    const tree = await this.openTree(project, walletId, nowMs);
    const wallet = tree?.wallets.get(walletId);
    if (tree === undefined || wallet === undefined) throw walletNotFound(walletId);
    return { tree, wallet };
  }

  private async findHold(
    project: string,
    holdId: string,
    nowMs: number,
  ): Promise<{ tree: TreeState; hold: HoldState }> {
    const tree = await this.openTree(project, holdId, nowMs);
    const hold = tree?.holds.get(holdId);
    if (tree === undefined || hold === undefined) throw holdNotFound(holdId);
    return { tree, hold };
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
