import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { scriptSources } from "../server/store/redis/commands.js";
import type { Check, LoadResult } from "./fairness-load.js";
import type { ProbeWindow } from "./fairness-probe.js";
import type { SpenderResult } from "./fairness-processes.js";
import { quantile } from "./stats.js";

/** The tables `npm run bench:fairness` prints. */

/** A SLOWLOG GET entry: id, unix seconds, microseconds, arguments, then client details. */
export type SlowlogEntry = [number, number, number, string[], ...unknown[]];

export interface ReportInput {
  /** When every one of A's holds fell due (epoch ms). */
  E: number;
  spender: SpenderResult;
  /** [start, end] of B's idle and loaded phases, epoch ms. */
  idle: [number, number];
  loaded: [number, number];
  /** 250 ms windows of the server's and the spender's event loop (fairness-probe.ts). */
  server: ProbeWindow[];
  spenderLoop: ProbeWindow[];
  load: LoadResult;
  /** Redis's CPU time during the loaded phase. */
  redisCpuSeconds: number;
  slowlog: SlowlogEntry[];
  checks: Check[];
  what: { holds: number; children: number; foregroundTrees: number; foregroundConcurrency: number };
}

export function renderReport(input: ReportInput): string {
  const { E, load, checks } = input;
  const result = input.spender;
  const [idleStart, idleEnd] = input.idle;
  const [loadedStart, loadedEnd] = input.loaded;
  const serverWindows = input.server;
  const spenderWindows = input.spenderLoop;
  const redisCpu = input.redisCpuSeconds;
  const { holds, children, foregroundTrees, foregroundConcurrency } = input.what;
  const n = (x: number) => x.toLocaleString("en-US");
  const idle = result.samples.filter((s) => s.phase === "idle");
  const loaded = result.samples.filter((s) => s.phase === "loaded");
  const idleMax = Math.max(...idle.map((s) => s.ms));
  const goal = Math.max(50, 2 * idleMax);
  const loadedMax = Math.max(...loaded.map((s) => s.ms));
  const loopMax = (w: ProbeWindow[], from: number, to: number) =>
    Math.max(0, ...w.filter((x) => x.t > from && x.t - 250 < to).map((x) => x.maxMs));
  const serverCpu = (from: number, to: number) =>
    serverWindows.filter((x) => x.t > from && x.t <= to).reduce((sum, x) => sum + x.cpuMs, 0) /
    (to - from);

  const out: string[] = [
    "",
    "### B's spends (1 credit, one in flight, unary Spend through the server)",
    "",
  ];
  out.push(
    "| phase | spends | p50 ms | p99 ms | max ms | errors | server loop max ms | server CPU | B's own loop max ms | Redis PING p99 / max ms |",
  );
  out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, rows, from, to] of [
    ["idle", idle, idleStart, idleEnd],
    ["loaded (E-1 s until A is done)", loaded, loadedStart, loadedEnd],
  ] as const) {
    const sorted = Float64Array.from(rows.filter((s) => s.ok).map((s) => s.ms)).sort();
    const pings = Float64Array.from(
      result.pings.filter((p) => p.phase === rows[0]?.phase).map((p) => p.ms),
    ).sort();
    out.push(
      `| ${name} | ${sorted.length} | ${ms(quantile(sorted, 0.5))} | ${ms(quantile(sorted, 0.99))} | ${ms(sorted[sorted.length - 1] ?? Number.NaN)} | ${rows.length - sorted.length} | ${ms(loopMax(serverWindows, from, to))} | ${pct(serverCpu(from, to))} | ${ms(loopMax(spenderWindows, from, to))} | ${ms(quantile(pings, 0.99))} / ${ms(pings[pings.length - 1] ?? Number.NaN)} |`,
    );
  }
  out.push(
    "",
    `Goal: every loaded spend <= max(50 ms, 2 x idle max ${ms(idleMax)} ms) = ${ms(goal)} ms. ` +
      `Loaded max ${ms(loadedMax)} ms, p99 ${ms(quantile(Float64Array.from(loaded.map((s) => s.ms)).sort(), 0.99))} ms, ` +
      `${loaded.filter((s) => s.ms > goal).length} of ${loaded.length} over: ${loadedMax <= goal ? "PASS" : "MISS"}`,
    "",
    "B's slowest loaded spends: start relative to E, the server's longest event-loop delay in the",
    "250 ms windows the spend overlapped, and the slowest Redis PING (own connection) that overlapped it:",
    "",
    "| start | ms | server loop max ms | overlapping PING max ms |",
    "| ---: | ---: | ---: | ---: |",
  );
  for (const s of [...loaded].sort((x, y) => y.ms - x.ms).slice(0, 8)) {
    const overlapping = result.pings.filter(
      (p) => p.atMs < s.atMs + s.ms && p.atMs + p.ms > s.atMs,
    );
    out.push(
      `| ${offset(s.atMs - E)} | ${ms(s.ms)} | ${ms(loopMax(serverWindows, s.atMs, s.atMs + s.ms))} | ${ms(max(overlapping.map((p) => p.ms)))} |`,
    );
  }

  const gw = Float64Array.from(load.getWalletMs).sort();
  out.push("", "### A's work (informative)", "", "| what | time |", "| --- | ---: |");
  out.push(
    `| ${n(holds)} hold expiries worked off by sweeper + foreground (E until no open hold) | ${secs(load.drainedAtMs - E)} |`,
    `| GetWallet on each of ${foregroundTrees} hold trees, ${foregroundConcurrency} at a time from E (min / p50 / max) | ${secs(gw[0] ?? 0)} / ${secs(quantile(gw, 0.5))} / ${secs(gw[gw.length - 1] ?? 0)} |`,
    `| CloseWallet of the ${n(children)}-child root (started at E${offset(load.closeStartMs - E)}) | ${secs(load.closeMs)} |`,
    `| read passes over the wide tree (GetReceipt + ListChildReceipts + ListWallets) | ${load.readPasses} |`,
    `| GetReceipt / ListChildReceipts page / ListWallets page, max | ${ms(max(load.readMs.getReceipt))} / ${ms(max(load.readMs.childPage))} / ${ms(max(load.readMs.walletPage))} ms |`,
    `| loaded phase / Redis CPU in it | ${secs(loadedEnd - loadedStart)} / ${redisCpu.toFixed(1)} s (${pct((redisCpu * 1000) / (loadedEnd - loadedStart))}) |`,
  );

  out.push("", ...slowlogReport(input.slowlog, E));
  out.push("", "### Correctness", "");
  for (const check of checks)
    out.push(`- ${check.pass ? "PASS" : "FAIL"} correctness: ${check.what}`);
  if (result.errors.length > 0) out.push(`- FAIL B's spends failed: ${result.errors.join("; ")}`);
  return out.join("\n");
}

