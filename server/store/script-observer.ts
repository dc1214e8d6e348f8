import type { LedgerStore } from "./ledger-store.js";

/**
 * Receives the duration of one store script call (Redis: one Lua script sent, named after its
 * file, e.g. `spend`) or operation (memory: one method, e.g. `spend`): the store's kind (`redis`,
 * `memory`), the script, and seconds. For metrics: it only observes.
 */
export type ScriptObserver = (store: string, script: string, seconds: number) => void;

/** A store that can report its scripts' durations (both stores of this repository can). */
export interface ObservableStore {
  /**
   * From now on, report the duration of each script call or operation to `observer`. It never
   * changes what the store does. Call it once.
   */
  observeScripts(observer: ScriptObserver): void;
}

/** Whether `store` can report its scripts' durations (test doubles usually cannot). */
export function isObservableStore(store: LedgerStore): store is LedgerStore & ObservableStore {
  return typeof (store as Partial<ObservableStore>).observeScripts === "function";
}
