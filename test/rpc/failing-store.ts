import type { LedgerStore } from "../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";
import { aroundStoreMethod, type StoreMethod } from "../support/store-proxy.js";

/** A memory store with one misbehaving method, plus hooks a test can watch. */
export type MisbehavingStore = LedgerStore & {
  /** True once `close()` was called. */
  readonly closed: boolean;
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
  method: StoreMethod,
  behaviour: { error?: unknown; delayMs?: number; hang?: boolean },
): MisbehavingStore {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let enter = () => {};
  const entered = new Promise<void>((resolve) => {
    enter = resolve;
  });
  let closed = false;
  const misbehaving = aroundStoreMethod(new MemoryLedgerStore(), method, (async (
    original: (...args: unknown[]) => Promise<unknown>,
    ...args: unknown[]
  ) => {
    enter();
    if (behaviour.error !== undefined) throw behaviour.error;
    if (behaviour.hang) await released;
    if (behaviour.delayMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    }
    return original(...args);
  }) as never);
  const store = aroundStoreMethod(misbehaving, "close", async (close) => {
    closed = true;
    await close();
  });
  // The hooks live on a child of the store, so they never touch (or shadow) the store's own
  // members, such as MemoryLedgerStore's private `closed`.
  return Object.create(store, {
    closed: { get: () => closed },
    release: { value: release },
    entered: { value: entered },
  }) as MisbehavingStore;
}
