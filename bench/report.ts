import {
  bounds,
  int,
  issueTargets,
  type LinesOutcome,
  mib,
  ms,
  renderIssueTargets,
} from "./issue-targets.js";
import type { RowResult } from "./run-bench.js";
import { summarize } from "./stats.js";

/** What the report says besides the rows. */
export interface ReportContext {
  /** The run's date, machine, Node and Redis versions: the targets table's header line. */
  header: string;
  /** Where the Redis figures come from (a private redis-server, or a shared one). */
  redisNote: string;
  /** The memory phase's result, or "skipped" (`--lines 0`). */
  lines: LinesOutcome;
}

/**
 * The report: a markdown table per concurrency, what Redis spent per spend, the watchers, the
 * memory phase, then issue #11's targets as PASS or MISS, then any problems.
 */
export function renderReport(rows: readonly RowResult[], context: ReportContext): string {
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
  );
  out.push(...redisSection(rows, context.redisNote));
  out.push(...watcherSection(rows));
  out.push(...linesSection(context.lines));
  out.push("", ...renderIssueTargets(context.header, issueTargets(rows, context.lines)));
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

function ratio(value: number, floor: number | undefined): string {
  if (floor === undefined || !Number.isFinite(value) || !Number.isFinite(floor) || floor === 0)
    return "-";
  return `${(value / floor).toFixed(2)}x`;
}

/**
 * Issue #11's Redis figures for the rows that spend (unary, streaming, raw script): the
 * redis-server process's CPU per successful spend, the time inside scripts per call and per spend,
 * and how many script calls a spend took (all `eval*`/`fcall*` commands; and EVALSHA alone).
 */
function redisSection(rows: readonly RowResult[], note: string): string[] {
  const spending = rows.filter(
    (r) =>
      r.redis !== undefined &&
      r.completed > 0 &&
      (r.scenario.role === "unary spend" ||
        r.scenario.role === "third-party unary spend" ||
        r.scenario.role === "streaming spends" ||
        r.scenario.role === "raw script"),
  );
  if (spending.length === 0) return [];
  const out = [
    "",
    "### Redis per spend",
    "",
    "| in flight | row | Redis CPU µs/spend | script µs/call | script µs/spend | Redis script calls per spend | EVALSHA per spend |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of spending) {
    const redis = row.redis as NonNullable<RowResult["redis"]>;
    const per = (n: number) => n / row.completed;
    out.push(
      `| ${row.concurrency} | ${row.scenario.name} | ${int(per(redis.cpuMicros))} | ` +
        `${redis.scriptCalls > 0 ? int(redis.scriptUsec / redis.scriptCalls) : "-"} | ${int(per(redis.scriptUsec))} | ` +
        `${per(redis.scriptCalls).toFixed(2)} | ${per(redis.evalshaCalls).toFixed(2)} |`,
    );
  }
  out.push(
    "",
    "Deltas of `INFO cpu` (used_cpu_user + used_cpu_sys: the redis-server process) and `INFO",
    "commandstats` (every `eval*` and `fcall*` command) around each run, warm-up included, over",
    "its successful spends; every spend is on a root wallet (depth 1). The server's sweeper adds",
    `about one script call a second. ${note}`,
  );
  return out;
}

/** The memory phase: memory per receipt line, where it went, and spend latency before and after. */
function linesSection(lines: LinesOutcome): string[] {
  if (lines === "skipped") return ["", "### Receipt lines", "", "Skipped (`--lines 0`)."];
  const n = lines.lines;
  const out = [
    "",
    `### Receipt lines: one root wallet filled to ${int(n)} lines`,
    "",
    `On a private redis-server: used_memory grew ${mib(lines.memoryDelta)} from the empty Redis to`,
    `${int(n)} lines, **${int(lines.bytesPerLine)} B per line**. The fill (${int(lines.fillSpends)} spends,`,
    `many in flight, pipelined) took ${lines.fillSeconds.toFixed(0)} s, ${int(lines.fillSpends / lines.fillSeconds)} spends/s, ` +
      `Redis CPU ${int(lines.fillRedisCpuUsPerSpend)} µs per spend.`,
    "",
    "| keys (ids replaced) | keys | MB (est.) | B per line |",
    "| --- | ---: | ---: | ---: |",
  ];
  let grouped = 0;
  for (const group of lines.groups) {
    grouped += group.bytes;
    out.push(
      `| \`${group.pattern}\` | ${int(group.keys)} | ${(group.bytes / 1e6).toFixed(1)} | ${int(group.bytes / n)} |`,
    );
  }
  const rest = lines.memoryDelta - grouped;
  out.push(
    `| rest of used_memory (keyspace and expiry tables, buffers) | | ${(rest / 1e6).toFixed(1)} | ${int(rest / n)} |`,
    "",
    "Each group's bytes are `MEMORY USAGE key SAMPLES 0` averaged over up to 200 of its keys, times",
    "its key count. Idempotency records are kept 24 h, so they count.",
    "",
    "| spend latency, 1 in flight | at lines | spends | p50 ms | p99 ms | script µs/call |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    `| empty wallet | ${int(lines.before.atLines)} | ${int(lines.before.spends)} | ${ms(lines.before.p50Ms)} | ${ms(lines.before.p99Ms)} | ${int(lines.before.scriptUsPerCall)} |`,
    `| after the fill | ${int(lines.after.atLines)} | ${int(lines.after.spends)} | ${ms(lines.after.p50Ms)} | ${ms(lines.after.p99Ms)} | ${int(lines.after.scriptUsPerCall)} |`,
    "",
    `Flat means p50 after <= ${bounds.p50Flat}x p50 before and p99 after <= ${bounds.p99Flat}x p99 before,`,
    "each from its spends timed one at a time straight on the store (no gRPC), all on the same wallet.",
  );
  for (const problem of lines.problems) out.push("", `Problem: ${problem}`);
  return out;
}
