import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { defaultScenarios } from "../../bench/default-scenarios.js";
import { renderReport, targetChecks } from "../../bench/report.js";
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
    expect(targetChecks(rows).map((c) => c.what)).toEqual([
      "unary Spend (generated stub) ops/s vs echo unary",
      "unary Spend (generated stub) p99 vs echo unary p99",
      "streaming spends (generated stub) ops/s vs unary Spend (generated stub)",
      "unary Spend (typed client) ops/s vs echo unary",
      "unary Spend (typed client) p99 vs echo unary p99",
      "streaming spends (typed client) ops/s vs unary Spend (typed client)",
    ]);
    const report = renderReport(rows);
    expect(report).toContain("### 4 calls in flight");
    expect(report).toContain("| echo unary (floor) |");
    expect(report.match(/\| (PASS|MISS) \|$/gm)).toHaveLength(6);
    expect(report).not.toContain("### Problems");

    // Every key the run wrote is under the bench's prefix and goes with it.
    await running.close();
    targets = undefined;
    expect(await deleteBenchKeys(settings.redisUrl, settings.keyPrefix)).toBeGreaterThan(0);
    expect(await deleteBenchKeys(settings.redisUrl, settings.keyPrefix)).toBe(0);
  });
});
