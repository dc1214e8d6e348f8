import type { Breakdown } from "./types.js";

/**
 * The receipt's "other" row: what a breakdown's top rows leave out. Every debit counts under
 * exactly one key of each breakdown, so the rest is the totals minus the top rows, exactly,
 * without reading the keys left out.
 */
export function otherRow(top: readonly Breakdown[], totalCredits: number, callCount: number) {
  let credits = totalCredits;
  let calls = callCount;
  for (const row of top) {
    credits -= row.credits;
    calls -= row.callCount;
  }
  return { key: "", credits, callCount: calls } satisfies Breakdown;
}

/**
 * The receipt's order of breakdown rows: most credits first, ties by key in code point (= UTF-8
 * byte) order, which is the order Redis keeps a sorted set's equal scores in, so both stores
 * rank alike even past the BMP.
 */
export function compareBreakdownRows(a: Breakdown, b: Breakdown): number {
  return b.credits - a.credits || Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
}
