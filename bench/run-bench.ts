import type { LoadResult } from "./load.js";
import { runClosedLoop } from "./load.js";
import { type RedisSample, redisDelta } from "./redis-stats.js";
import type { Scenario, ScenarioContext } from "./scenarios.js";
import { type RunStats, summarize } from "./stats.js";

/** What one bench run measures. */
export interface BenchOptions {
  scenarios: readonly Scenario[];
  /** Calls in flight, one table each. */
  concurrencies: readonly number[];
  warmupMs: number;
  durationMs: number;
  /**
   * Times each scenario runs per concurrency. Rounds interleave the scenarios (each round in a
   * rotated order), so a burst of noise from a neighbour on a shared machine shows up as spread
   * between one row's rounds instead of silently skewing one row.
   */
  rounds: number;
  /**
   * The servers' CPU time so far, in microseconds, when they run in a process of their own:
   * sampled around each run to report the servers' CPU per call (warm-up included).
   */
  serverCpuMicros?: () => Promise<number>;
  /**
   * Redis's own counters (process CPU, script calls), sampled around each run like
   * `serverCpuMicros`, so each row can tell what Redis spent per successful call.
   */
  redisSample?: () => Promise<RedisSample>;
  /** Told before each run starts (progress on stderr). */
  onRun?(run: { concurrency: number; round: number; scenario: string }): void;
}

/** One row of one table: a scenario at one concurrency, its rounds pooled. */
export interface RowResult {
  scenario: Scenario;
  concurrency: number;
  /** All rounds' latencies and windows pooled. */
  stats: RunStats;
  /** Each round's own ops/s, to show noise. */
  roundOpsPerSec: number[];
  /** Servers' CPU per successful call over all rounds (µs); undefined when not measured. */
  serverCpuUsPerOp: number | undefined;
  /** Successful calls over all rounds, warm-up included (what the CPU figures are divided by). */
  completed: number;
  /** Redis's counters' deltas summed over all rounds (warm-up included); undefined when not sampled. */
  redis: RedisSample | undefined;
  /** Balance mismatches and failures seen, with the first error's message. */
  problems: string[];
  /** Commit-to-watcher latencies of all rounds, ms (watched spends rows). */
  watcherLagMs: number[];
  /** Redis script calls per spend, per round (watched spends rows). */
  redisCallsPerSpend: number[];
}

/** Runs every scenario at every concurrency and returns the rows, grouped by concurrency. */
export async function runBench(
  context: ScenarioContext,
  options: BenchOptions,
): Promise<RowResult[]> {
  const rows: RowResult[] = [];
  for (const concurrency of options.concurrencies) {
    const runs = new Map<Scenario, Runs>(
      options.scenarios.map((s) => [
        s,
        {
          results: [],
          problems: [],
          cpuMicros: 0,
          redis: undefined,
          watcherLagMs: [],
          redisCallsPerSpend: [],
        },
      ]),
    );
    for (let round = 0; round < options.rounds; round += 1) {
      const order = rotate(options.scenarios, round);
      for (const scenario of order) {
        options.onRun?.({ concurrency, round: round + 1, scenario: scenario.name });
        const run = runs.get(scenario) as Runs;
        const session = await scenario.open(context);
        const cpuBefore = await options.serverCpuMicros?.();
        const redisBefore = await options.redisSample?.();
        const result = await runClosedLoop(() => session.op(), {
          concurrency,
          warmupMs: options.warmupMs,
          durationMs: options.durationMs,
        });
        const cpuAfter = await options.serverCpuMicros?.();
        const redisAfter = await options.redisSample?.();
        if (redisBefore !== undefined && redisAfter !== undefined)
          run.redis = addSamples(run.redis, redisDelta(redisBefore, redisAfter));
        if (cpuBefore !== undefined && cpuAfter !== undefined)
          run.cpuMicros += cpuAfter - cpuBefore;
        const problem = await session.close(result.completedTotal);
        const measured = session.measurements?.();
        if (measured?.watcherLagMs) run.watcherLagMs.push(...measured.watcherLagMs);
        if (measured?.redisCallsPerSpend !== undefined)
          run.redisCallsPerSpend.push(measured.redisCallsPerSpend);
        run.results.push(result);
        if (problem !== undefined) run.problems.push(problem);
        if (result.errors > 0 || result.firstError !== undefined) {
          run.problems.push(
            `${result.errors} errors in the window; first: ${describe(result.firstError)}`,
          );
        }
      }
    }
    for (const scenario of options.scenarios) {
      const { results, problems, cpuMicros, redis, watcherLagMs, redisCallsPerSpend } = runs.get(
        scenario,
      ) as Runs;
      const completed = results.reduce((sum, r) => sum + r.completedTotal, 0);
      rows.push({
        scenario,
        concurrency,
        stats: summarize(
          results.flatMap((r) => r.latenciesMs),
          results.reduce((sum, r) => sum + r.windowMs, 0),
          results.reduce((sum, r) => sum + r.errors, 0),
        ),
        roundOpsPerSec: results.map((r) => r.opsPerSec),
        serverCpuUsPerOp:
          options.serverCpuMicros === undefined || completed === 0
            ? undefined
            : cpuMicros / completed,
        completed,
        redis,
        problems,
        watcherLagMs,
        redisCallsPerSpend,
      });
    }
  }
  return rows;
}

interface Runs {
  results: LoadResult[];
  problems: string[];
  cpuMicros: number;
  redis: RedisSample | undefined;
  watcherLagMs: number[];
  redisCallsPerSpend: number[];
}

function addSamples(a: RedisSample | undefined, b: RedisSample): RedisSample {
  if (a === undefined) return b;
  return {
    cpuMicros: a.cpuMicros + b.cpuMicros,
    scriptCalls: a.scriptCalls + b.scriptCalls,
    scriptUsec: a.scriptUsec + b.scriptUsec,
    evalshaCalls: a.evalshaCalls + b.evalshaCalls,
  };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
