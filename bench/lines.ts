import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { CredentialIssuer } from "../server/credentials/credential-issuer.js";
import { Ledger } from "../server/ledger/ledger.js";
import { createRedisClient } from "../server/store/redis/connect.js";
import { RedisLedgerStore } from "../server/store/redis/redis-ledger-store.js";
import { startOwnRedis } from "./fairness-processes.js";
import { type RedisSample, redisDelta, sampleRedis, usedMemory } from "./redis-stats.js";
import { budget, spendRequests, storeSpend } from "./scenarios.js";
import { quantile } from "./stats.js";
import { benchProject } from "./targets.js";

/**
 * The memory phase (issue #11, target 5): what a receipt line costs in Redis memory, and whether
 * spend latency stays flat as a wallet's lines pile up. On a redis-server of its own (so
 * used_memory is the tree's and nothing else's): one root wallet created through the ledger and
 * the production store, spend latency at 1 in flight on the empty wallet, a fill to `lines`
 * receipt lines with many spends in flight, the latency again, and what the memory went to.
 * Every spend is the bench's usual one (1 credit, service "search", metadata {agent: "bench"},
 * a request id of its own), straight on the store as the server would run it.
 */
export interface LinesOptions {
  /** Receipt lines on the wallet when memory is measured. */
  lines: number;
  /** Spends in flight during the fill (the fill's client pipelines them). */
  fillConcurrency: number;
  /** Spends timed, one at a time, before and after the fill. */
  latencySpends: number;
  /** Untimed spends first (script load, JIT); they are lines too. */
  warmupSpends: number;
  /** Progress lines (stderr). */
  onProgress?(text: string): void;
}

export const defaultLinesOptions = {
  fillConcurrency: 256,
  latencySpends: 2_000,
  // The first few hundred spends of a fresh Redis and client run slower (a p99 of several ms);
  // a warm-up that short would flatter the filled wallet's latency.
  warmupSpends: 1_000,
} as const;

/** Spend latency at 1 in flight, and what Redis spent on those spends. */
export interface LatencyFigures {
  /** Lines on the wallet when the window started. */
  atLines: number;
  spends: number;
  p50Ms: number;
  p99Ms: number;
  /** Time inside the script per call (`INFO commandstats` usec / calls delta), µs. */
  scriptUsPerCall: number;
}

/** Keys of one shape (ids replaced) and what they hold. */
export interface KeyGroup {
  /** The key with its prefix dropped and ids replaced, e.g. `{…}:idem:<id>`. */
  pattern: string;
  keys: number;
  /** `MEMORY USAGE … SAMPLES 0` of up to `sampleSize` of them, scaled to all of them. */
  bytes: number;
  sampled: number;
}

export interface LinesResult {
  lines: number;
  /** used_memory at `lines` lines minus used_memory of the empty Redis, bytes. */
  memoryDelta: number;
  bytesPerLine: number;
  before: LatencyFigures;
  after: LatencyFigures;
  fillSpends: number;
  fillSeconds: number;
  /** Redis process CPU per spend during the fill (pipelined, `fillConcurrency` in flight), µs. */
  fillRedisCpuUsPerSpend: number;
  /** Largest first. */
  groups: KeyGroup[];
  /** Balance or error problems; empty when every spend landed exactly once. */
  problems: string[];
}

const sampleSize = 200;

