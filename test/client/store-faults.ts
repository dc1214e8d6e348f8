import { LedgerError } from "../../server/ledger/ledger-error.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { aroundStoreMethod } from "../support/store-proxy.js";

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
 * The store with a counted `spend` (everything else untouched): `before` runs first (it may wait
 * or throw instead of running the spend), `afterCommit` once the inner store answered; both get
 * the spend's number (1 for the first).
 */
function watchedSpends(
  inner: LedgerStore,
  hooks: {
    before?: (nth: number) => Promise<void> | undefined;
    afterCommit?: (nth: number) => Promise<void> | undefined;
  },
): { store: LedgerStore; watch: SpendWatch } {
  const watch: SpendWatch = { started: 0, committed: 0, finished: 0 };
  const store = aroundStoreMethod(inner, "spend", async (spend, ...args) => {
    watch.started += 1;
    const nth = watch.started;
    try {
      await hooks.before?.(nth);
      const result = await spend(...args);
      watch.committed += 1;
      await hooks.afterCommit?.(nth);
      return result;
    } finally {
      watch.finished += 1;
    }
  });
  return { store, watch };
}

/**
 * The store with a slowed `spend` (everything else untouched), to make a client's deadline pass
 * while the server is still working, or after it has already committed.
 */
export function slowSpends(
  inner: LedgerStore,
  options: SlowSpendOptions,
): { store: LedgerStore; watch: SpendWatch } {
  const first = options.firstOnly ? 1 : (options.first ?? Number.POSITIVE_INFINITY);
  const pause = (nth: number, ms: number | undefined) =>
    nth > first || ms === undefined
      ? undefined
      : new Promise<void>((resolve) => setTimeout(resolve, ms));
  return watchedSpends(inner, {
    before: (nth) => pause(nth, options.beforeMs),
    afterCommit: (nth) => pause(nth, options.answerAfterMs),
  });
}

/**
 * The store whose first `failures` spends throw STORE_UNAVAILABLE without running (the store
 * could not be reached), as a Redis failover looks to the server.
 */
export function unavailableSpends(
  inner: LedgerStore,
  failures: number,
): { store: LedgerStore; watch: SpendWatch } {
  return watchedSpends(inner, {
    before: (nth) => {
      if (nth <= failures) throw new LedgerError("STORE_UNAVAILABLE", "store unreachable (test)");
      return undefined;
    },
  });
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
  return { ...watchedSpends(inner, { before: () => gate }), release };
}
