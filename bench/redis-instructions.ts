/**
 * Redis's cost of a spend in CPU instructions, which, unlike CPU time, a shared machine does not
 * blur: a redis-server of its own runs under valgrind's callgrind, the store spends on one wallet
 * (200 spends to warm up, then the counters are zeroed), and the instructions Redis executed for
 * the measured spends are divided by their number. `--in-flight` > 1 lets the store batch the
 * spends of one turn (spend-batch-2.lua), as a stream or concurrent callers do.
 *
 *   npx tsx bench/redis-instructions.ts [--spends 1000] [--in-flight 1] [--depth 1]
 *
 * Needs `valgrind` (callgrind_control too) and `redis-server` on the PATH. Slow: Redis runs
 * about 50 times slower under callgrind, so keep `--spends` in the thousands.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { fingerprint } from "../server/ledger/fingerprint.js";
import { RedisLedgerStore } from "../server/store/redis/redis-ledger-store.js";

const { values } = parseArgs({
  options: {
    spends: { type: "string", default: "1000" },
    "in-flight": { type: "string", default: "1" },
    depth: { type: "string", default: "1" },
  },
});
const spends = Number(values.spends);
const inFlight = Number(values["in-flight"]);
const depth = Number(values.depth);

const dir = mkdtempSync(join(tmpdir(), "tollgate-callgrind-"));
const port = 20_000 + Math.floor(Math.random() * 10_000);
const server = spawn(
  "valgrind",
  [
    "--tool=callgrind",
    `--callgrind-out-file=${join(dir, "callgrind.out")}`,
    "redis-server",
    ...["--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir],
  ],
  { stdio: "ignore" },
);
try {
  const redis = await connect(port);
  const store = new RedisLedgerStore(redis, { keyPrefix: "tg:" });
  const rootId = "w_0123456789abcdef01234567";
  const base = {
    project: "bench",
    budget: 1e12,
    hardCap: true,
    metadata: {},
    alertThresholds: [],
    nowMs: Date.now(),
  };
  await store.createRoot({ ...base, rootId, name: "task", requestId: "r0", fingerprint: "f0" });
  let walletId = rootId;
  for (let level = 1; level < depth; level += 1) {
    const parentId = walletId;
    const child = await store.createChild({
      ...base,
      parentId,
      name: `agent-${level}`,
      budget: 1e9,
      hardCap: true,
      requestId: `r${level}`,
      fingerprint: `f${level}`,
    });
    walletId = child.id;
  }
  let sequence = 0;
  const spend = () => {
    sequence += 1;
    const params = { walletId, amount: 1, service: "search", metadata: { agent: "bench" } };
    return store.spend({
      ...params,
      project: "bench",
      requestId: `s-${sequence}`,
      nowMs: Date.now(),
      fingerprint: fingerprint("spend", params),
    });
  };
  for (let i = 0; i < 200; i += 1) await spend();
  execFileSync("callgrind_control", ["--zero", String(server.pid)], { stdio: "ignore" });
  let left = spends;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (left > 0) {
        left -= 1;
        await spend();
      }
    }),
  );
  execFileSync("callgrind_control", ["--dump", String(server.pid)], { stdio: "ignore" });
  const instructions = await dumpedInstructions(dir);
  console.log(
    `Redis instructions per spend (depth ${depth}, ${inFlight} in flight, ${spends} spends): ` +
      `${Math.round(instructions / spends).toLocaleString("en-US")}`,
  );
  await store.close();
} finally {
  server.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}

/** A client once the server under valgrind (slow to start) answers PING. */
async function connect(onPort: number): Promise<Redis> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const redis = new Redis({ port: onPort, lazyConnect: true, retryStrategy: () => null });
    redis.on("error", () => {});
    try {
      await redis.connect();
      await redis.ping();
      return redis;
    } catch {
      redis.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  throw new Error(`redis-server under valgrind did not start on ${onPort}`);
}

/** The instruction total of the dump callgrind_control asked for (the newest part file). */
async function dumpedInstructions(inDir: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const parts = readdirSync(inDir).filter((f) => /^callgrind\.out\.\d+$/.test(f));
    const newest = parts.sort((a, b) => Number(a.split(".")[2]) - Number(b.split(".")[2])).at(-1);
    const match = newest && /^summary: (\d+)/m.exec(readFileSync(join(inDir, newest), "utf8"));
    if (match) return Number(match[1]);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("callgrind wrote no dump");
}
