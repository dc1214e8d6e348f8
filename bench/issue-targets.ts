import type { LinesResult } from "./lines.js";
import type { RowResult } from "./run-bench.js";

/**
 * Issue #11's targets, each checked on figures of one run. "echo" is the bare grpc-js echo floor,
 * "unary Spend" and "streaming spends" the generated-stub rows (the typed-client rows are shown in
 * the tables but not checked), "raw script" the spend script called straight from the bench.
 */
export interface IssueTarget {
  target: string;
  /** The figure, with what it was computed from. */
  measured: string;
  bound: string;
  /** NOT RUN when the run did not measure it (a concurrency or phase left out, --in-process). */
  result: "PASS" | "MISS" | "NOT RUN";
}

/** The concurrencies targets 1, 2 and 6 are checked at. */
export const checkedConcurrencies = [16, 64] as const;

/** The bounds, as the issue states them. */
export const bounds = {
  serverCpuVsEcho: 1.6,
  opsVsEcho: 0.65,
  p99VsEcho: 1.5,
  streamingVsRaw: 0.45,
  streamingVsUnary: 2.5,
  redisCpuUsPerSpend: 50,
  bytesPerLine: 400,
  p50Flat: 1.25,
  p99Flat: 1.5,
} as const;

/** What the lines phase reports when it was skipped (`--lines 0`). */
export type LinesOutcome = LinesResult | "skipped";

