import { LedgerError } from "../../server/ledger/ledger-error.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { aroundStoreMethod } from "../support/store-proxy.js";

/** A store operation a fault can hit. */
export type FaultedOperation = "authorize" | "capture" | "spend" | "void";

/** Calls of the faulted operation the inner store has seen, answered or not. */
export interface FaultWatch {
  calls: number;
}

/**
 * The store whose first `failures` calls of `operation` fail STORE_UNAVAILABLE (the server
 * answers UNAVAILABLE, which the client retries under the same request id). `applied`: each call
 * runs (and commits) before it fails, an answer lost after the work was done; otherwise it fails
 * without running, an unreachable store.
 */
export function failing(
  inner: LedgerStore,
  operation: FaultedOperation,
  failures: number,
  applied: boolean,
): { store: LedgerStore; watch: FaultWatch } {
  const watch: FaultWatch = { calls: 0 };
  type Call = (...args: unknown[]) => Promise<unknown>;
  // One wrapper for whichever operation: the union of their signatures cannot be followed.
  const around = async (original: Call, ...args: unknown[]) => {
    watch.calls += 1;
    if (watch.calls > failures) return original(...args);
    if (applied) await original(...args);
    throw new LedgerError("STORE_UNAVAILABLE", `${operation} unanswered (test)`);
  };
  return { store: aroundStoreMethod(inner, operation, around as never), watch };
}
