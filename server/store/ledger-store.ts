import type { AgentKeyStore } from "../agent-keys/agent-key-store.js";
import type { RedemptionStore } from "../credentials/redemption-store.js";
import { defaultTreeLimits, Limits, type TreeLimits } from "../ledger/limits.js";
import type {
  Breakdown,
  BreakdownDimension,
  ChargeLine,
  ChildReceipt,
  EventPosition,
  HoldStatus,
  HoldView,
  LedgerEvent,
  Metadata,
  Page,
  Receipt,
  WalletView,
} from "../ledger/types.js";

/**
 * The storage boundary of the ledger. Two implementations share this interface and one
 * conformance suite (test/conformance): `RedisLedgerStore` (production; one Lua script per
 * operation, every key of a tree under one hash tag) and `MemoryLedgerStore` (the embedded
 * default; the same semantics in one JavaScript turn per operation).
 *
 * A store receives commands that the ledger has already validated (limits, formats, safe
 * integers) and performs each one atomically: it checks everything first and writes only when
 * every check passes, so a failed command changes nothing. It throws `LedgerError` with the reasons
 * documented on each method. Time comes in as `nowMs` so tests can drive expiry with a fake clock.
 *
 * Semantics shared by every method (docs/ledger.md has the whole story):
 *
 * - Ids. A root's id is chosen by the ledger (`rootId`). Every other id in a tree is
 *   `${rootId}.${letter}${seq}`, letter `w` (child wallet), `c` (receipt line) or `h` (hold), with
 *   `seq` from one counter per tree starting at 1. The tree of any id is the part before the first
 *   ".". An id whose tree does not exist, or whose wallet/hold does not exist, or that belongs to
 *   another `project`, is WALLET_NOT_FOUND with metadata `wallet_id` / HOLD_NOT_FOUND with
 *   metadata `hold_id`: the id the caller asked for (for createChild and listWallets, the
 *   parent's), and message `wallet <id> not found` / `hold <id> not found`. Reason, metadata and
 *   message are the same whether the id is missing or another project's, so nothing reveals that
 *   another project's wallet exists.
 * - Idempotency. Mutations carry `requestId` and `fingerprint` (a digest of the parameters, made by
 *   the ledger). Keys are scoped to the tree and kept for `idempotencyTtlMs`. The order of checks
 *   is: wallet/hold exists and is in `project` -> request id seen? (same fingerprint: return the
 *   stored outcome, changing nothing; different: IDEMPOTENCY_KEY_REUSED with field "request_id")
 *   -> everything else. Only successful outcomes are stored: a refused call may be retried.
 *   A replay returns the first outcome's ids and figures (`remaining`, `overBudget`, the line) but
 *   the wallet/hold as they are now.
 * - Hold expiry. Before any operation on a tree (reads included), every open hold of that tree
 *   whose `expiresAtMs <= nowMs` expires, earliest first (ties in creation order): its wallet's
 *   `held` drops by its amount, the hold becomes "expired", and an EXPIRE line (amount = the
 *   hold's amount, requestId "", createdAtMs = the hold's expiresAtMs) is written. So an expired
 *   hold is released with no client action, and is never seen as held.
 * - Bounded work. Expiry and closing are pending work of the tree: every operation first works
 *   off a slice of its tree's pending work (`Limits.workSlice` units: a hold expired or voided, a
 *   child looked at, a wallet closed; a close under way first, then due holds) and the rest in
 *   batches of `Limits.workBatch` units that run a few at a time per store (`WorkLane`), letting
 *   other trees' operations run between them, and only then acts. So one tenant's backlog never
 *   makes another tenant wait behind more than a couple of batches, and nobody sees a half-done
 *   close or a due hold still held. `sweep` works off idle trees the same way.
 * - Limits (`StoreOptions.limits`): open holds per tree (TOO_MANY_OPEN_HOLDS), children per
 *   wallet, closed ones included (TOO_MANY_CHILDREN), distinct service names and distinct agent
 *   names per tree (TOO_MANY_BREAKDOWN_KEYS, checked on the root, whose breakdowns hold every
 *   name of the tree). Each is checked with the other refusals, before any write.
 * - Lines. Every spend/capture/void/expire/refill/allocation writes one line with a fresh id;
 *   the receipt aggregates of the line's wallet and of every ancestor are updated in the same step.
 *   SPEND and CAPTURE lines are debits: they add to `spent` of the wallet, to `totalSpent` of the
 *   wallet and every ancestor, and to each of those wallets' receipt totals, call counts and
 *   by-service / by-agent breakdowns (agent = metadata.agent, or the line's wallet's name when
 *   absent: attribution by role). VOID/EXPIRE add
 *   to voided hold credits/count; REFILL to refill credits/count (subtree-wide, like the debits).
 *   `overBudget` is true on a debit line exactly when the wallet's available after the debit is < 0
 *   (possible only for soft-capped wallets) and counts in over_budget_count.
 * - available = budget - spent - held - allocated - settled. Hard-capped wallets never go below 0.
 *   Closed wallets report available 0 (their remainder went back to the parent) and exhausted true.
 * - exhausted = (own available <= 0) and every open child is exhausted. Maintain it incrementally
 *   (e.g. a per-wallet count of open wallets in the subtree with available > 0): reading a wallet
 *   never walks its subtree.
 */
