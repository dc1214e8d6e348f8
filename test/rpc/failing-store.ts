import type { LedgerStore } from "../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";

/** A memory store with one misbehaving method, plus hooks a test can watch. */
export type MisbehavingStore = LedgerStore & {
  /** True once `close()` was called. */
  closed: boolean;
  /** Lets hung calls proceed. */
  release(): void;
  /** Resolves when the misbehaving method is first entered. */
  entered: Promise<void>;
};

/**
 * A memory store whose `method` misbehaves: it throws `error`, or (with `delayMs`) answers late,
 * or (with `hang`) never answers until released. Everything else behaves normally.
 */
export function misbehavingStore(
  method: keyof LedgerStore,
  behaviour: { error?: unknown; delayMs?: number; hang?: boolean },
): MisbehavingStore {
  const inner = new MemoryLedgerStore();
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let enter = () => {};
  const entered = new Promise<void>((resolve) => {
    enter = resolve;
  });
  const state = { closed: false };
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === "closed") return state.closed;
      if (key === "release") return release;
      if (key === "entered") return entered;
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (key === "close") {
        return async () => {
          state.closed = true;
          await inner.close();
        };
      }
      if (key !== method) return value.bind(target);
      return async (...args: unknown[]) => {
        enter();
        if (behaviour.error !== undefined) throw behaviour.error;
        if (behaviour.hang) await released;
        if (behaviour.delayMs !== undefined) {
          await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as unknown as MisbehavingStore;
}
