import { Cluster } from "ioredis";
import { treeOf } from "../../ledger/ids.js";
import { LedgerError } from "../../ledger/ledger-error.js";
import { Limits, type TreeLimits } from "../../ledger/limits.js";
import type {
  Breakdown,
  ChargeLine,
  ChildReceipt,
  HoldStatus,
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
import { WorkLane } from "../work-lane.js";
import { defineLedgerCommands, observeLedgerCommands, type ScriptReply } from "./commands.js";
import type { RedisClient } from "./connect.js";
import {
  decodeBreakdownRows,
  decodeChildReceipts,
  decodeEventRead,
  decodeHold,
  decodeLine,
  decodeReceipt,
  decodeWallet,
} from "./decode.js";
import { EventSubscriber } from "./event-subscriber.js";
import {
  assertKeyPrefix,
  defaultKeyPrefix,
  eventsChannel,
  projectRootsKey,
  sweepScheduleKey,
  treeKey,
} from "./keys.js";
import { RedisAgentKeyStore } from "./redis-agent-key-store.js";
import { RedisRedemptionStore } from "./redis-redemption-store.js";
import { ReplyCode, refusal } from "./reply-codes.js";
import { unavailable } from "./script-errors.js";
import { SpendBatcher } from "./spend-batcher.js";
import { StoreConnection } from "./store-connection.js";

/** Settings of the Redis store. */
export interface RedisStoreOptions extends StoreOptions {
  /**
   * Prepended to every key. Default `tg:`: short, because it is on every key, and distinct per
   * deployment or test run so several can share one Redis. Must not contain `{` or `}` (the hash
   * tag must be the root id).
   */
  keyPrefix?: string;
  /**
   * How long the store's first call waits for the client's first connection. Default 5000 ms:
   * enough for a Redis on the same network to accept us, short enough to fail a start-up fast.
   * Later calls never wait: while Redis is down they fail at once (STORE_UNAVAILABLE).
   */
  firstConnectTimeoutMs?: number;
}

/**
 * The production `LedgerStore`: every operation is one Lua script (one EVALSHA round trip) that
 * checks everything before its first write, over keys that share the tree's hash tag, so it runs
 * on Redis Cluster unchanged. Creating a root adds one round trip (the project's root listing
 * has its own tag), and listing roots reads each root with its own script. The semantics are the
 * `LedgerStore` TSDoc; the key layout is in keys.ts; the scripts are in scripts/.
 */
export class RedisLedgerStore implements LedgerStore, ObservableStore {
  private readonly prefix: string;
  private readonly idempotencyTtlMs: string;
  private readonly maxDepth: string;
  private readonly limits: { [K in keyof TreeLimits]: string };
  /** "<max events per tree> <max age ms>": every script that may append events takes it. */
  private readonly eventRetention: string;
  private readonly connection: StoreConnection;
  private readonly redis: RedisClient;
  /** The pub/sub side of `subscribeEvents`: its own connection, opened on first use. */
  private readonly subscriber: EventSubscriber;
  /**
   * Two batches of pending work at a time: one running in Redis while the next one's request is
   * on its way, so Redis stays busy with the backlog without queueing more than that in front of
   * other tenants' calls.
   */
  private readonly lane = new WorkLane(2);
  /** Spends of one tree in one event-loop turn go to Redis together (spend-batch-2.lua). */
  private readonly spends = new SpendBatcher(
    (cmd) => treeOf(cmd.walletId),
    (spends) => this.sendSpends(spends),
  );
  readonly agentKeys: RedisAgentKeyStore;
  readonly redemptions: RedisRedemptionStore;

  /**
   * `redis` is one Redis (`createRedisClient`) or a Redis Cluster (`createRedisCluster`); the
   * store quits it on `close`.
   */
  constructor(redis: RedisClient, options: RedisStoreOptions = {}) {
    this.prefix = options.keyPrefix ?? defaultKeyPrefix;
    assertKeyPrefix(this.prefix);
    const resolved = resolveStoreOptions(options);
    this.idempotencyTtlMs = String(resolved.idempotencyTtlMs);
    this.maxDepth = String(resolved.maxDepth);
    this.limits = {
      maxOpenHoldsPerTree: String(resolved.limits.maxOpenHoldsPerTree),
      maxChildrenPerWallet: String(resolved.limits.maxChildrenPerWallet),
      maxBreakdownKeysPerTree: String(resolved.limits.maxBreakdownKeysPerTree),
    };
    const retention = resolved.eventRetention;
    this.eventRetention = `${retention.maxEventsPerTree} ${retention.maxAgeMs}`;
    this.redis = redis;
    this.subscriber = new EventSubscriber(redis);
    this.connection = new StoreConnection(redis, options.firstConnectTimeoutMs ?? 5_000);
    defineLedgerCommands(redis);
    this.agentKeys = new RedisAgentKeyStore(this.connection, redis, this.prefix);
    this.redemptions = new RedisRedemptionStore(this.connection, redis, this.prefix);
  }

  async createRoot(cmd: CreateRootCommand): Promise<WalletView> {
    // Listing first: a crash between the two leaves a listed id with no wallet (skipped when
    // listing), never a root missing from its project's listing.
    const rootsKey = projectRootsKey(this.prefix, cmd.project);
    await this.connection.run(() => this.redis.tollgate_v4_add_root(rootsKey, cmd.rootId));
    const [wallet] = await this.mutate("tollgate_v4_create_root", cmd.rootId, cmd, [
      cmd.name,
      String(cmd.budget),
      cmd.hardCap ? "1" : "0",
      JSON.stringify(cmd.metadata),
      cmd.alertThresholds.join(","),
    ]);
    return decodeWallet(wallet as string);
  }

  async createChild(cmd: CreateChildCommand): Promise<WalletView> {
    const hardCap = cmd.hardCap === undefined ? "" : cmd.hardCap ? "1" : "0";
    const [wallet] = await this.mutate("tollgate_v4_create_child", cmd.parentId, cmd, [
      cmd.parentId,
      cmd.name,
      String(cmd.budget),
      hardCap,
      JSON.stringify(cmd.metadata),
      this.maxDepth,
      this.limits.maxChildrenPerWallet,
      cmd.alertThresholds.join(","),
    ]);
    return decodeWallet(wallet as string);
  }

  async getWallet(query: WalletQuery): Promise<WalletView> {
    const [wallet] = await this.read("tollgate_v4_get_wallet", query.walletId, query, [
      query.walletId,
    ]);
    return decodeWallet(wallet as string);
  }

  async listWallets(query: ListWalletsQuery): Promise<Page<WalletView>> {
    if (query.parentId === "") return this.listRoots(query);
    return this.inPieces(query, async (from, rows) => {
      const [next, ...wallets] = await this.read(
        "tollgate_v4_list_wallets",
        query.parentId,
        query,
        [query.parentId, String(from), String(rows)],
      );
      return { items: wallets.map(decodeWallet), nextCursor: cursor(next) };
    });
  }

  async addCredits(cmd: AddCreditsCommand): Promise<WalletView> {
    const [wallet] = await this.mutate("tollgate_v4_add_credits", cmd.walletId, cmd, [
      cmd.walletId,
      String(cmd.amount),
      JSON.stringify(cmd.metadata),
    ]);
    return decodeWallet(wallet as string);
  }

  async closeWallet(cmd: CloseWalletCommand): Promise<CloseOutcome> {
    const [wallet, returned] = await this.mutate("tollgate_v4_close_wallet", cmd.walletId, cmd, [
      cmd.walletId,
    ]);
    return { wallet: decodeWallet(wallet as string), returned: Number(returned) };
  }

  async spend(cmd: SpendCommand): Promise<SpendOutcome> {
    const [line, prev, remaining] = await this.spends.spend(cmd);
    return {
      line: decodeLine(treeOf(cmd.walletId), line as string, prev as string),
      remaining: Number(remaining),
    };
  }

  /**
   * The spends {@link SpendBatcher} gathered on one tree: one alone through spend-2.lua, several
   * through spend-batch-2.lua, which answers each one as spend-2.lua would.
   */
  private async sendSpends(spends: readonly SpendCommand[]): Promise<Array<string[] | Error>> {
    const first = spends[0] as SpendCommand;
    if (spends.length === 1) {
      return [
        await this.mutate("tollgate_v4_spend", first.walletId, first, [
          first.walletId,
          String(first.amount),
          first.service,
          JSON.stringify(first.metadata),
          this.limits.maxBreakdownKeysPerTree,
          ...agentArg(first.metadata),
        ]),
      ];
    }
    const rootId = treeOf(first.walletId);
    // The tree's pending work is done as of the latest clock of the batch; each spend is judged
    // and dated by its own.
    const nowMs = Math.max(...spends.map((s) => s.nowMs));
    const argv = [
      first.project,
      time(nowMs),
      this.eventRetention,
      this.idempotencyTtlMs,
      this.limits.maxBreakdownKeysPerTree,
      String(spends.length),
    ];
    for (const s of spends) {
      const agent = Object.hasOwn(s.metadata, "agent") ? `+${s.metadata.agent}` : "-";
      argv.push(
        s.requestId,
        s.fingerprint,
        s.walletId,
        String(s.amount),
        s.service,
        JSON.stringify(s.metadata),
        agent,
        time(s.nowMs),
      );
    }
    let replies: unknown[];
    try {
      replies = await this.onTree(rootId, nowMs, () =>
        this.redis.tollgate_v4_spend_batch(
          this.key(rootId, "tree"),
          this.key(rootId, "idempotency"),
          ...argv,
        ),
      );
    } catch (error) {
      // The tree is missing or another project's: each spend alone, so each refusal names its
      // own wallet.
      if (!(error instanceof LedgerError) || error.reason !== "WALLET_NOT_FOUND") throw error;
      return Promise.all(
        spends.map((s) =>
          this.sendSpends([s]).then(
            ([payload]) => payload as string[],
            (refused: unknown) => (refused instanceof Error ? refused : new Error(String(refused))),
          ),
        ),
      );
    }
    return replies.map((reply) => {
      const [code, ...payload] = reply as ScriptReply;
      return code === ReplyCode.ok ? payload : refusal(code, payload);
    });
  }

  async authorize(cmd: AuthorizeCommand): Promise<AuthorizeOutcome> {
    const [hold, remaining, earliest] = await this.mutate(
      "tollgate_v4_authorize",
      cmd.walletId,
      cmd,
      [
        cmd.walletId,
        String(cmd.amount),
        cmd.service,
        JSON.stringify(cmd.metadata),
        String(cmd.ttlMs),
        this.limits.maxOpenHoldsPerTree,
        this.limits.maxBreakdownKeysPerTree,
        ...agentArg(cmd.metadata),
      ],
    );
    const outcome = { hold: decodeHold(hold as string), remaining: Number(remaining) };
    // On the sweeper's schedule, so the hold expires on time even if its tree goes idle. Only
    // when it is the tree's first hold to fall due: the tree is on the schedule for its earlier
    // holds already, which keeps most authorizes at one round trip and off the schedule's one
    // slot. After the script: a refused call must not put a tree (perhaps a made-up one) there.
    if (earliest === "1") await this.schedule(treeOf(cmd.walletId), outcome.hold.expiresAtMs);
    return outcome;
  }

  async capture(cmd: CaptureCommand): Promise<CaptureOutcome> {
    const [line, prev, hold, remaining] = await this.mutate(
      "tollgate_v4_capture",
      cmd.holdId,
      cmd,
      [
        cmd.holdId,
        String(cmd.amount),
        JSON.stringify(cmd.metadata),
        this.limits.maxBreakdownKeysPerTree,
      ],
    );
    return {
      line: decodeLine(treeOf(cmd.holdId), line as string, prev as string),
      hold: decodeHold(hold as string),
      remaining: Number(remaining),
    };
  }

  async void(cmd: VoidCommand): Promise<VoidOutcome> {
    const [line, prev, hold, remaining] = await this.mutate("tollgate_v4_void", cmd.holdId, cmd, [
      cmd.holdId,
    ]);
    return {
      line: decodeLine(treeOf(cmd.holdId), line as string, prev as string),
      hold: decodeHold(hold as string),
      remaining: Number(remaining),
    };
  }

  async getReceipt(query: WalletQuery): Promise<Receipt> {
    const [receipt] = await this.read("tollgate_v4_get_receipt", query.walletId, query, [
      query.walletId,
    ]);
    return decodeReceipt(receipt as string);
  }

  async listBreakdown(query: ListBreakdownQuery): Promise<Page<Breakdown>> {
    return this.inPieces(query, async (from, count) => {
      const [next, rows] = await this.read("tollgate_v4_list_breakdown", query.walletId, query, [
        query.walletId,
        query.dimension,
        String(from),
        String(count),
      ]);
      return { items: decodeBreakdownRows(rows as string), nextCursor: cursor(next) };
    });
  }

  async listChildReceipts(query: ListChildReceiptsQuery): Promise<Page<ChildReceipt>> {
    return this.inPieces(query, async (from, rows) => {
      const [next, children] = await this.read(
        "tollgate_v4_list_child_receipts",
        query.walletId,
        query,
        [query.walletId, String(from), String(rows)],
      );
      return { items: decodeChildReceipts(children as string), nextCursor: cursor(next) };
    });
  }

  async listCharges(query: ListChargesQuery): Promise<Page<ChargeLine>> {
    return this.inPieces(query, async (from, rows) => {
      const [next, ...linesAndPrevs] = await this.read(
        "tollgate_v4_list_charges",
        query.walletId,
        query,
        [query.walletId, query.includeDescendants ? "1" : "0", String(from), String(rows)],
      );
      const rootId = treeOf(query.walletId);
      return {
        items: linePairs(linesAndPrevs).map(([line, prev]) => decodeLine(rootId, line, prev)),
        nextCursor: cursor(next),
      };
    });
  }

  /**
   * Claims up to {@link sweepTrees} trees whose pending work is due, works one batch on each,
   * and puts each back on the schedule at its next due time (or takes it off). Each step is its
   * own bounded script, so the sweep interleaves with every other call.
   */
  async sweep(nowMs: number): Promise<boolean> {
    const schedule = sweepScheduleKey(this.prefix);
    // Past any hold's expiry (at most a day ahead), so a hold placed after the claim always
    // lowers the score and is noticed at settling; a sweeper that dies mid-way leaves the tree
    // to the next operation on it, or to a later claim.
    const claimed = String(nowMs + claimLeaseMs);
    const [, ...roots] = await this.connection.call(() =>
      this.redis.tollgate_v4_claim_due(schedule, time(nowMs), claimed, String(sweepTrees)),
    );
    let more = roots.length === sweepTrees;
    // One tree after another, each batch in the lane: the sweep never queues more than a couple
    // of batches in front of other tenants' calls.
    for (const rootId of roots) {
      const due = await this.sweepBatch(rootId, nowMs);
      await this.connection.call(() =>
        this.redis.tollgate_v4_settle_due(schedule, rootId, claimed, due),
      );
      if (due !== "" && Number(due) <= nowMs) more = true;
    }
    return more;
  }

  /**
   * One read of a tree's event log (read-events-1.lua): a read-only script, so it never waits
   * behind the tree's pending work and never answers WORK_PENDING.
   */
  async readEvents(query: ReadEventsQuery): Promise<EventRead> {
    const rootId = treeOf(query.walletId);
    // Stream ids: after a position exclusive, or from the first ms past sinceMs (any number:
    // before the epoch is from the start), or from the oldest kept.
    const start =
      query.after !== undefined
        ? `(${query.after.ms}-${query.after.seq}`
        : query.sinceMs !== undefined
          ? `${Math.max(0, Math.floor(query.sinceMs) + 1)}-0`
          : "-";
    const payload = await this.connection.run(() =>
      this.redis.tollgate_v4_read_events(
        this.key(rootId, "tree"),
        query.project,
        query.walletId,
        start,
        String(query.limit),
      ),
    );
    return decodeEventRead(rootId, payload);
  }

  /**
   * Listens on the project's channel, where every script that appended events to one of its
   * trees PUBLISHes the tree and its last position. The listener is also called with
   * `undefined` once its subscription is in place and after every reconnect of the subscriber
   * connection (see EventSubscriber): notifications may have been missed then.
   */
  subscribeEvents(project: string, listener: EventListener): () => void {
    return this.subscriber.subscribe(eventsChannel(this.prefix, project), listener);
  }

  /**
   * On a single Redis, a PING. On a cluster a PING proves little (a node answers it while the
   * cluster refuses every command), so every master must report `cluster_state:ok`: the health
   * service then says NOT_SERVING exactly when spends would fail.
   */
  /** Reports each Lua script call (store `redis`, script `spend`, ...): see `ObservableStore`. */
  observeScripts(observer: ScriptObserver): void {
    observeLedgerCommands(this.redis, (script, seconds) => observer("redis", script, seconds));
  }

  async holdInfo(holdId: string): Promise<HoldInfo | undefined> {
    const key = treeKey(this.prefix, treeOf(holdId), "hold", holdId);
    const [walletId, service, status, expires] = await this.connection.call(() =>
      this.redis.hmget(key, "wallet", "service", "status", "expires"),
    );
    if (!walletId || service == null || !status || !expires) return undefined;
    return { walletId, service, status: status as HoldStatus, expiresAtMs: Number(expires) };
  }

  async ping(): Promise<void> {
    await this.connection.call(async () => {
      if (!(this.redis instanceof Cluster)) {
        await this.redis.ping();
        return;
      }
      const masters = this.redis.nodes("master");
      if (masters.length === 0) throw new Error("the cluster has no master");
      const infos = await Promise.all(masters.map((node) => node.cluster("INFO")));
      if (infos.some((info) => !/^cluster_state:ok\r?$/m.test(String(info)))) {
        throw new Error("cluster_state is not ok");
      }
    });
  }

  /**
   * Quits the client it was given, once calls in flight have their replies, and closes the
   * subscriber connection. Idempotent.
   */
  async close(): Promise<void> {
    this.subscriber.close();
    await this.connection.close();
  }

  /**
   * The project's roots. The listing and each tree live in different slots, so this is two round
   * trips: the page of ids, then every root's own get-wallet script at once (which also expires
   * that tree's due holds, as every access does). Ids whose wallet does not exist, left by a
   * create that crashed between its two steps, are skipped.
   */
  private async listRoots(query: ListWalletsQuery): Promise<Page<WalletView>> {
    const [next, ...rootIds] = await this.connection.run(() =>
      this.redis.tollgate_v4_list_roots(
        projectRootsKey(this.prefix, query.project),
        String(query.cursor),
        String(query.pageSize),
      ),
    );
    const wallets = await Promise.all(
      rootIds.map((rootId) =>
        this.read("tollgate_v4_get_wallet", rootId, query, [rootId]).then(
          ([wallet]) => decodeWallet(wallet as string),
          (error: unknown) => {
            if (error instanceof LedgerError && error.reason === "WALLET_NOT_FOUND") return;
            throw error;
          },
        ),
      ),
    );
    const items = wallets.filter((wallet) => wallet !== undefined);
    return { items, nextCursor: cursor(next) };
  }

  /** Runs a two-key mutation script on the tree of `id`: KEYS tree + idempotency record. */
  private mutate(
    command: MutationCommand,
    id: string,
    cmd: MutationBase,
    argv: string[],
  ): Promise<string[]> {
    const rootId = treeOf(id);
    return this.onTree(rootId, cmd.nowMs, () =>
      this.redis[command](
        this.key(rootId, "tree"),
        this.key(rootId, "idempotency"),
        cmd.project,
        time(cmd.nowMs),
        this.eventRetention,
        cmd.requestId,
        cmd.fingerprint,
        this.idempotencyTtlMs,
        ...argv,
      ),
    );
  }

  /** Runs a one-key read script on the tree of `id`. */
  private read(
    command: ReadCommand,
    id: string,
    query: { project: string; nowMs: number },
    argv: string[],
  ): Promise<string[]> {
    const rootId = treeOf(id);
    return this.onTree(rootId, query.nowMs, () =>
      this.redis[command](
        this.key(rootId, "tree"),
        query.project,
        time(query.nowMs),
        this.eventRetention,
        ...argv,
      ),
    );
  }

  /**
   * Runs a script on a tree until it answers for real. A WORK_PENDING reply means the script did
   * a slice of the tree's pending work (expiry, a close) and found more: the rest is worked off
   * in bounded batches through the lane, then the script is sent again. Other callers' scripts
   * run in between. The first such reply puts the tree on the sweeper's schedule, so the work is
   * finished even if this caller gives up.
   */
  private async onTree(
    rootId: string,
    nowMs: number,
    send: () => Promise<ScriptReply>,
  ): Promise<string[]> {
    let batches = 0;
    for (;;) {
      const reply = await this.connection.call(send);
      if (reply[0] !== ReplyCode.workPending) return this.connection.payload(reply);
      // The script did a small slice of the tree's backlog and found more: put the tree on the
      // sweeper's schedule (so the work is finished even if this caller gives up), work the rest
      // off in bounded batches through the lane, then ask again.
      if (batches === 0) await this.schedule(rootId, nowMs);
      for (;;) {
        batches += 1;
        // A full tree's expiry backlog is a hundred batches and a wide close a few hundred; this
        // many is an enormous tree. The work goes on in the background (the tree is scheduled):
        // the caller may retry with the same request id.
        if (batches > maxPendingBatches) {
          throw unavailable(
            new Error(`tree ${rootId} has more pending work than one call waits for`),
          );
        }
        const due = await this.sweepBatch(rootId, nowMs);
        if (due === "" || Number(due) > nowMs) break;
      }
    }
  }

  /**
   * One batch of a tree's pending work (sweep-1.lua), in the lane. Returns when the tree next has
   * work: nowMs while some is left, else its next hold's expiry, or "" for none.
   */
  private async sweepBatch(rootId: string, nowMs: number): Promise<string> {
    const [, due = ""] = await this.lane.run(() =>
      this.connection.call(() =>
        this.redis.tollgate_v4_sweep(this.key(rootId, "tree"), time(nowMs), this.eventRetention),
      ),
    );
    return due;
  }

  /**
   * A listing page read in pieces of at most `Limits.rowsPerScript` rows, one script each, so a
   * page of 1000 never becomes one long script. Each piece is consistent on its own, as separate
   * pages always were.
   */
  private async inPieces<T>(
    query: { cursor: number; pageSize: number },
    read: (from: number, rows: number) => Promise<Page<T>>,
  ): Promise<Page<T>> {
    const items: T[] = [];
    const end = query.cursor + query.pageSize;
    for (let from = query.cursor; ; ) {
      const rows = Math.min(Limits.rowsPerScript, end - from);
      const piece = await read(from, rows);
      items.push(...piece.items);
      from += rows;
      if (piece.nextCursor === undefined || from >= end) {
        return { items, nextCursor: piece.nextCursor };
      }
    }
  }

  /** Puts a tree on the sweeper's schedule at `dueMs`, unless it is there for earlier. */
  private async schedule(rootId: string, dueMs: number): Promise<void> {
    await this.connection.call(() =>
      this.redis.zadd(sweepScheduleKey(this.prefix), "LT", time(dueMs), rootId),
    );
  }

  private key(rootId: string, name: Parameters<typeof treeKey>[2], id?: string): string {
    return treeKey(this.prefix, rootId, name, id);
  }
}

/** Trees one sweep claims: enough to keep up, few enough that a round is a handful of scripts. */
const sweepTrees = 16;

/** How far a claim pushes a tree's schedule entry: past the longest hold TTL (a day). */
const claimLeaseMs = (Limits.holdTtlMaxSeconds + 3600) * 1000;

/** Batches of pending work one call may wait through (about a minute of Redis); see `onTree`. */
const maxPendingBatches = 10_000;

type MutationCommand =
  | "tollgate_v4_create_root"
  | "tollgate_v4_create_child"
  | "tollgate_v4_add_credits"
  | "tollgate_v4_close_wallet"
  | "tollgate_v4_spend"
  | "tollgate_v4_authorize"
  | "tollgate_v4_capture"
  | "tollgate_v4_void";

type ReadCommand =
  | "tollgate_v4_get_wallet"
  | "tollgate_v4_list_wallets"
  | "tollgate_v4_get_receipt"
  | "tollgate_v4_list_breakdown"
  | "tollgate_v4_list_child_receipts"
  | "tollgate_v4_list_charges";

/**
 * The optional last ARGV of spend and authorize: the `agent` label, absent when the metadata has
 * none, so the script counts the line (or checks the hold) under the wallet's name, its role.
 */
function agentArg(metadata: Readonly<Record<string, string>>): string[] {
  return Object.hasOwn(metadata, "agent") ? [metadata.agent as string] : [];
}

/** list-charges-1.lua's entries: each line, then the hash it links to. */
function linePairs(entries: readonly string[]): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i < entries.length; i += 2) {
    pairs.push([entries[i] as string, entries[i + 1] as string]);
  }
  return pairs;
}

/** A script's "" means "last page". */
function cursor(next: string | undefined): number | undefined {
  return next === undefined || next === "" ? undefined : Number(next);
}

/**
 * nowMs as the decimal text scripts expect. Lines and holds store it verbatim, so it must be an
 * integer (a fractional fake clock is a test bug, better loud).
 */
function time(nowMs: number): string {
  if (!Number.isSafeInteger(nowMs)) throw new RangeError(`nowMs ${nowMs} is not an integer`);
  return String(nowMs);
}
