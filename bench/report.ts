import type { RowResult } from "./run-bench.js";
import { summarize } from "./stats.js";

/** One of the targets, checked at one concurrency. */
export interface TargetCheck {
  concurrency: number;
  what: string;
  /** The measured ratio. */
  ratio: number;
  /** The bound it must meet. */
  bound: number;
  atLeast: boolean;
  pass: boolean;
}

/**
 * The targets at every concurrency, for each row that has a role: unary spend ops/s at
 * least 0.7x the unary echo's; streaming spends at least 3x unary spend (through the same client);
 * unary spend p99 within 2x the unary echo's p99.
 */
export function targetChecks(rows: readonly RowResult[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const check = (c: number, what: string, ratio: number, bound: number, atLeast: boolean) =>
    checks.push({
      concurrency: c,
      what,
      ratio,
      bound,
      atLeast,
      pass: atLeast ? ratio >= bound : ratio <= bound,
    });
  for (const c of new Set(rows.map((r) => r.concurrency))) {
    const at = rows.filter((r) => r.concurrency === c);
    const echo = at.find((r) => r.scenario.isFloor && r.scenario.floor === "echo unary");
    const unary = at.filter((r) => r.scenario.role === "unary spend");
    const streaming = at.filter((r) => r.scenario.role === "streaming spends");
    for (const u of unary) {
      if (echo !== undefined) {
        check(
          c,
          `${u.scenario.name} ops/s vs echo unary`,
          u.stats.opsPerSec / echo.stats.opsPerSec,
          0.7,
          true,
        );
        check(
          c,
          `${u.scenario.name} p99 vs echo unary p99`,
          u.stats.p99Ms / echo.stats.p99Ms,
          2,
          false,
        );
      }
      for (const s of streaming.filter((r) => r.scenario.client === u.scenario.client)) {
        check(
          c,
          `${s.scenario.name} ops/s vs ${u.scenario.name}`,
          s.stats.opsPerSec / u.stats.opsPerSec,
          3,
          true,
        );
      }
    }
  }
  return checks;
}

/** The report: a markdown table per concurrency, then the target checks, then any problems. */
export function renderReport(rows: readonly RowResult[]): string {
  const out: string[] = [];
  for (const c of new Set(rows.map((r) => r.concurrency))) {
    const at = rows.filter((r) => r.concurrency === c);
    out.push(`### ${c} call${c === 1 ? "" : "s"} in flight`, "");
    out.push(
      "| row | ops/s | p50 ms | p99 ms | ops/s vs its echo | p99 vs its echo p99 | server CPU µs/op | ops/s per round |",
    );
    out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    for (const row of at) {
      const floor = at.find((r) => r.scenario.isFloor && r.scenario.floor === row.scenario.floor);
      const name = row.scenario.isFloor ? `${row.scenario.name} (floor)` : row.scenario.name;
      out.push(
        `| ${name} | ${int(row.stats.opsPerSec)} | ${ms(row.stats.p50Ms)} | ${ms(row.stats.p99Ms)} | ` +
          `${ratio(row.stats.opsPerSec, floor?.stats.opsPerSec)} | ${ratio(row.stats.p99Ms, floor?.stats.p99Ms)} | ` +
          `${serverCpu(row)} | ${row.roundOpsPerSec.map(int).join(" / ")} |`,
      );
    }
    out.push("");
  }
  out.push(
    "Stream rows are compared with the echo stream, the others with the unary echo. The raw Redis row",
    "runs the spend script from the bench process with no gRPC in front. Server CPU is the servers'",
    "process's CPU time (all threads) per successful call, warm-up included.",
    "",
    "### Targets",
    "",
    "| in flight | check | measured | target | result |",
    "| ---: | --- | ---: | ---: | --- |",
  );
  for (const check of targetChecks(rows)) {
    out.push(
      `| ${check.concurrency} | ${check.what} | ${check.ratio.toFixed(2)}x | ${check.atLeast ? ">=" : "<="} ${check.bound}x | ${check.pass ? "PASS" : "MISS"} |`,
    );
  }
  out.push(...watcherSection(rows));
  const problems = rows.flatMap((r) =>
    r.problems.map((p) => `- ${r.concurrency} in flight, ${r.scenario.name}: ${p}`),
  );
  if (problems.length > 0) out.push("", "### Problems", "", ...problems);
  return out.join("\n");
}

/**
 * The events issue's measurement: spends/s with 0, 1 and 10 watchers on the spent wallet, the
 * cost of the watchers against the 0-watcher row of the same run (goal: 10 watchers under 10%),
 * commit-to-watcher latency, and Redis script calls per spend (one: no extra round trip).
 */
function watcherSection(rows: readonly RowResult[]): string[] {
  const out: string[] = [];
  for (const c of new Set(rows.map((r) => r.concurrency))) {
    const watched = rows.filter((r) => r.concurrency === c && r.scenario.role === "watched spends");
    const none = watched.find((r) => r.scenario.watchers === 0);
    if (watched.length === 0 || none === undefined) continue;
    if (out.length === 0) {
      out.push("", "### Watchers", "");
      out.push(
        "| in flight | watchers | spends/s | vs 0 watchers | commit-to-watcher p50 ms | p99 ms | Redis calls per spend | goal |",
      );
      out.push("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    }
    for (const row of watched) {
      const lag = summarize(row.watcherLagMs, 1);
      const cost = row.stats.opsPerSec / none.stats.opsPerSec;
      const calls = row.redisCallsPerSpend;
      const goal =
        row.scenario.watchers === 10
          ? cost >= 0.9
            ? "PASS (cost < 10%)"
            : "MISS (cost >= 10%)"
          : "";
      out.push(
        `| ${c} | ${row.scenario.watchers} | ${int(row.stats.opsPerSec)} | ${cost.toFixed(2)}x | ` +
          `${row.watcherLagMs.length ? ms(lag.p50Ms) : "-"} | ${row.watcherLagMs.length ? ms(lag.p99Ms) : "-"} | ` +
          `${row.scenario.watchers === 0 && calls.length ? (calls.reduce((a, b) => a + b, 0) / calls.length).toFixed(2) : "-"} | ${goal} |`,
      );
    }
  }
  if (out.length > 0) {
    out.push(
      "",
      "Watchers run in the bench process beside the load, as monitors would. Redis calls per spend",
      "is EVALSHA calls over successful spends with no watcher (with watchers, their reads add",
      "their own). Latency is from an event's commit time to its arrival at a watcher.",
    );
  }
  return out;
}

function serverCpu(row: RowResult): string {
  return row.scenario.usesServers && row.serverCpuUsPerOp !== undefined
    ? int(row.serverCpuUsPerOp)
    : "-";
}

function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-";
}

function ms(n: number): string {
  if (!Number.isFinite(n)) return "-";
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

function ratio(value: number, floor: number | undefined): string {
  if (floor === undefined || !Number.isFinite(value) || !Number.isFinite(floor) || floor === 0)
    return "-";
  return `${(value / floor).toFixed(2)}x`;
}
