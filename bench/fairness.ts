import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { ProjectClient, runLoad, verify, warmUp } from "./fairness-load.js";
import {
  type OwnRedis,
  type ServerProcess,
  type Spender,
  startOwnRedis,
  startServer,
  startSpender,
} from "./fairness-processes.js";
import { readProbe, renderReport, type SlowlogEntry } from "./fairness-report.js";
import { projectA, projectB, setUpWorld } from "./fairness-setup.js";

/**
 * `npm run bench:fairness` (issue 7): does project B notice project A's backlog? p50, p99 and
 * max of B's spends (one in flight, unary, through a real server process) while idle, then while
 * A has 200,000 holds falling due at one moment E (worked off by the server's sweeper and by
 * A's own GetWallet calls), reads a 10,000-child tree in 1,000-row pages and closes it. Goal: no
 * spend of B's over max(50 ms, 2x its idle max). Also: how long A's work took, Redis's slowest
 * scripts (SLOWLOG, > 10 ms), the server's event-loop delays, and checks that every hold expired,
 * the close is complete and B was charged exactly its spends (exit 1 if not; timing never fails).
 *
 * Flags: --holds (200000), --trees (20; holds per tree at most 10,000, the default limit),
 * --children (10000), --idle-ms (5000), --page-size (1000, the largest page), --concurrency
 * (200, setup only), --close-delay-ms (1000: the close starts this long after E), and, to
 * take the load apart, --foreground-trees (how many hold trees A calls GetWallet on at E;
 * default all), --foreground-concurrency (how many of those GetWallet calls run at once; default
 * all) and --sweep-interval-ms (the server's TOLLGATE_SWEEP_INTERVAL_MS; 60000 keeps the sweeper
 * out of the run).
 *
 * Runs its own redis-server on a free port (no persistence) and `server/main.ts` as a process of
 * its own on it, and stops both at the end.
 */
const { values } = parseArgs({
  options: {
    holds: { type: "string", default: "200000" },
    trees: { type: "string", default: "20" },
    children: { type: "string", default: "10000" },
    "idle-ms": { type: "string", default: "5000" },
    "page-size": { type: "string", default: "1000" },
    concurrency: { type: "string", default: "200" },
    "close-delay-ms": { type: "string", default: "1000" },
    "foreground-trees": { type: "string" },
    "foreground-concurrency": { type: "string" },
    "sweep-interval-ms": { type: "string", default: "1000" },
  },
});
const flag = (name: keyof typeof values, min: number) => {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`--${name} must be an integer >= ${min}`);
  return n;
};
const holds = flag("holds", 1);
const trees = flag("trees", 1);
const children = flag("children", 5);
const idleMs = flag("idle-ms", 500);
const pageSize = flag("page-size", 1);
const concurrency = flag("concurrency", 1);
const closeDelayMs = flag("close-delay-ms", 0);
values["foreground-trees"] ??= String(trees);
const foregroundTrees = flag("foreground-trees", 0);
values["foreground-concurrency"] ??= String(Math.max(foregroundTrees, 1));
const foregroundConcurrency = flag("foreground-concurrency", 1);
const sweepIntervalMs = flag("sweep-interval-ms", 100);
const keyPrefix = "tg:";
const leadMs = 1000;
const keys = {
  A: `a-${randomBytes(16).toString("hex")}`,
  B: `b-${randomBytes(16).toString("hex")}`,
};
const log = (line: string) => console.log(line);

const probeDir = mkdtempSync(join(tmpdir(), "tollgate-fairness-"));
const serverProbe = join(probeDir, "server.jsonl");
const spenderProbe = join(probeDir, "spender.jsonl");
let redis: OwnRedis | undefined;
let server: ServerProcess | undefined;
let spender: Spender | undefined;
let raw: Redis | undefined;
const clients: ProjectClient[] = [];
const cleanUp = async () => {
  for (const c of clients.splice(0)) c.close();
  raw?.disconnect();
  await spender?.kill();
  await server?.stop();
  await redis?.stop();
  rmSync(probeDir, { recursive: true, force: true });
};
process.once("SIGINT", () => void cleanUp().finally(() => process.exit(130)));

