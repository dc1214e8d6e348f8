import { invalidArgument } from "./errors/invalid-argument-error.js";

/**
 * Credits: a non-negative safe integer `number`, or a `bigint`. Results are always `bigint`, so
 * figures past 2^53 - 1 can never be silently rounded; the server refuses any amount or balance
 * past 2^53 - 1 (Redis Lua numbers are doubles), and so does the client, before any RPC.
 */
export type Amount = number | bigint;

/** The largest amount the ledger accepts: 2^53 - 1. */
const maxCredits = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * `value` as int64 credits, or an {@link InvalidArgumentError} naming `field` (snake_case, as the
 * server names fields): fractions, negatives, NaN, infinities and unsafe integers are refused
 * rather than rounded, since a rounded amount is a different charge. The ranges the server
 * applies on top (a spend of at least 1, say) stay the server's to check.
 */
export function toCredits(field: string, value: Amount): bigint {
  if (typeof value === "bigint") {
    if (value < 0n) throw invalidArgument(field, `must not be negative, got ${value}`);
    if (value > maxCredits) throw invalidArgument(field, `must be at most 2^53-1, got ${value}`);
    return value;
  }
  if (typeof value !== "number") {
    throw invalidArgument(field, `must be a number or a bigint, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(value)) {
    throw invalidArgument(
      field,
      `must be a safe integer (no fractions, NaN or 2^53+), got ${value}`,
    );
  }
  if (value < 0) throw invalidArgument(field, `must not be negative, got ${value}`);
  return BigInt(value);
}

/**
 * An optional int32 count (page size, TTL) as the request wants it: undefined becomes 0 (the
 * server's default), anything else must be a non-negative safe integer, because ts-proto would
 * otherwise truncate a fraction without a word. The server checks the upper bound.
 */
export function toCount(field: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(field, `must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