export interface LedgerStore {
  /**
   * Creates a root wallet with id `rootId` (derived by the ledger from project and request id, so
   * a replay lands on the same tree). Replay with the same fingerprint returns the wallet as it is
   * now; a different fingerprint fails IDEMPOTENCY_KEY_REUSED. The root is added to the project's
   * root listing.
   */
  createRoot(cmd: CreateRootCommand): Promise<WalletView>;

  /**
   * Carves a child out of `parentId` (WALLET_NOT_FOUND, wallet_id = `parentId`, when missing or
   * in another project): the parent's available must be >= `budget` (else
   * INSUFFICIENT_CREDITS with metadata wallet_id = parent, requested, available), the parent
   * must be open (WALLET_CLOSED), the child's depth (parent depth + 1) must be <= `maxDepth`
   * (INVALID_ARGUMENT field "parent_id"), and a hard-capped parent cannot have a soft child
   * (INVALID_ARGUMENT field "hard_cap"). `hardCap` undefined inherits the parent's setting.
   * The parent's `allocated` grows by `budget`.
   */
  createChild(cmd: CreateChildCommand): Promise<WalletView>;

  /** Reads one wallet. WALLET_NOT_FOUND (wallet_id) when missing or in another project. */
  getWallet(query: WalletQuery): Promise<WalletView>;

  /**
   * Lists the children of `parentId` in creation order, or the project's roots in creation order
   * when `parentId` is empty. `cursor` is the offset to start at (0 for the first page).
   * WALLET_NOT_FOUND (wallet_id = `parentId`) when the parent is missing or in another project;
   * a project with no roots gets an empty page.
   */
  listWallets(query: ListWalletsQuery): Promise<Page<WalletView>>;

  /**
   * Adds `amount` to the wallet's budget. On a root it is a top-up: REFILL line; the new budget
   * must stay <= `maxCredits` (INVALID_ARGUMENT field "amount"). On a child it is drawn from the
   * parent (parent available >= amount, else INSUFFICIENT_CREDITS naming the parent; parent's
   * allocated grows by amount): ALLOCATION line on the child. WALLET_CLOSED when the wallet is
   * closed.
   */
  addCredits(cmd: AddCreditsCommand): Promise<WalletView>;

  /**
   * Closes the wallet and every open descendant, children before parents (each wallet after all
   * its children, siblings in creation order): each one's open holds are voided in creation order
   * (VOID lines carrying this request id, dated nowMs), it becomes closed, and its parent's
   * `allocated` drops by its budget while the parent's `settled` grows by its consumption (spent
   * + settled, its subtree debits). `returned` = budget - consumption of the wallet itself (0 for
   * a root). WALLET_CLOSED when it is already closed (unless replaying the same request id).
   * A wide subtree is closed in bounded batches (see "Bounded work"); the call resolves once the
   * whole close is done.
   */
  closeWallet(cmd: CloseWalletCommand): Promise<CloseOutcome>;

  /**
   * Debits `amount`. Hard cap: available must be >= amount, else INSUFFICIENT_CREDITS (metadata
   * wallet_id, requested, available). Soft cap: always succeeds, flagged overBudget when available
   * goes below 0; but the tree's total spend must stay <= `maxCredits` (INVALID_ARGUMENT "amount").
   * WALLET_CLOSED when closed.
   */
  spend(cmd: SpendCommand): Promise<SpendOutcome>;

  /**
   * Reserves `amount` as a hold expiring at nowMs + ttlMs: `held` grows by amount; same cap rules
   * and errors as spend. No line is written (nothing was charged yet).
   */
  authorize(cmd: AuthorizeCommand): Promise<AuthorizeOutcome>;

  /**
   * Posts `amount` (<= the hold's amount, else INVALID_ARGUMENT field "amount") and releases the
   * rest: held drops by the hold's amount, spent grows by `amount`; a CAPTURE line whose service
   * is the hold's and whose metadata is the hold's merged with `metadata` (more than 16 keys after
   * the merge: INVALID_ARGUMENT field "metadata"). HOLD_EXPIRED when it
   * expired, HOLD_ALREADY_RESOLVED when captured or voided, HOLD_NOT_FOUND (hold_id) when missing
   * or in another project.
   */
  capture(cmd: CaptureCommand): Promise<CaptureOutcome>;

