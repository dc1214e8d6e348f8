import type { LedgerStore } from "../../server/store/ledger-store.js";
import { aroundStoreMethod } from "../support/store-proxy.js";

/** What a test sees of {@link gatedSpends}' store, and how it lets spends through. */
export interface SpendGate {
  /** Spends started (entered the store), released or not. */
  calls: number;
  /** Spends started and not yet answered by the inner store. */
  running: number;
  /** The most spends ever running at once. */
  maxRunning: number;
  /** Resolves once `count` spends have started. */
  started(count: number): Promise<void>;
  /** Lets the oldest waiting spend run; returns its request id. */
  releaseOldest(): string;
  /** Lets every waiting spend, and every later one, run. */
  releaseAll(): void;
}

/**
 * The store whose spends wait at a gate until the test releases them, so "N running and the next
 * one not started" is a state the test sets up and observes, with no sleeps. With
 * `answerAtGate`, each spend runs (and commits) first and waits at the gate only to answer, so
 * releasing many answers them all in one burst.
 */
export function gatedSpends(
  inner: LedgerStore,
  options: { answerAtGate?: boolean } = {},
): { store: LedgerStore; gate: SpendGate } {
  const waiting: { requestId: string; go: () => void }[] = [];
  const startWaiters: { count: number; resolve: () => void }[] = [];
  let open = false;
  const gate: SpendGate = {
    calls: 0,
    running: 0,
    maxRunning: 0,
    started(count) {
      if (gate.calls >= count) return Promise.resolve();
      return new Promise((resolve) => startWaiters.push({ count, resolve }));
    },
    releaseOldest() {
      const next = waiting.shift();
      if (next === undefined) throw new Error("no spend is waiting at the gate");
      next.go();
      return next.requestId;
    },
    releaseAll() {
      open = true;
      for (const spend of waiting.splice(0)) spend.go();
    },
  };
  const store = aroundStoreMethod(inner, "spend", async (spend, cmd) => {
    gate.calls += 1;
    gate.running += 1;
    gate.maxRunning = Math.max(gate.maxRunning, gate.running);
    for (const waiter of startWaiters.filter((w) => gate.calls >= w.count)) {
      startWaiters.splice(startWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    const atGate = () =>
      open ? undefined : new Promise<void>((go) => waiting.push({ requestId: cmd.requestId, go }));
    try {
      if (options.answerAtGate) {
        const outcome = await spend(cmd);
        await atGate();
        return outcome;
      }
      await atGate();
      return await spend(cmd);
    } finally {
      gate.running -= 1;
    }
  });
  return { store, gate };
}