let failed = false;
try {
  const n = (x: number) => x.toLocaleString("en-US");
  log(
    `tollgate fairness bench: Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  log(
    `A: ${n(holds)} holds on ${trees} trees, due at E; GetWallet on ${foregroundTrees} of them ` +
      `(${foregroundConcurrency} at a time) from E; a ${n(children)}-child root read in pages of ` +
      `${pageSize} from E and closed at E+${closeDelayMs} ms; server sweeper every ${sweepIntervalMs} ms`,
  );
  redis = await startOwnRedis();
  raw = new Redis(redis.url);
  await raw.config("SET", "slowlog-log-slower-than", "10000");
  await raw.config("SET", "slowlog-max-len", "10000");
  log(`own redis-server ${redis.url}`);
  log("setup, straight through a RedisLedgerStore (not measured):");
  const setupStart = performance.now();
  const world = await setUpWorld({
    redisUrl: redis.url,
    keyPrefix,
    holds,
    trees,
    children,
    concurrency,
    marginMs: idleMs + leadMs + 6000,
    log,
  });
  log(
    `  setup took ${((performance.now() - setupStart) / 1000).toFixed(1)} s; E (every hold due) is ${((world.dueAtMs - Date.now()) / 1000).toFixed(1)} s from now`,
  );

  // Started after the setup, so its sweeper's first tick (one interval after start) is too.
  server = await startServer(
    {
      REDIS_URL: redis.url,
      TOLLGATE_ADDRESS: "127.0.0.1:0",
      TOLLGATE_API_KEYS: `${projectA}=${keys.A},${projectB}=${keys.B}`,
      TOLLGATE_LOG_LEVEL: "warn",
      TOLLGATE_KEY_PREFIX: keyPrefix,
      TOLLGATE_SWEEP_INTERVAL_MS: String(sweepIntervalMs),
    },
    serverProbe,
  );
  log(`tollgate server ${server.address} (pid ${server.pid}), started after the setup`);
  if (Date.now() > world.dueAtMs - leadMs - 500) {
    throw new Error(
      "setup ran past E (its rate estimate was off): the run would not be fair; rerun",
    );
  }
  const a = new ProjectClient(server.address, keys.A);
  const b = new ProjectClient(server.address, keys.B);
  clients.push(a, b);
  spender = await startSpender({
    address: server.address,
    apiKey: keys.B,
    walletId: world.bRoot,
    redisUrl: redis.url,
    probeFile: spenderProbe,
  });
  // Warm-up, not measured: B's spends and each kind of A's calls, so first-call costs (JIT,
  // lazy modules) are not taken for A's backlog.
  await spender.run("warmup");
  await warmUp(a, world, pageSize);
  await sleep(500);
  await spender.pause();
  await raw.slowlog("RESET");
  const idleStart = Date.now();
  await spender.run("idle");
  await sleep(Math.min(idleMs, world.dueAtMs - leadMs - Date.now()));
  await spender.pause();
  const idleEnd = Date.now();
  if (idleEnd - idleStart < idleMs) log(`  note: idle phase cut to ${idleEnd - idleStart} ms by E`);
  await sleep(world.dueAtMs - leadMs - Date.now());
  const redisCpuBefore = await redisCpuSeconds(raw);
  const loadedStart = Date.now();
  await spender.run("loaded");
  await sleep(world.dueAtMs - Date.now());
  const load = await runLoad({
    client: a,
    redis: raw,
    keyPrefix,
    world,
    pageSize,
    closeDelayMs,
    foregroundTrees,
    foregroundConcurrency,
  });
  const loadedEnd = Date.now();
  const redisCpu = (await redisCpuSeconds(raw)) - redisCpuBefore;
  const result = await spender.finish();
  spender = undefined;
  const slowlog = (await raw.slowlog("GET", 10000)) as SlowlogEntry[];
  const okSpends = result.samples.filter((s) => s.ok).length;
  const checks = await verify(a, b, world, okSpends);
  failed = checks.some((c) => !c.pass) || result.errors.length > 0;

  log(
    renderReport({
      E: world.dueAtMs,
      spender: result,
      idle: [idleStart, idleEnd],
      loaded: [loadedStart, loadedEnd],
      server: readProbe(serverProbe),
      spenderLoop: readProbe(spenderProbe),
      load,
      redisCpuSeconds: redisCpu,
      slowlog,
      checks,
      what: { holds, children, foregroundTrees, foregroundConcurrency },
    }),
  );
} catch (error) {
  failed = true;
  console.error(error);
  if (server !== undefined)
    console.error(`server's last log lines:\n${server.recentLog().join("\n")}`);
} finally {
  await cleanUp();
}
process.exit(failed ? 1 : 0);

async function redisCpuSeconds(r: Redis): Promise<number> {
  const info = await r.info("cpu");
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return field("used_cpu_user") + field("used_cpu_sys");
}

function sleep(msToWait: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, msToWait)));
}
