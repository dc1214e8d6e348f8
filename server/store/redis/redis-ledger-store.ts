import { Cluster } from "ioredis";
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
import { defineLedgerCommands } from "./commands.js";
import type { RedisClient } from "./connect.js";
import { decodeHold, decodeLine, decodeReceipt, decodeWallet } from "./decode.js";
import { assertKeyPrefix, defaultKeyPrefix, projectRootsKey, treeKey } from "./keys.js";
import { ReplyCode } from "./script-errors.js";
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
export class RedisLedgerStore implements LedgerStore {
  private readonly prefix: string;
  private readonly idempotencyTtlMs: string;
  private readonly maxDepth: string;
  private readonly connection: StoreConnection;
  private readonly redis: RedisClient;

  /**
   * `redis` is one Redis (`createRedisClient`) or a Redis Cluster (`createRedisCluster`); the
   * store quits it on `close`.
   */
  constructor(redis: RedisClient, options: RedisStoreOptions = {}) {
    this.prefix = options.keyPrefix ?? defaultKeyPrefix;
    assertKeyPrefix(this.prefix);
    const ttlMs = options.idempotencyTtlMs ?? defaultIdempotencyTtlMs;
    const maxDepth = options.maxDepth ?? Limits.maxDepth;
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
      throw new RangeError("idempotencyTtlMs must be a positive integer");
    }
    if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) {
      throw new RangeError("maxDepth must be a positive integer");
    }
    this.idempotencyTtlMs = String(ttlMs);
    this.maxDepth = String(maxDepth);
    this.redis = redis;
    this.connection = new StoreConnection(redis, options.firstConnectTimeoutMs ?? 5_000);
    defineLedgerCommands(redis);
  }

  async createRoot(cmd: CreateRootCommand): Promise<WalletView> {
    // Listing first: a crash between the two leaves a listed id with no wallet (skipped when
    // listing), never a root missing from its project's listing.
    const rootsKey = projectRootsKey(this.prefix, cmd.project);
    await this.connection.run(() => this.redis.tollgate_v1_add_root(rootsKey, cmd.rootId));
    const [wallet] = await this.mutate("tollgate_v1_create_root", cmd.rootId, cmd, [
      cmd.name,
      String(cmd.budget),
      cmd.hardCap ? "1" : "0",
      JSON.stringify(cmd.metadata),
    ]);
    return decodeWallet(wallet as string);
  }

  async createChild(cmd: CreateChildCommand): Promise<WalletView> {
    const hardCap = cmd.hardCap === undefined ? "" : cmd.hardCap ? "1" : "0";
    const [wallet] = await this.mutate("tollgate_v1_create_child", cmd.parentId, cmd, [
      cmd.parentId,
      cmd.name,
      String(cmd.budget),
      hardCap,
      JSON.stringify(cmd.metadata),
      this.maxDepth,
    ]);
    return decodeWallet(wallet as string);
  }

  async getWallet(query: WalletQuery): Promise<WalletView> {
    const [wallet] = await this.read("tollgate_v1_get_wallet", query.walletId, query, [
      query.walletId,
    ]);
    return decodeWallet(wallet as string);
  }

  async listWallets(query: ListWalletsQuery): Promise<Page<WalletView>> {
    if (query.parentId === "") return this.listRoots(query);
    const [next, ...wallets] = await this.read("tollgate_v1_list_wallets", query.parentId, query, [
      query.parentId,
      String(query.cursor),
      String(query.pageSize),
    ]);
    return { items: wallets.map(decodeWallet), nextCursor: cursor(next) };
  }

  async addCredits(cmd: AddCreditsCommand): Promise<WalletView> {
    const [wallet] = await this.mutate("tollgate_v1_add_credits", cmd.walletId, cmd, [
      cmd.walletId,
      String(cmd.amount),
      JSON.stringify(cmd.metadata),
    ]);
    return decodeWallet(wallet as string);
  }

  async closeWallet(cmd: CloseWalletCommand): Promise<CloseOutcome> {
    const [wallet, returned] = await this.mutate("tollgate_v1_close_wallet", cmd.walletId, cmd, [
      cmd.walletId,
    ]);
    return { wallet: decodeWallet(wallet as string), returned: Number(returned) };
  }

  async spend(cmd: SpendCommand): Promise<SpendOutcome> {
    const [line, remaining] = await this.mutate("tollgate_v1_spend", cmd.walletId, cmd, [
      cmd.walletId,
      String(cmd.amount),
      cmd.service,
      JSON.stringify(cmd.metadata),
      // Lines without an agent label group under "" (the receipt's by-agent breakdown).
      Object.hasOwn(cmd.metadata, "agent") ? (cmd.metadata.agent as string) : "",
    ]);
    return { line: decodeLine(line as string), remaining: Number(remaining) };
  }

  async authorize(cmd: AuthorizeCommand): Promise<AuthorizeOutcome> {
    const [hold, remaining] = await this.mutate("tollgate_v1_authorize", cmd.walletId, cmd, [
      cmd.walletId,
      String(cmd.amount),
      cmd.service,
      JSON.stringify(cmd.metadata),
      String(cmd.ttlMs),
    ]);
    return { hold: decodeHold(hold as string), remaining: Number(remaining) };
  }

  async capture(cmd: CaptureCommand): Promise<CaptureOutcome> {
    const [line, hold, remaining] = await this.mutate("tollgate_v1_capture", cmd.holdId, cmd, [
      cmd.holdId,
      String(cmd.amount),
      JSON.stringify(cmd.metadata),
    ]);
    return {
      line: decodeLine(line as string),
      hold: decodeHold(hold as string),
      remaining: Number(remaining),
    };
  }

  async void(cmd: VoidCommand): Promise<VoidOutcome> {
    const [line, hold, remaining] = await this.mutate("tollgate_v1_void", cmd.holdId, cmd, [
      cmd.holdId,
    ]);
    return {
      line: decodeLine(line as string),
      hold: decodeHold(hold as string),
      remaining: Number(remaining),
    };
  }

  async getReceipt(query: WalletQuery): Promise<Receipt> {
    const [receipt] = await this.read("tollgate_v1_get_receipt", query.walletId, query, [
      query.walletId,
    ]);
    return decodeReceipt(receipt as string);
  }

  async listCharges(query: ListChargesQuery): Promise<Page<ChargeLine>> {
    const [next, ...lines] = await this.read("tollgate_v1_list_charges", query.walletId, query, [
      query.walletId,
      query.includeDescendants ? "1" : "0",
      String(query.cursor),
      String(query.pageSize),
    ]);
    return { items: lines.map(decodeLine), nextCursor: cursor(next) };
  }

  /**
   * On a single Redis, a PING. On a cluster a PING proves little (a node answers it while the
   * cluster refuses every command), so every master must report `cluster_state:ok`: the health
   * service then says NOT_SERVING exactly when spends would fail.
   */
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

  /** Quits the client it was given, once calls in flight have their replies. Idempotent. */
  async close(): Promise<void> {
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
      this.redis.tollgate_v1_list_roots(
        projectRootsKey(this.prefix, query.project),
        String(query.cursor),
        String(query.pageSize),
      ),
    );
    const replies = await Promise.all(
      rootIds.map((rootId) =>
        this.connection.call(() =>
          this.redis.tollgate_v1_get_wallet(
            this.key(rootId, "tree"),
            query.project,
            time(query.nowMs),
            rootId,
          ),
        ),
      ),
    );
    const items = replies.flatMap(([code, wallet]) =>
      code === ReplyCode.ok ? [decodeWallet(wallet as string)] : [],
    );
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
    return this.connection.run(() =>
      this.redis[command](
        this.key(rootId, "tree"),
        this.key(rootId, "idempotency", cmd.requestId),
        cmd.project,
        time(cmd.nowMs),
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
    return this.connection.run(() =>
      this.redis[command](this.key(treeOf(id), "tree"), query.project, time(query.nowMs), ...argv),
    );
  }

  private key(rootId: string, name: Parameters<typeof treeKey>[2], id?: string): string {
    return treeKey(this.prefix, rootId, name, id);
  }
}

type MutationCommand =
  | "tollgate_v1_create_root"
  | "tollgate_v1_create_child"
  | "tollgate_v1_add_credits"
  | "tollgate_v1_close_wallet"
  | "tollgate_v1_spend"
  | "tollgate_v1_authorize"
  | "tollgate_v1_capture"
  | "tollgate_v1_void";

type ReadCommand =
  | "tollgate_v1_get_wallet"
  | "tollgate_v1_list_wallets"
  | "tollgate_v1_get_receipt"
  | "tollgate_v1_list_charges";

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
