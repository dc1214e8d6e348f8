import { treeOf } from "../../ledger/ids.js";
import { Limits } from "../../ledger/limits.js";
import type { ChargeLine, Page, Receipt, WalletView } from "../../ledger/types.js";
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
  defaultIdempotencyTtlMs,
  type LedgerStore,
  type ListChargesQuery,
  type ListWalletsQuery,
  type MutationBase,
  type SpendCommand,
  type SpendOutcome,
  type StoreOptions,
  type VoidCommand,
  type VoidOutcome,
  type WalletQuery,
} from "../ledger-store.js";
import { expireDueHolds } from "./hold-lifecycle.js";
import { type HoldState, holdView } from "./hold-state.js";
import type { StoredOutcome } from "./idempotency-log.js";
import { receiptView } from "./receipt-aggregates.js";
import { capture, debit, reserve, voidHold } from "./spend-commands.js";
import { holdNotFound, idempotencyKeyReused, storeClosed, walletNotFound } from "./store-errors.js";
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
 * Every method first expires the due holds of the tree it touches, then finds the wallet or hold
 * in the caller's project, then consults the request id, then checks and writes. Nothing internal
 * is ever returned: views, lines and receipts are fresh copies. State lives only in this process.
 */
export class MemoryLedgerStore implements LedgerStore {
  private readonly trees = new Map<string, TreeState>();
  /** Root ids per project in creation order (the root listing). */
  private readonly projectRoots = new Map<string, string[]>();
  private readonly idempotencyTtlMs: number;
  private readonly maxDepth: number;
  private closed = false;

  constructor(options: StoreOptions = {}) {
    this.idempotencyTtlMs = options.idempotencyTtlMs ?? defaultIdempotencyTtlMs;
    this.maxDepth = options.maxDepth ?? Limits.maxDepth;
    if (!Number.isSafeInteger(this.idempotencyTtlMs) || this.idempotencyTtlMs <= 0) {
      throw new RangeError("idempotencyTtlMs must be a positive integer");
    }
    if (!Number.isSafeInteger(this.maxDepth) || this.maxDepth < 1) {
      throw new RangeError("maxDepth must be a positive integer");
    }
  }

  async createRoot(cmd: CreateRootCommand): Promise<WalletView> {
    this.ensureOpen();
    const existing = this.touchTree(cmd.rootId, cmd.nowMs);
    if (existing !== undefined) {
      // The root id hashes project and request id, so another project's tree here would take a
      // hash collision; refuse it like any reuse rather than reveal or overwrite it.
      if (existing.project !== cmd.project) throw idempotencyKeyReused();
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
    const { tree, wallet: parent } = this.findWallet(cmd.project, cmd.parentId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "wallet",
      (o) => this.view(tree, o.walletId),
      () => carveChild(tree, parent, cmd, this.maxDepth),
    );
  }

  async getWallet(query: WalletQuery): Promise<WalletView> {
    return walletView(this.findWallet(query.project, query.walletId, query.nowMs).wallet);
  }

  async listWallets(query: ListWalletsQuery): Promise<Page<WalletView>> {
    if (query.parentId === "") {
      this.ensureOpen();
      const roots = this.projectRoots.get(query.project) ?? [];
      // Each listed root is an access to its tree, so its due holds expire first (in Redis each
      // root is read by its own script, in its own slot).
      return page(roots, query.cursor, query.pageSize, (rootId) =>
        walletView((this.touchTree(rootId, query.nowMs) as TreeState).root),
      );
    }
    const { wallet } = this.findWallet(query.project, query.parentId, query.nowMs);
    return page(wallet.children, query.cursor, query.pageSize, walletView);
  }

  async addCredits(cmd: AddCreditsCommand): Promise<WalletView> {
    const { tree, wallet } = this.findWallet(cmd.project, cmd.walletId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "wallet",
      (o) => this.view(tree, o.walletId),
      () => growBudget(tree, wallet, cmd),
    );
  }

  async closeWallet(cmd: CloseWalletCommand): Promise<CloseOutcome> {
    const { tree, wallet } = this.findWallet(cmd.project, cmd.walletId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "close",
      (o) => ({ wallet: this.view(tree, o.walletId), returned: o.returned }),
      () => closeWallet(tree, wallet, cmd.requestId, cmd.nowMs),
    );
  }

  async spend(cmd: SpendCommand): Promise<SpendOutcome> {
    const { tree, wallet } = this.findWallet(cmd.project, cmd.walletId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "spend",
      (o) => ({ line: lineView(o.line), remaining: o.remaining }),
      () => debit(tree, wallet, cmd),
    );
  }

  async authorize(cmd: AuthorizeCommand): Promise<AuthorizeOutcome> {
    const { tree, wallet } = this.findWallet(cmd.project, cmd.walletId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "authorize",
      (o) => ({ hold: holdView(this.hold(tree, o.holdId)), remaining: o.remaining }),
      () => reserve(tree, wallet, cmd),
    );
  }

  async capture(cmd: CaptureCommand): Promise<CaptureOutcome> {
    const { tree, hold } = this.findHold(cmd.project, cmd.holdId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "resolve",
      (o) => this.resolution(tree, o),
      () => capture(tree, hold, cmd.amount, cmd.metadata, cmd.requestId, cmd.nowMs),
    );
  }

  async void(cmd: VoidCommand): Promise<VoidOutcome> {
    const { tree, hold } = this.findHold(cmd.project, cmd.holdId, cmd.nowMs);
    return this.mutate(
      tree,
      cmd,
      "resolve",
      (o) => this.resolution(tree, o),
      () => voidHold(tree, hold, cmd.requestId, cmd.nowMs),
    );
  }

  async getReceipt(query: WalletQuery): Promise<Receipt> {
    return receiptView(this.findWallet(query.project, query.walletId, query.nowMs).wallet);
  }

  async listCharges(query: ListChargesQuery): Promise<Page<ChargeLine>> {
    const { wallet } = this.findWallet(query.project, query.walletId, query.nowMs);
    const lines = query.includeDescendants ? wallet.subtreeLines : wallet.ownLines;
    return page(lines, query.cursor, query.pageSize, lineView);
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

  /** The tree of an id with its due holds expired and its stale request ids dropped. */
  private touchTree(id: string, nowMs: number): TreeState | undefined {
    const tree = this.trees.get(treeOf(id));
    if (tree !== undefined) {
      expireDueHolds(tree, nowMs);
      tree.idempotency.prune(nowMs);
    }
    return tree;
  }

  private findWallet(
    project: string,
    walletId: string,
    nowMs: number,
  ): { tree: TreeState; wallet: WalletState } {
    this.ensureOpen();
    const tree = this.touchTree(walletId, nowMs);
    const wallet = tree?.wallets.get(walletId);
    if (tree === undefined || wallet === undefined || tree.project !== project) {
      throw walletNotFound(walletId);
    }
    return { tree, wallet };
  }

  private findHold(
    project: string,
    holdId: string,
    nowMs: number,
  ): { tree: TreeState; hold: HoldState } {
    this.ensureOpen();
    const tree = this.touchTree(holdId, nowMs);
    const hold = tree?.holds.get(holdId);
    if (tree === undefined || hold === undefined || tree.project !== project) {
      throw holdNotFound(holdId);
    }
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
