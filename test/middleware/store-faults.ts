import { LedgerError } from "../../server/ledger/ledger-error.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";

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
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (key !== operation) return value.bind(target);
      return async (...args: unknown[]) => {
        watch.calls += 1;
        if (watch.calls > failures) return value.apply(target, args);
        if (applied) await value.apply(target, args);
        throw new LedgerError("STORE_UNAVAILABLE", `${operation} unanswered (test)`);
      };
    },
  });
  return { store, watch };
}