  /** Releases the whole hold: VOID line. Same hold errors as capture. */
  void(cmd: VoidCommand): Promise<VoidOutcome>;

  /**
   * The receipt of a wallet's subtree, read from maintained aggregates (never from lines): the top
   * rows of each breakdown and the first children (see `Receipt`).
   */
  getReceipt(query: WalletQuery): Promise<Receipt>;

  /**
   * One page of a wallet's breakdown by service or agent, in the receipt's order (most credits
   * first, ties by key), from rank `cursor`.
   */
  listBreakdown(query: ListBreakdownQuery): Promise<Page<Breakdown>>;

  /** One page of a wallet's direct children as its receipt summarises them, creation order. */
  listChildReceipts(query: ListChildReceiptsQuery): Promise<Page<ChildReceipt>>;

  /**
   * Lines of the wallet (with `includeDescendants`, of its whole subtree) oldest first, from offset
   * `cursor`.
   */
  listCharges(query: ListChargesQuery): Promise<Page<ChargeLine>>;

  /**
   * One round of background work: a batch of pending work (a close under way, due holds) on each
   * of a few trees whose work is due at `nowMs`, so idle trees' holds expire on time. Resolves
   * true when more is due now (call again soon), false when nothing is. Safe to run from several
   * processes at once: each tree is worked by one at a time.
   */
  sweep(nowMs: number): Promise<boolean>;

  /**
   * Events of one tree, oldest first (docs/events.md): those after `after` (a position read
   * earlier), or with `ms` > `sinceMs`, or from the oldest retained when neither is given. At
   * most `limit` events are examined; of those, only the events of `walletId`'s subtree are
   * returned (all of them when it is the root). WALLET_NOT_FOUND (wallet_id = `walletId`) when
   * the wallet is missing or in another project. Works off no pending work and changes nothing.
   */
  readEvents(query: ReadEventsQuery): Promise<EventRead>;

  /**
   * Calls `listener(rootId, position)` after each step that appended events to a tree of
   * `project` (position: the step's last event), from any process sharing the store, and
   * `listener(undefined)` when notifications may have been missed (a reconnect; on Redis also
   * once the subscription is in place, since it takes a round trip): then every watched tree
   * must be read again. Notifications only wake readers; `readEvents` is the truth.
   * Returns the unsubscribe function.
   */
  subscribeEvents(project: string, listener: EventListener): () => void;

  /**
   * A hold's wallet, service, status and expiry as stored, or undefined when there is no such
   * hold. No pending work is done (a due hold may still say `open`: compare `expiresAtMs`). Wallet
   * and service never change, so callers may cache them. For the agent keys' access policy and
   * for redeeming hold credentials.
   */
  holdInfo(holdId: string): Promise<HoldInfo | undefined>;

  /** Agent keys, kept where the ledger is so every replica sees the same ones. */
  readonly agentKeys: AgentKeyStore;

  /** Credential redemptions and the gateway's failure records, per tree like the ledger. */
  readonly redemptions: RedemptionStore;

  /** Throws STORE_UNAVAILABLE if the backing store cannot serve requests. */
  ping(): Promise<void>;

  /** Releases connections. Idempotent. */
  close(): Promise<void>;
}

/** Fields every query carries. */
export interface WalletQuery {
  project: string;
  walletId: string;
  nowMs: number;
}

/** What {@link LedgerStore.holdInfo} reads. */
export interface HoldInfo {
  walletId: string;
  service: string;
  status: HoldStatus;
  expiresAtMs: number;
}

/** Fields every mutation carries. */
export interface MutationBase {
  project: string;
  requestId: string;
  /** Digest of the parameters, compared on replay. */
  fingerprint: string;
  nowMs: number;
}

export interface CreateRootCommand extends MutationBase {
  rootId: string;
  name: string;
  budget: number;
  hardCap: boolean;
  metadata: Metadata;
  /** Ascending, distinct, 1..1000 (the ledger fills the default). */
  alertThresholds: number[];
}

export interface CreateChildCommand extends MutationBase {
  parentId: string;
  name: string;
  budget: number;
  /** Undefined: inherit the parent's. */
  hardCap: boolean | undefined;
  metadata: Metadata;
  /** Ascending, distinct, 1..1000 (the ledger fills the default). */
  alertThresholds: number[];
}

export interface ListWalletsQuery {
  project: string;
  /** Empty: the project's roots. */
  parentId: string;
  pageSize: number;
  cursor: number;
  nowMs: number;
}

export interface AddCreditsCommand extends MutationBase {
  walletId: string;
  amount: number;
  metadata: Metadata;
}

export interface CloseWalletCommand extends MutationBase {
  walletId: string;
}

