import { AsyncLocalStorage } from "node:async_hooks";

/** The charge that pays for the tool call running now. */
export interface ActiveCharge {
  walletId: string;
  /** Short-lived signed credential for the paid call (hand it to the paid service). */
  credential: string;
  /** The hold covering the call (hold-then-capture and cost-based tools). */
  holdId?: string;
  /** The SPEND line (upfront tools). */
  chargeId?: string;
  /** The request id of the operation that granted the credential. */
  requestId: string;
}

const storage = new AsyncLocalStorage<ActiveCharge>();

/**
 * The charge of the budgeted tool call this code runs in, or undefined outside one (or for a call
 * priced 0). AsyncLocalStorage carries it through every await of the tool, so a tool (or a helper
 * it calls) can read the credential without threading it through its signature.
 */
export function currentCharge(): ActiveCharge | undefined {
  return storage.getStore();
}

/** Runs `fn` with `charge` as {@link currentCharge}. */
export function runWithCharge<T>(charge: ActiveCharge | undefined, fn: () => T): T {
  return charge === undefined ? storage.exit(fn) : storage.run(charge, fn);
}