/** The windows a probe file holds (none when the process never wrote one). */
export function readProbe(file: string): ProbeWindow[] {
  try {
    return readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as ProbeWindow);
  } catch {
    return [];
  }
}

/** SLOWLOG entries by script (EVALSHA's sha or EVAL's body mapped to its file), and the top 10. */
function slowlogReport(entries: SlowlogEntry[], E: number): string[] {
  const names = new Map<string, string>();
  for (const [command, { lua }] of scriptSources()) {
    names.set(createHash("sha1").update(lua).digest("hex"), command.replace("tollgate_v4_", ""));
  }
  const nameOf = (args: string[]) => {
    const [cmd = "", arg = ""] = args;
    if (/^eval(sha)?$/i.test(cmd)) {
      const sha = /^evalsha$/i.test(cmd) ? arg : createHash("sha1").update(arg).digest("hex");
      return names.get(sha) ?? `script ${sha.slice(0, 8)}`;
    }
    return args.slice(0, 2).join(" ");
  };
  const out = [
    `### Redis SLOWLOG: commands over 10 ms from the idle phase on (${entries.length} entries)`,
    "",
  ];
  const byName = new Map<string, number[]>();
  for (const [, , us, args] of entries) {
    const name = nameOf(args);
    byName.set(name, [...(byName.get(name) ?? []), us / 1000]);
  }
  out.push("| script | count > 10 ms | max ms |", "| --- | ---: | ---: |");
  for (const [name, list] of [...byName].sort((x, y) => max(y[1]) - max(x[1]))) {
    out.push(`| ${name} | ${list.length} | ${ms(max(list))} |`);
  }
  if (entries.length === 0) out.push("| (none) | 0 | - |");
  out.push(
    "",
    "Longest 10 (SLOWLOG dates to the second: `at` is that second's start relative to E):",
    "",
    "| at | ms | script | key |",
    "| ---: | ---: | --- | --- |",
  );
  for (const [, at, us, args] of [...entries].sort((x, y) => y[2] - x[2]).slice(0, 10)) {
    out.push(
      `| ${offset(at * 1000 - E)} | ${ms(us / 1000)} | ${nameOf(args)} | ${args[3] ?? ""} |`,
    );
  }
  return out;
}

function max(list: readonly number[]): number {
  return list.length === 0 ? Number.NaN : list.reduce((m, x) => Math.max(m, x), -Infinity);
}
function ms(n: number): string {
  return Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n.toFixed(1)) : "-";
}
function secs(n: number): string {
  return Number.isFinite(n) ? `${(n / 1000).toFixed(2)} s` : "-";
}
function pct(fraction: number): string {
  return Number.isFinite(fraction) ? `${Math.round(fraction * 100)}%` : "-";
}
function offset(n: number): string {
  return `${n < 0 ? "-" : "+"}${(Math.abs(n) / 1000).toFixed(2)} s`;
}
