import { spawn } from "node:child_process";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { defaultScenarios } from "./default-scenarios.js";
import { type OwnRedis, startOwnRedis } from "./fairness-processes.js";
import type { LinesOutcome } from "./issue-targets.js";
import { defaultLinesOptions, runLinesPhase } from "./lines.js";
import { redisVersion, sampleRedis } from "./redis-stats.js";
import { renderReport } from "./report.js";
import { runBench } from "./run-bench.js";
import type { Scenario, ScenarioContext } from "./scenarios.js";
import {
  deleteBenchKeys,
  newTargetSettings,
  startTargets,
  type TargetSettings,
} from "./targets.js";

/**
 * `npm run bench`: the echo floor, unary Spend, streaming spends and the raw Redis script side by
 * side at each concurrency, as markdown tables with ratios to the floor; what Redis spent per
 * spend; the watchers; the memory phase (one wallet filled to `--lines` receipt lines); and
 * issue #11's targets as PASS or MISS.
 *
 * Flags: --duration-ms (default 3000) and --warmup-ms (500) per run, --concurrency (1,16,64),
 * --rounds (2: each scenario runs this often per concurrency, interleaved, so noise shows),
 * --lines (1000000: receipt lines of the memory phase; 0 skips it), --in-process (servers in this
 * process instead of their own), --cpu-prof (profile the server process; the .cpuprofile lands in
 * the directory printed at the end), --only (comma-separated parts of row names: run just those
 * rows, e.g. `--only stream` while profiling).
 *
 * The servers run in a process of their own by default, as they would in production: in one
 * process the load generator's encoding, decoding and promise churn would be billed to the
 * server's event loop. Redis is REDIS_URL when set, used under a random key prefix whose keys are
 * deleted at the end (never a FLUSH: it may be shared, and then its CPU and command counters
 * include its other clients); otherwise a redis-server started for this run, so Redis's counters
 * are the bench's alone. The memory phase always runs on a redis-server of its own.
 */