export interface SpendCommand extends MutationBase {
  walletId: string;
  amount: number;
  service: string;
  metadata: Metadata;
}

export interface AuthorizeCommand extends SpendCommand {
  ttlMs: number;
}

export interface CaptureCommand extends MutationBase {
  holdId: string;
  amount: number;
  metadata: Metadata;
}

export interface VoidCommand extends MutationBase {
  holdId: string;
}

export interface ListBreakdownQuery extends WalletQuery {
  dimension: BreakdownDimension;
  pageSize: number;
  cursor: number;
}

export interface ListChildReceiptsQuery extends WalletQuery {
  pageSize: number;
  cursor: number;
}

export interface ListChargesQuery extends WalletQuery {
  includeDescendants: boolean;
  pageSize: number;
  cursor: number;
}

export interface ReadEventsQuery {
  project: string;
  /** Its tree is read; only its subtree's events are returned. */
  walletId: string;
  /** Read after this position (exclusive). Wins over `sinceMs`. */
  after?: EventPosition;
  /** Read events with `ms` > this. */
  sinceMs?: number;
  /** Events examined at most (1..Limits.rowsPerScript). */
  limit: number;
  nowMs: number;
}

/** One read of a tree's event log. */
export interface EventRead {
  /** The events examined that belong to the asked subtree, oldest first. */
  events: LedgerEvent[];
  /** The last event examined (filtered out or not); undefined when none was examined. */
  scannedTo: EventPosition | undefined;
  /** Seq of the oldest event retained; `headSeq + 1` when none is retained. */
  firstSeq: number;
  /** The tree's newest event (seq 0, ms 0 before the first). */
  head: EventPosition;
}

/** See {@link LedgerStore.subscribeEvents}. */
export type EventListener = (rootId: string | undefined, position?: EventPosition) => void;

export interface CloseOutcome {
  wallet: WalletView;
  returned: number;
}

export interface SpendOutcome {
  line: ChargeLine;
  /** The wallet's available right after the debit (as first recorded, on replay too). */
  remaining: number;
}

export interface AuthorizeOutcome {
  hold: HoldView;
  remaining: number;
}

export interface CaptureOutcome {
  line: ChargeLine;
  hold: HoldView;
  remaining: number;
}

export interface VoidOutcome {
  line: ChargeLine;
  hold: HoldView;
  remaining: number;
}

/**
 * Default of {@link StoreOptions.idempotencyTtlMs}: 24 h, longer than any sane client retry
 * window, short enough that the idempotency records of a busy tree stay bounded.
 */
export const defaultIdempotencyTtlMs = 86_400_000;

/** How many events each tree keeps (docs/events.md#retention). */
export interface EventRetention {
  /** Newest events kept per tree (a few more may stay until the next append). Default 10,000. */
  maxEventsPerTree: number;
  /** Events older than this may be dropped at the next append to their tree. Default 7 days. */
  maxAgeMs: number;
}

export const defaultEventRetention: EventRetention = {
  maxEventsPerTree: 10_000,
  maxAgeMs: 7 * 86_400_000,
};

/** Settings every store takes. */
export interface StoreOptions {
  /**
   * How long a request id is remembered. Default 24 h: longer than any sane client retry
   * window, short enough that the idempotency records of a busy tree stay bounded.
   */
  idempotencyTtlMs?: number;
  /** Deepest tree level allowed (root = 1). Default `Limits.maxDepth`. */
  maxDepth?: number;
  /** Per-tree limits; each unset one is its `defaultTreeLimits` value. */
  limits?: Partial<TreeLimits>;
  /** Event retention; each unset one is its `defaultEventRetention` value. */
  eventRetention?: Partial<EventRetention>;
}

/** {@link StoreOptions} with every default filled in. */
export interface ResolvedStoreOptions {
  idempotencyTtlMs: number;
  maxDepth: number;
  limits: TreeLimits;
  eventRetention: EventRetention;
}

/** Fills the defaults of {@link StoreOptions}; throws RangeError on a value no store can use. */
export function resolveStoreOptions(options: StoreOptions): ResolvedStoreOptions {
  const resolved = {
    idempotencyTtlMs: options.idempotencyTtlMs ?? defaultIdempotencyTtlMs,
    maxDepth: options.maxDepth ?? Limits.maxDepth,
    limits: { ...defaultTreeLimits, ...options.limits },
    eventRetention: { ...defaultEventRetention, ...options.eventRetention },
  };
  const positive: [string, number][] = [
    ["idempotencyTtlMs", resolved.idempotencyTtlMs],
    ["maxDepth", resolved.maxDepth],
    ...Object.entries(resolved.limits),
    ...Object.entries(resolved.eventRetention),
  ];
  for (const [name, value] of positive) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer`);
    }
  }
  return resolved;
}
