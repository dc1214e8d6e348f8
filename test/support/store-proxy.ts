import type { LedgerStore } from "../../server/store/ledger-store.js";

/** The names of the store's methods (its sub-stores, `agentKeys` and `redemptions`, excluded). */
export type StoreMethod = Exclude<keyof LedgerStore, "agentKeys" | "redemptions">;

/**
 * `inner` with one method replaced by `around`, which gets the original (bound to `inner`) and
 * the call's arguments; every other member is `inner`'s own. One Proxy for every test that slows,
 * gates, counts or fails a store call, so each only writes what it does around the call.
 */
export function aroundStoreMethod<K extends StoreMethod>(
  inner: LedgerStore,
  method: K,
  around: (
    original: LedgerStore[K],
    ...args: Parameters<LedgerStore[K]>
  ) => ReturnType<LedgerStore[K]>,
): LedgerStore {
  return new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      const bound = value.bind(target) as LedgerStore[K];
      if (key !== method) return bound;
      return (...args: Parameters<LedgerStore[K]>) => around(bound, ...args);
    },
  });
}