const { values } = parseArgs({
  options: {
    "duration-ms": { type: "string", default: "3000" },
    "warmup-ms": { type: "string", default: "500" },
    concurrency: { type: "string", default: "1,16,64" },
    rounds: { type: "string", default: "2" },
    "in-process": { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
    only: { type: "string" },
    lines: { type: "string", default: "1000000" },
  },
});

const durationMs = positiveInt(values["duration-ms"], "--duration-ms");
const warmupMs = nonNegativeInt(values["warmup-ms"], "--warmup-ms");
const rounds = positiveInt(values.rounds, "--rounds");
const concurrencies = values.concurrency
  .split(",")
  .map((c) => positiveInt(c.trim(), "--concurrency"));
const lineCount = nonNegativeInt(values.lines, "--lines");
const ownRedis: OwnRedis | undefined = process.env.REDIS_URL ? undefined : await startOwnRedis();
const redisUrl = ownRedis?.url ?? (process.env.REDIS_URL as string);
const redisNote =
  ownRedis === undefined
    ? `Redis is REDIS_URL (${redactedUrl(redisUrl)}): these deltas include anything else using that Redis, so run on a quiet machine.`
    : "Redis is a redis-server started for this run: the deltas are the bench's alone.";
const settings = newTargetSettings(redisUrl);
const statsRedis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
statsRedis.on("error", () => {});
const profileDir = values["cpu-prof"]
  ? join(tmpdir(), `tollgate-bench-profile-${Date.now()}`)
  : undefined;

let report: string | undefined;
try {
  const header =
    `Run ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${cpus()[0]?.model.trim() ?? "?"}, ` +
    `${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Node ${process.version}; ` +
    `Redis ${await redisVersion(statsRedis)} (${ownRedis === undefined ? "REDIS_URL, maybe shared" : "a private redis-server"}).`;
  const servers = values["in-process"]
    ? await inProcess(settings)
    : await serverProcess(settings, profileDir);
  let rows: Awaited<ReturnType<typeof runBench>>;
  try {
    const context: ScenarioContext = { settings, ...servers.addresses };
    console.log(
      `tollgate bench: Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}; ${durationMs} ms per run after ${warmupMs} ms warm-up, ${rounds} round(s), ` +
        `servers ${values["in-process"] ? "in the bench process" : "in their own process"}, Redis ${
          ownRedis === undefined ? redactedUrl(redisUrl) : `started for this run (${redisUrl})`
        }; memory phase ${lineCount === 0 ? "skipped" : `to ${lineCount.toLocaleString("en-US")} lines`}\n`,
    );
    rows = await runBench(context, {
      scenarios: selectedScenarios(values.only),
      concurrencies,
      warmupMs,
      durationMs,
      rounds,
      serverCpuMicros: servers.cpuMicros,
      redisSample: () => sampleRedis(statsRedis),
      onRun: ({ concurrency, round, scenario }) =>
        process.stderr.write(`  ${concurrency} in flight, round ${round}: ${scenario}\n`),
    });
  } finally {
    await servers.close();
    const deleted = await deleteBenchKeys(redisUrl, settings.keyPrefix);
    process.stderr.write(`deleted ${deleted} bench keys under ${settings.keyPrefix}\n`);
    if (profileDir !== undefined) process.stderr.write(`server CPU profile in ${profileDir}\n`);
  }
  let lines: LinesOutcome = "skipped";
  if (lineCount > 0) {
    process.stderr.write(
      `  memory phase: one wallet to ${lineCount} lines on its own redis-server\n`,
    );
    lines = await runLinesPhase({
      ...defaultLinesOptions,
      lines: lineCount,
      warmupSpends: Math.min(defaultLinesOptions.warmupSpends, Math.floor(lineCount / 10)),
      latencySpends: Math.max(
        1,
        Math.min(defaultLinesOptions.latencySpends, Math.floor(lineCount / 4)),
      ),
      onProgress: (text) => process.stderr.write(`${text}\n`),
    });
  }
  report = renderReport(rows, { header, redisNote, lines });
} finally {
  statsRedis.disconnect();
  await ownRedis?.stop();
}
console.log(report);

function selectedScenarios(only: string | undefined): readonly Scenario[] {
  if (only === undefined) return defaultScenarios;
  const parts = only.split(",").map((p) => p.trim().toLowerCase());
  const chosen = defaultScenarios.filter((s) =>
    parts.some((p) => s.name.toLowerCase().includes(p)),
  );
  if (chosen.length === 0) throw new Error(`--only ${only} matches no row`);
  return chosen;
}

interface Servers {
  addresses: { echoAddress: string; tollgateAddress: string };
  /** CPU time the servers' process has used so far; only when they have a process of their own. */
  cpuMicros?: () => Promise<number>;
  close(): Promise<void>;
}

async function inProcess(targetSettings: TargetSettings): Promise<Servers> {
  const targets = await startTargets(targetSettings);
  return {
    addresses: { echoAddress: targets.echoAddress, tollgateAddress: targets.tollgateAddress },
    close: () => targets.close(),
  };
}

/** Starts server-process.ts under tsx, reads the addresses it prints, and asks it for CPU time. */
async function serverProcess(
  targetSettings: TargetSettings,
  cpuProfDir: string | undefined,
): Promise<Servers> {
  const entry = fileURLToPath(new URL("./server-process.ts", import.meta.url));
  const profiling = cpuProfDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`];
  const child = spawn(process.execPath, [...profiling, "--import", "tsx", entry], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, TOLLGATE_BENCH_TARGETS: JSON.stringify(targetSettings) },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // One exit listener for the process's life (not one per request): an early exit fails every
  // reply still awaited.
  const replies: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  child.once("exit", (code) => {
    for (const reply of replies.splice(0)) {
      reply.reject(new Error(`bench server process exited (${code})`));
    }
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on("line", (line) => replies.shift()?.resolve(line));
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      replies.push({ resolve, reject });
    });
  const addresses = JSON.parse(await nextLine()) as Servers["addresses"];
  return {
    addresses,
    async cpuMicros() {
      const reply = nextLine();
      child.stdin?.write("cpu\n");
      return (JSON.parse(await reply) as { cpuMicros: number }).cpuMicros;
    },
    async close() {
      child.stdin?.end();
      await exited;
    },
  };
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(`${flag} must be a positive integer, got ${text}`);
  return n;
}

function nonNegativeInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`${flag} must be a non-negative integer, got ${text}`);
  return n;
}

/** The URL without its password, for the header line. */
function redactedUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}
