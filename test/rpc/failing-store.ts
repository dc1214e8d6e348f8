import type { LedgerStore } from "../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";

/**
 * A memory store whose `method` misbehaves: it throws `error`, or (with `delayMs`) answers late,
 * or (with `hang`) never answers until released. Everything else behaves normally.
 */
export function misbehavingStore(
  method: keyof LedgerStore,
  behaviour: { error?: unknown; delayMs?: number; hang?: boolean },
): LedgerStore & { closed: boolean; release(): void } {
  const inner = new MemoryLedgerStore();
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const state = { closed: false };
  return new Proxy(inner, {
    get(target, key, receiver) {
      if (key === "closed") return state.closed;
      if (key === "release") return release;
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
        if (behaviour.error !== undefined) throw behaviour.error;
        if (behaviour.hang) await released;
        if (behaviour.delayMs !== undefined) {
          await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as unknown as LedgerStore & { closed: boolean; release(): void };
}
