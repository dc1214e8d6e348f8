import { performance } from "node:perf_hooks";
import { type RunStats, summarize } from "./stats.js";

/** How one closed-loop run is shaped. */
export interface LoadOptions {
  /** Operations kept in flight: each finished one is replaced at once by the next. */
  concurrency: number;
  /** Run, unmeasured, this long first: JIT, connection setup and Redis script cache warm up. */
  warmupMs: number;
  /** Then measure this long. */
  durationMs: number;
}

/** A run's stats, plus everything it did (warm-up included), so callers can check balances. */
export interface LoadResult extends RunStats {
  /** Operations that succeeded over the whole run, warm-up included. */
  completedTotal: number;
  /** The first failure seen, to show why a row has errors. */
  firstError: unknown;
  /** Latencies of the measured completions, ms, in completion order (for pooling runs). */
  latenciesMs: number[];
  /** The measured window, ms. */
  windowMs: number;
}

/**
 * Closed loop: `concurrency` workers each await `op()` and start the next at once, so exactly that
 * many calls are in flight, as agents waiting on their spends would keep them. Completions inside
 * the measured window are counted and their latencies recorded; calls in flight when it closes
 * are awaited (so nothing is left running) but not counted.
 */
export async function runClosedLoop(
  op: () => Promise<unknown>,
  options: LoadOptions,
): Promise<LoadResult> {
  const latenciesMs: number[] = [];
  let measuring = false;
  let stopping = false;
  let errors = 0;
  let completedTotal = 0;
  let firstError: unknown;
  const worker = async () => {
    while (!stopping) {
      const startedMs = performance.now();
      try {
        await op();
        completedTotal += 1;
        if (measuring) latenciesMs.push(performance.now() - startedMs);
      } catch (error) {
        firstError ??= error;
        if (measuring) errors += 1;
      }
    }
  };
  const workers = Array.from({ length: options.concurrency }, worker);
  await sleep(options.warmupMs);
  measuring = true;
  const windowStartMs = performance.now();
  await sleep(options.durationMs);
  measuring = false;
  const windowMs = performance.now() - windowStartMs;
  stopping = true;
  await Promise.all(workers);
  return {
    ...summarize(latenciesMs, windowMs, errors),
    completedTotal,
    firstError,
    latenciesMs,
    windowMs,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
