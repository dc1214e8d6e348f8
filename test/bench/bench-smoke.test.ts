import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { defaultScenarios } from "../../bench/default-scenarios.js";
import { issueTargets } from "../../bench/issue-targets.js";
import { keyShape } from "../../bench/lines.js";
import { parseRedisSample } from "../../bench/redis-stats.js";
import { renderReport } from "../../bench/report.js";
import { runBench } from "../../bench/run-bench.js";
import { quantile, summarize } from "../../bench/stats.js";
import {
  deleteBenchKeys,
  newTargetSettings,
  startTargets,
  type Targets,
} from "../../bench/targets.js";

describe("bench stats", () => {
  it("takes nearest-rank quantiles", () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.99)).toBe(99);
    expect(quantile(sorted, 1)).toBe(100);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
    expect(summarize([3, 1, 2, 4], 2000)).toEqual({
      ops: 4,
      opsPerSec: 2,
      p50Ms: 2,
      p99Ms: 4,
      errors: 0,
    });
  });

  it("reads Redis's CPU and script counters", () => {
    const sample = parseRedisSample(
      "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250000\r\nused_cpu_sys_children:9.0\r\n",
      [
        "# Commandstats",
        "cmdstat_evalsha:calls=10,usec=500,usec_per_call=50.00,rejected_calls=0,failed_calls=0",
        "cmdstat_eval:calls=2,usec=100,usec_per_call=50.00,rejected_calls=0,failed_calls=0",
        "cmdstat_fcall_ro:calls=1,usec=7,usec_per_call=7.00,rejected_calls=0,failed_calls=0",
        "cmdstat_get:calls=99,usec=99,usec_per_call=1.00,rejected_calls=0,failed_calls=0",
      ].join("\r\n"),
    );
    expect(sample).toEqual({
      cpuMicros: 3_750_000,
      scriptCalls: 13,
      scriptUsec: 607,
      evalshaCalls: 10,
    });
  });

  it("groups keys by shape, ids replaced", () => {
    const root = "w_0123456789abcdef01234567";
    expect(keyShape(`{${root}}:idem:1a2b3c4d-123`)).toBe("{…}:idem:<id>");
    expect(keyShape(`{${root}}:w:${root}.w12:lines`)).toBe("{…}:w:<id>:lines");
    expect(keyShape(`{${root}}:lines`)).toBe("{…}:lines");
    expect(keyShape("p:{bench}:roots")).toBe("p:{…}:roots");
  });
});

// Keeps the bench from rotting: every scenario runs briefly against the real servers on Redis,
// and each one's wallet must show exactly one credit per successful spend.
describe("bench smoke run", () => {
  const settings = newTargetSettings(inject("redisUrl"));
  let targets: Targets | undefined;

  beforeAll(async () => {
    targets = await startTargets(settings);
  });
  afterAll(async () => {
    await targets?.close();
    await deleteBenchKeys(settings.redisUrl, settings.keyPrefix);
  });

  it("runs every scenario, checks balances, and reports ratios and targets", async () => {
    const running = targets as Targets;
    const rows = await runBench(
      { settings, echoAddress: running.echoAddress, tollgateAddress: running.tollgateAddress },
      { scenarios: defaultScenarios, concurrencies: [4], warmupMs: 50, durationMs: 300, rounds: 1 },
    );
    expect(rows.map((r) => r.scenario.name)).toEqual(defaultScenarios.map((s) => s.name));
    for (const row of rows) {
      expect(row.problems, row.scenario.name).toEqual([]);
      expect(row.stats.errors).toBe(0);
      expect(row.stats.ops).toBeGreaterThan(0);
      expect(row.stats.p50Ms).toBeLessThanOrEqual(row.stats.p99Ms);
      expect(row.roundOpsPerSec).toHaveLength(1);
    }
    const report = renderReport(rows, { header: "Run header", redisNote: "", lines: "skipped" });
    expect(report).toContain("### 4 calls in flight");
    expect(report).toContain("| echo unary (floor) |");
    expect(report).toContain("### Issue 11 targets");
    // Issue 11 checks 16 and 64 in flight, which this run leaves out.
    expect(issueTargets(rows, "skipped").map((t) => t.result)).toEqual(
      Array.from({ length: 20 }, () => "NOT RUN"),
    );
    expect(report).not.toContain("### Problems");

    // Every key the run wrote is under the bench's prefix and goes with it.
    await running.close();
    targets = undefined;
    expect(await deleteBenchKeys(settings.redisUrl, settings.keyPrefix)).toBeGreaterThan(0);
    expect(await deleteBenchKeys(settings.redisUrl, settings.keyPrefix)).toBe(0);
  });
});

// `npm run bench` itself, short: every issue #11 target gets a figure and a PASS or MISS (never
// asserted to pass: the figures are the machine's), the memory phase runs on its own redis-server.
describe("npm run bench, short", () => {
  it("prints the issue 11 targets table with a figure and a result in every row", async () => {
    const main = fileURLToPath(new URL("../../bench/main.ts", import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        main,
        ...["--duration-ms", "300", "--warmup-ms", "100", "--concurrency", "16,64"],
        ...["--rounds", "1", "--lines", "2000"],
      ],
      {
        env: { ...process.env, REDIS_URL: inject("redisUrl") },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 150_000,
      },
    );
    expect(stdout).toContain("### 16 calls in flight");
    expect(stdout).toContain("### 64 calls in flight");
    expect(stdout).toContain("### Redis per spend");
    expect(stdout).toContain("### Watchers");
    expect(stdout).toMatch(/### Receipt lines: one root wallet filled to 2,000 lines/);
    expect(stdout).not.toContain("### Problems");
    expect(stdout).not.toContain("Problem:");

    const table = stdout.slice(stdout.indexOf("### Issue 11 targets"));
    expect(table).toMatch(
      /^Run \d{4}-\d\d-\d\d \d\d:\d\d UTC on .+, \d+ cores, [\d.]+ GiB; Node v\d+\.\d+\.\d+; Redis \d+\.\d+/m,
    );
    const rows = table
      .split("\n")
      .filter((line) => /^\| \d[a-z]?\. /.test(line))
      .map((line) => line.split(" | "));
    // 1b and 2b: the same checks on a spend outside the catalog (an Ed25519 credential).
    expect(rows.map((cells) => /^\| (\d[a-z]?)\./.exec(cells[0] ?? "")?.[1])).toEqual(
      "1 1 1b 1b 2 2 2b 2b 2 2 2b 2b 3 3 4 5 5 5 6 6".split(" "),
    );
    for (const [target, measured, bound, result] of rows) {
      expect(measured, target).toMatch(/^[\d,]+(\.\d+)?(x| µs| B)? \(/);
      expect(bound, target).toMatch(/^(<=|>=|=) [\d.]+/);
      expect(result, target).toMatch(/^(PASS|MISS) \|$/);
    }
  }, 180_000);
});