export function issueTargets(rows: readonly RowResult[], lines: LinesOutcome): IssueTarget[] {
  const out: IssueTarget[] = [];
  const at = (c: number) => {
    const here = rows.filter((r) => r.concurrency === c);
    return {
      echo: here.find((r) => r.scenario.isFloor && r.scenario.floor === "echo unary"),
      unary: here.find(
        (r) => r.scenario.role === "unary spend" && r.scenario.client === "generated stub",
      ),
      thirdParty: here.find((r) => r.scenario.role === "third-party unary spend"),
      streaming: here.find(
        (r) => r.scenario.role === "streaming spends" && r.scenario.client === "generated stub",
      ),
      raw: here.find((r) => r.scenario.role === "raw script"),
    };
  };
  const notRun = (target: string, bound: string, why: string): IssueTarget => ({
    target,
    measured: why,
    bound,
    result: "NOT RUN",
  });
  const judged = (
    target: string,
    value: number,
    measured: string,
    bound: number,
    atLeast: boolean,
    boundText: string,
  ): IssueTarget => ({
    target,
    measured,
    bound: boundText,
    result: !Number.isFinite(value)
      ? "MISS"
      : (atLeast ? value >= bound : value <= bound)
        ? "PASS"
        : "MISS",
  });

  // Targets 1 and 2 on the catalog service's spend (the gateway's MAC credential), then on a
  // spend outside the catalog (Ed25519), shown as 1b and 2b.
  const unaryRows = [
    { label: "", what: "unary Spend", pick: "unary" },
    { label: "b", what: "unary Spend outside the catalog (Ed25519)", pick: "thirdParty" },
  ] as const;
  for (const { label, what, pick } of unaryRows)
    for (const c of checkedConcurrencies) {
      const target = `1${label}. server CPU per ${what} vs echo unary, ${c} in flight`;
      const bound = `<= ${bounds.serverCpuVsEcho}x`;
      const { echo, [pick]: unary } = at(c);
      if (echo === undefined || unary === undefined) {
        out.push(notRun(target, bound, `${c} in flight not run`));
      } else if (echo.serverCpuUsPerOp === undefined || unary.serverCpuUsPerOp === undefined) {
        out.push(notRun(target, bound, "not measured (servers in the bench process)"));
      } else {
        const r = unary.serverCpuUsPerOp / echo.serverCpuUsPerOp;
        out.push(
          judged(
            target,
            r,
            `${x(r)} (${int(unary.serverCpuUsPerOp)} vs ${int(echo.serverCpuUsPerOp)} µs/op)`,
            bounds.serverCpuVsEcho,
            false,
            bound,
          ),
        );
      }
    }
  for (const { label, what, pick } of unaryRows)
    for (const c of checkedConcurrencies) {
      const target = `2${label}. ${what} ops/s vs echo unary, ${c} in flight`;
      const bound = `>= ${bounds.opsVsEcho}x`;
      const { echo, [pick]: unary } = at(c);
      if (echo === undefined || unary === undefined) {
        out.push(notRun(target, bound, `${c} in flight not run`));
        continue;
      }
      const r = unary.stats.opsPerSec / echo.stats.opsPerSec;
      out.push(
        judged(
          target,
          r,
          `${x(r)} (${int(unary.stats.opsPerSec)} vs ${int(echo.stats.opsPerSec)}/s)`,
          bounds.opsVsEcho,
          true,
          bound,
        ),
      );
    }
  for (const { label, what, pick } of unaryRows)
    for (const c of checkedConcurrencies) {
      const target = `2${label}. ${what} p99 vs echo unary p99, ${c} in flight`;
      const bound = `<= ${bounds.p99VsEcho}x`;
      const { echo, [pick]: unary } = at(c);
      if (echo === undefined || unary === undefined) {
        out.push(notRun(target, bound, `${c} in flight not run`));
        continue;
      }
      const r = unary.stats.p99Ms / echo.stats.p99Ms;
      out.push(
        judged(
          target,
          r,
          `${x(r)} (${ms(unary.stats.p99Ms)} vs ${ms(echo.stats.p99Ms)} ms)`,
          bounds.p99VsEcho,
          false,
          bound,
        ),
      );
    }

  // 3: checked at 64, 16 shown beside it.
  const streamingRatio = (c: number, over: "raw" | "unary") => {
    const row = at(c);
    const base = over === "raw" ? row.raw : row.unary;
    return row.streaming === undefined || base === undefined
      ? undefined
      : { r: row.streaming.stats.opsPerSec / base.stats.opsPerSec, row: row.streaming, base };
  };
  for (const [over, bound, label] of [
    ["raw", bounds.streamingVsRaw, "raw spend script"],
    ["unary", bounds.streamingVsUnary, "unary Spend"],
  ] as const) {
    const target = `3. streaming spends ops/s vs ${label}, 64 in flight`;
    const boundText = `>= ${bound}x`;
    const at64 = streamingRatio(64, over);
    const at16 = streamingRatio(16, over);
    if (at64 === undefined) {
      out.push(notRun(target, boundText, "64 in flight not run"));
      continue;
    }
    const shown16 = at16 === undefined ? "" : `; 16 in flight: ${x(at16.r)}`;
    out.push(
      judged(
        target,
        at64.r,
        `${x(at64.r)} (${int(at64.row.stats.opsPerSec)} vs ${int(at64.base.stats.opsPerSec)}/s${shown16})`,
        bound,
        true,
        boundText,
      ),
    );
  }

  {
    const target = "4. Redis CPU per unary Spend (root wallet), 16 in flight";
    const bound = `<= ${bounds.redisCpuUsPerSpend} µs`;
    const { unary } = at(16);
    if (unary === undefined) out.push(notRun(target, bound, "16 in flight not run"));
    else if (unary.redis === undefined || unary.completed === 0)
      out.push(notRun(target, bound, "not measured"));
    else {
      const us = unary.redis.cpuMicros / unary.completed;
      out.push(
        judged(
          target,
          us,
          `${int(us)} µs (${int(unary.redis.cpuMicros / 1000)} ms / ${int(unary.completed)} spends)`,
          bounds.redisCpuUsPerSpend,
          false,
          bound,
        ),
      );
    }
  }

  if (lines === "skipped") {
    out.push(
      notRun("5. Redis memory per receipt line", `<= ${bounds.bytesPerLine} B`, "--lines 0"),
    );
    out.push(
      notRun("5. spend p50 after the fill vs before", `<= ${bounds.p50Flat}x`, "--lines 0"),
      notRun("5. spend p99 after the fill vs before", `<= ${bounds.p99Flat}x`, "--lines 0"),
    );
  } else {
    const n = int(lines.lines);
    out.push(
      judged(
        `5. Redis memory per receipt line at ${n} lines`,
        lines.bytesPerLine,
        `${int(lines.bytesPerLine)} B (used_memory +${mib(lines.memoryDelta)})`,
        bounds.bytesPerLine,
        false,
        `<= ${bounds.bytesPerLine} B`,
      ),
    );
    const p50 = lines.after.p50Ms / lines.before.p50Ms;
    const p99 = lines.after.p99Ms / lines.before.p99Ms;
    out.push(
      judged(
        `5. spend p50 at ${n} lines vs empty wallet (1 in flight)`,
        p50,
        `${x(p50)} (${ms(lines.after.p50Ms)} vs ${ms(lines.before.p50Ms)} ms)`,
        bounds.p50Flat,
        false,
        `<= ${bounds.p50Flat}x`,
      ),
      judged(
        `5. spend p99 at ${n} lines vs empty wallet (1 in flight)`,
        p99,
        `${x(p99)} (${ms(lines.after.p99Ms)} vs ${ms(lines.before.p99Ms)} ms)`,
        bounds.p99Flat,
        false,
        `<= ${bounds.p99Flat}x`,
      ),
    );
  }

  for (const c of checkedConcurrencies) {
    // One round trip per unary spend at most: spends of one tree in one turn share theirs
    // (spend-batch), so under load this falls well below 1; never above (the sweeper's own
    // calls, about one a second, are counted too).
    const target = `6. Redis script calls per unary Spend, ${c} in flight`;
    const bound = "<= 1.00";
    const { unary } = at(c);
    if (unary === undefined) out.push(notRun(target, bound, `${c} in flight not run`));
    else if (unary.redis === undefined || unary.completed === 0)
      out.push(notRun(target, bound, "not measured"));
    else {
      const perSpend = unary.redis.scriptCalls / unary.completed;
      out.push({
        target,
        measured: `${perSpend.toFixed(2)} (${int(unary.redis.scriptCalls)} calls / ${int(unary.completed)} spends)`,
        bound,
        result: Number(perSpend.toFixed(2)) <= 1 ? "PASS" : "MISS",
      });
    }
  }
  return out;
}

/** The targets as a markdown table under its heading and `header` line. */
export function renderIssueTargets(header: string, targets: readonly IssueTarget[]): string[] {
  return [
    "### Issue 11 targets",
    "",
    header,
    "",
    "| target | measured | bound | result |",
    "| --- | --- | --- | --- |",
    ...targets.map((t) => `| ${t.target} | ${t.measured} | ${t.bound} | ${t.result} |`),
  ];
}

export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-";
}

export function ms(n: number): string {
  if (!Number.isFinite(n)) return "-";
  return n < 10 ? n.toFixed(2) : n.toFixed(1);
}

function x(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : "-";
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
