import { status } from "@grpc/grpc-js";
import type { RetryOptions } from "./options.js";

/**
 * Codes that say "the answer did not arrive", never "the request is wrong": the only ones worth
 * repeating. Everything else (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, UNAUTHENTICATED,
 * ...) would fail the same way again, so it is never retried.
 */
export function isRetryable(code: number): boolean {
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED;
}

/**
 * Backoff before retry number `retry` (1 for the first retry): exponential with full jitter
 * (uniform in 0..min(max, initial * 2^(retry-1))), so clients that failed together do not come
 * back together.
 */
export function backoffMs(retry: number, policy: Required<RetryOptions>): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (retry - 1));
  return Math.random() * ceiling;
}

/** Waits `ms`; rejects with `signal.reason` as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
