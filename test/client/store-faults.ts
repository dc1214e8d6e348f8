import { LedgerError } from "../../server/ledger/ledger-error.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";

/** How {@link slowSpends} slows `spend`. */
export interface SlowSpendOptions {
  /** Wait this long before running the spend. */
  beforeMs?: number;
  /** Run the spend (it commits), then wait this long before answering: an answer that comes late. */
  answerAfterMs?: number;
  /** Slow only the first spend; later ones (retries) run at full speed. */
  firstOnly?: boolean;
  /** Slow only the first `first` spends; later ones (retries) run at full speed. */
  first?: number;
}

/** Counters a test can watch. */
export interface SpendWatch {
  started: number;
  /** Spends the inner store has run (committed or refused), answered or not. */
  committed: number;
  finished: number;
}

/**
 * The store with a slowed `spend` (everything else untouched), to make a client's deadline pass
 * while the server is still working, or after it has already committed.
 */
export function slowSpends(
  inner: LedgerStore,
  options: SlowSpendOptions,
): { store: LedgerStore; watch: SpendWatch } {
  const watch: SpendWatch = { started: 0, committed: 0, finished: 0 };
  const pause = (ms: number | undefined) =>
    ms === undefined ? undefined : new Promise((resolve) => setTimeout(resolve, ms));
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (key !== "spend") return value.bind(target);
      return async (...args: Parameters<LedgerStore["spend"]>) => {
        watch.started += 1;
        const first = options.firstOnly ? 1 : (options.first ?? Number.POSITIVE_INFINITY);
        const slow = watch.started <= first;
        try {
          if (slow) await pause(options.beforeMs);
          const result = await target.spend(...args);
          watch.committed += 1;
          if (slow) await pause(options.answerAfterMs);
          return result;
        } finally {
          watch.finished += 1;
        }
      };
    },
  });
  return { store, watch };
}

/**
 * The store whose first `failures` spends throw STORE_UNAVAILABLE without running (the store
 * could not be reached), as a Redis failover looks to the server.
 */
export function unavailableSpends(
  inner: LedgerStore,
  failures: number,
): { store: LedgerStore; watch: SpendWatch } {
  const watch: SpendWatch = { started: 0, committed: 0, finished: 0 };
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (key !== "spend") return value.bind(target);
      return async (...args: Parameters<LedgerStore["spend"]>) => {
        watch.started += 1;
        try {
          if (watch.started <= failures) {
            throw new LedgerError("STORE_UNAVAILABLE", "store unreachable (test)");
          }
          const result = await target.spend(...args);
          watch.committed += 1;
          return result;
        } finally {
          watch.finished += 1;
        }
      };
    },
  });
  return { store, watch };
}

/**
 * The store whose spends wait, before running, until the test calls `release()`: a server that
 * is still working for as long as the test needs, with no guessed durations. `started` counts
 * spends that reached the store (waiting or not).
 */
export function gatedSpends(inner: LedgerStore): {
  store: LedgerStore;
  watch: SpendWatch;
  release(): void;
} {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const watch: SpendWatch = { started: 0, committed: 0, finished: 0 };
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (key !== "spend") return value.bind(target);
      return async (...args: Parameters<LedgerStore["spend"]>) => {
        watch.started += 1;
        try {
          await gate;
          const result = await target.spend(...args);
          watch.committed += 1;
          return result;
        } finally {
          watch.finished += 1;
        }
      };
    },
  });
  return { store, watch, release };
}
