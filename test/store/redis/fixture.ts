import type { Redis } from "ioredis";
import { CredentialIssuer } from "../../../server/credentials/credential-issuer.js";
import { Ledger } from "../../../server/ledger/ledger.js";
import type { WalletView } from "../../../server/ledger/types.js";
import { createRedisClient } from "../../../server/store/redis/connect.js";
import {
  RedisLedgerStore,
  type RedisStoreOptions,
} from "../../../server/store/redis/redis-ledger-store.js";
import { deleteKeys, testKeyPrefix } from "../../support/key-prefix.js";

/** 2025-01-01T00:00:00Z, so expected timestamps are plain sums. */
export const startMs = Date.UTC(2025, 0, 1);

/** The project every case acts as. */
export const project = "acme";

/** A ledger on a Redis store under a fresh key prefix, with a clock the test moves by hand. */
export interface RedisEnv {
  ledger: Ledger;
  store: RedisLedgerStore;
  /** The store's own client (fail-closed options, as in production). */
  redis: Redis;
  /** A second, plain client for inspecting Redis (stats, keys) beside the store. */
  observer: Redis;
  prefix: string;
  advance(ms: number): void;
  /** Deletes this env's keys (never FLUSH: the server may be shared) and closes both clients. */
  dispose(): Promise<void>;
}

let issuer: Promise<CredentialIssuer> | undefined;

/** Opens a store on `url`; the signing key is shared because it is not under test. */
export async function redisEnv(
  url: string,
  options: Omit<RedisStoreOptions, "keyPrefix"> = {},
): Promise<RedisEnv> {
  issuer ??= CredentialIssuer.create(undefined, 60_000);
  const prefix = testKeyPrefix();
  const redis = createRedisClient(url);
  // Outages are provoked on purpose here; ioredis would print every reconnect failure.
  redis.on("error", () => {});
  const observer = createRedisClient(url);
  observer.on("error", () => {});
  const store = new RedisLedgerStore(redis, { ...options, keyPrefix: prefix });
  let nowMs = startMs;
  const ledger = new Ledger(store, await issuer, { now: () => nowMs });
  await store.ping();
  await waitReady(observer);
  return {
    ledger,
    store,
    redis,
    observer,
    prefix,
    advance(ms) {
      nowMs += ms;
    },
    async dispose() {
      if (observer.status === "ready") await deleteKeys(observer, prefix);
      await store.close();
      observer.disconnect();
    },
  };
}

async function waitReady(redis: Redis): Promise<void> {
  if (redis.status !== "ready") await new Promise((resolve) => redis.once("ready", resolve));
}

let seq = 0;

/** A request id no other call in this run uses. */
export function rid(label = "req"): string {
  seq += 1;
  return `${label}-${seq}`;
}

/** A hard-capped root wallet of `budget` credits. */
export function root(ledger: Ledger, budget: number, name = "task"): Promise<WalletView> {
  return ledger.createWallet(project, { name, budget, requestId: rid("root") });
}

/** A child of `parentId` with `budget` credits. */
export function child(ledger: Ledger, parentId: string, budget: number): Promise<WalletView> {
  return ledger.createWallet(project, { parentId, name: "agent", budget, requestId: rid("child") });
}

/** Every key under `prefix`, sorted. */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys.sort();
}

/**
 * Every key under `prefix` with its type and full content, to compare Redis before and after a
 * call byte for byte.
 */
export async function snapshot(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of await keysUnder(redis, prefix)) {
    const type = await redis.type(key);
    if (type === "hash") out[key] = await redis.hgetall(key);
    else if (type === "list") out[key] = await redis.lrange(key, 0, -1);
    else if (type === "zset") out[key] = await redis.zrange(key, 0, -1, "WITHSCORES");
    else if (type === "stream") out[key] = await redis.xrange(key, "-", "+");
    else out[key] = await redis.get(key);
  }
  return out;
}

/** `INFO commandstats` as command -> calls (and failed calls), e.g. `evalsha`, `hincrby`. */
export async function commandStats(
  redis: Redis,
): Promise<Map<string, { calls: number; failed: number }>> {
  const stats = new Map<string, { calls: number; failed: number }>();
  for (const line of (await redis.info("commandstats")).split("\r\n")) {
    const match = /^cmdstat_([^:]+):calls=(\d+),.*failed_calls=(\d+)/.exec(line);
    if (match) {
      stats.set(match[1] as string, { calls: Number(match[2]), failed: Number(match[3]) });
    }
  }
  return stats;
}
