/** Throughput and latency of one measured run. */
export interface RunStats {
  /** Operations completed inside the measured window. */
  ops: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Operations that failed inside the measured window (they are not in the latencies). */
  errors: number;
}

/**
 * The `q` quantile (0..1) of ascending `sorted` values, nearest-rank: the smallest value with at
 * least `q` of the values at or below it, so p99 of 100 values is the 99th, never an interpolation
 * between two that did not happen. NaN when there are no values.
 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1] as number;
}

/** Stats of latencies (ms, any order) measured over `windowMs`. */
export function summarize(latenciesMs: readonly number[], windowMs: number, errors = 0): RunStats {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    ops: sorted.length,
    opsPerSec: windowMs > 0 ? (sorted.length * 1000) / windowMs : Number.NaN,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    errors,
  };
}
