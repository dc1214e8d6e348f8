import { performance } from "node:perf_hooks";
import type { LedgerStore } from "./ledger-store.js";
import type { ScriptObserver } from "./script-observer.js";

/**
 * The store operations a store without scripts of its own reports to an observer: every
 * `LedgerStore` method that does the ledger's work (not `ping`, `close` or the subscription).
 * One that a store does not have is skipped.
 */
const operations: ReadonlyArray<keyof LedgerStore> = [
  "createRoot",
  "createChild",
  "getWallet",
  "listWallets",
  "addCredits",
  "closeWallet",
  "spend",
  "authorize",
  "capture",
  "void",
  "getReceipt",
  "listBreakdown",
  "listChildReceipts",
  "listCharges",
  "sweep",
  "readEvents",
];

/**
 * `LedgerStore.observeScripts` for a store whose operations are its scripts (the memory store):
 * replaces each operation on `store` itself with one that reports its duration as script
 * `<operation>` of store `kind`, and otherwise does exactly what it did.
 */
export function timeOperations(store: object, kind: string, observer: ScriptObserver): void {
  const methods = store as unknown as Record<string, unknown>;
  for (const name of operations) {
    const original = methods[name];
    if (typeof original !== "function") continue;
    methods[name] = function (this: unknown, ...args: unknown[]) {
      const startedMs = performance.now();
      const result: unknown = original.apply(this, args);
      const done = () => observer(kind, name, (performance.now() - startedMs) / 1000);
      if (result instanceof Promise) result.then(done, done);
      else done();
      return result;
    };
  }
}