export async function runLinesPhase(options: LinesOptions): Promise<LinesResult> {
  const own = await startOwnRedis();
  const keyPrefix = "tglines:";
  const admin = new Redis(own.url);
  admin.on("error", () => {});
  // Timed spends: the production client, one call at a time.
  const timedRedis = createRedisClient(own.url);
  timedRedis.on("error", () => {});
  const timedStore = new RedisLedgerStore(timedRedis, { keyPrefix });
  // Fill spends: pipelined, so a million of them take a minute or two rather than many.
  const fillRedis = new Redis(own.url, { enableAutoPipelining: true, maxRetriesPerRequest: 0 });
  fillRedis.on("error", () => {});
  const fillStore = new RedisLedgerStore(fillRedis, { keyPrefix });
  try {
    await timedStore.ping();
    await fillStore.ping();
    const memoryEmpty = await usedMemory(admin);
    const issuer = await CredentialIssuer.create(undefined, 60_000);
    const wallet = await new Ledger(timedStore, issuer).createWallet(benchProject, {
      parentId: "",
      name: "bench",
      budget: Number(budget),
      hardCap: true,
      metadata: {},
      alertThresholds: [],
      requestId: `create-${randomBytes(8).toString("hex")}`,
    });
    const requests = spendRequests(wallet.id);
    let lines = 0;
    const problems: string[] = [];

    for (let i = 0; i < options.warmupSpends; i += 1) {
      await storeSpend(timedStore, requests());
      lines += 1;
    }
    const timeSpends = async (): Promise<LatencyFigures> => {
      const atLines = lines;
      const latencies = new Float64Array(options.latencySpends);
      const first = await sampleRedis(admin);
      for (let i = 0; i < options.latencySpends; i += 1) {
        const started = performance.now();
        await storeSpend(timedStore, requests());
        latencies[i] = performance.now() - started;
        lines += 1;
      }
      const delta = redisDelta(first, await sampleRedis(admin));
      latencies.sort();
      return {
        atLines,
        spends: options.latencySpends,
        p50Ms: quantile(latencies, 0.5),
        p99Ms: quantile(latencies, 0.99),
        scriptUsPerCall: delta.scriptCalls > 0 ? delta.scriptUsec / delta.scriptCalls : Number.NaN,
      };
    };
    const before = await timeSpends();

    const fillSpends = Math.max(0, options.lines - lines);
    options.onProgress?.(
      `  lines: filling to ${options.lines.toLocaleString("en-US")} lines, ${options.fillConcurrency} spends in flight`,
    );
    const fillStart = performance.now();
    const redisBeforeFill = await sampleRedis(admin);
    const filled = await fill(fillStore, requests, fillSpends, options, fillStart);
    const fillRedis_: RedisSample = redisDelta(redisBeforeFill, await sampleRedis(admin));
    const fillSeconds = (performance.now() - fillStart) / 1000;
    lines += filled.done;
    if (filled.firstError !== undefined) {
      problems.push(`${filled.errors} fill spends failed; first: ${describe(filled.firstError)}`);
    }

    const memoryFull = await usedMemory(admin);
    options.onProgress?.("  lines: grouping keys by shape (SCAN, MEMORY USAGE)");
    const groups = await groupKeys(admin, keyPrefix);
    const atLines = lines;
    const after = await timeSpends();

    const view = await timedStore.getWallet({
      project: benchProject,
      walletId: wallet.id,
      nowMs: Date.now(),
    });
    if (view.spent !== lines) {
      problems.push(`wallet ${wallet.id} spent ${view.spent} credits for ${lines} spends`);
    }
    return {
      lines: atLines,
      memoryDelta: memoryFull - memoryEmpty,
      bytesPerLine: atLines > 0 ? (memoryFull - memoryEmpty) / atLines : Number.NaN,
      before,
      after,
      fillSpends,
      fillSeconds,
      fillRedisCpuUsPerSpend: filled.done > 0 ? fillRedis_.cpuMicros / filled.done : Number.NaN,
      groups,
      problems,
    };
  } finally {
    await Promise.allSettled([timedStore.close(), fillStore.close()]);
    admin.disconnect();
    await own.stop();
  }
}

/** `count` spends, `fillConcurrency` at a time; progress every 10%. */
async function fill(
  store: RedisLedgerStore,
  requests: ReturnType<typeof spendRequests>,
  count: number,
  options: LinesOptions,
  startMs: number,
): Promise<{ done: number; errors: number; firstError: unknown }> {
  let started = 0;
  let done = 0;
  let errors = 0;
  let firstError: unknown;
  const step = Math.max(1, Math.ceil(count / 10));
  let nextReport = step;
  const worker = async () => {
    while (started < count && firstError === undefined) {
      started += 1;
      try {
        await storeSpend(store, requests());
        done += 1;
        if (done >= nextReport) {
          nextReport += step;
          const seconds = (performance.now() - startMs) / 1000;
          options.onProgress?.(
            `  lines: ${done.toLocaleString("en-US")} / ${count.toLocaleString("en-US")} fill spends, ` +
              `${seconds.toFixed(0)} s, ${Math.round(done / seconds).toLocaleString("en-US")}/s`,
          );
        }
      } catch (error) {
        errors += 1;
        firstError ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.fillConcurrency, count) }, worker));
  return { done, errors, firstError };
}

/**
 * Every key under `keyPrefix`, grouped by shape ({@link keyShape}), with the memory of each group
 * estimated from `MEMORY USAGE` of a sample of its keys. Layout-agnostic: whatever keys the store
 * writes show up under their own shape.
 */
async function groupKeys(redis: Redis, keyPrefix: string): Promise<KeyGroup[]> {
  const groups = new Map<string, { keys: number; sample: string[] }>();
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 10_000);
    cursor = next;
    for (const key of keys) {
      const shape = keyShape(key.slice(keyPrefix.length));
      let group = groups.get(shape);
      if (group === undefined) {
        group = { keys: 0, sample: [] };
        groups.set(shape, group);
      }
      group.keys += 1;
      if (group.sample.length < sampleSize) group.sample.push(key);
    }
  } while (cursor !== "0");
  const result: KeyGroup[] = [];
  for (const [pattern, { keys, sample }] of groups) {
    const pipeline = redis.pipeline();
    for (const key of sample) pipeline.memory("USAGE", key, "SAMPLES", 0);
    const replies = (await pipeline.exec()) ?? [];
    const sizes = replies.map(([, bytes]) => Number(bytes ?? 0));
    const mean = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
    result.push({ pattern, keys, bytes: mean * keys, sampled: sample.length });
  }
  return result.sort((a, b) => b.bytes - a.bytes);
}

/**
 * A key (prefix dropped) with its ids replaced: the hash tag becomes `{…}`, wallet, hold and line
 * ids `<id>`, and any other segment carrying a long run of digits or hex (request ids) `<id>`.
 */
export function keyShape(key: string): string {
  return key
    .replace(/\{[^}]*\}/, "{…}")
    .replace(/w_[0-9a-f]{24}(\.[a-z][0-9]+)?/g, "<id>")
    .split(":")
    .map((segment) => (/[0-9]{4,}|[0-9a-f]{8,}/.test(segment) ? "<id>" : segment))
    .join(":");
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
