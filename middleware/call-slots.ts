import type { Hold } from "../client/index.js";

/**
 * Margin past a hold's `expiresAt` before a waiting run stops waiting for the run that holds it:
 * by then the ledger has expired the hold, so nobody can capture it any more. One second covers
 * ordinary clock skew; a larger skew is caught by {@link CallSlot.heldByEarlier}.
 */
const expiryGraceMs = 1000;

/** One hold-billed run of a tool call, as the later runs of the same call see it. */
interface Run {
  holdId: string | undefined;
  done: boolean;
  /** Resolves when the run has captured, voided or given up its hold. */
  finished: Promise<void>;
  /** Resolves once the run's hold has expired (plus grace); never before the hold is known. */
  expired: Promise<void>;
}

/** Runs in progress, by wallet tree and request-id base: one per tool call at a time. */
const running = new Map<string, Run>();

/** A run's claim on its tool call; see {@link claimCallSlot}. */
export interface CallSlot {
  /** The hold this run uses: later runs wait at most until it expires. */
  holding(hold: Hold): void;
  /**
   * True while `holdId` belongs to an earlier run of the same call that outlived its hold's
   * expiry and still runs (the ledger, by its clock, may not have expired it yet). Such a hold is
   * never used or voided by this run: the earlier one may still capture it.
   */
  heldByEarlier(holdId: string): boolean;
  /** Waits until the earlier run finishes, or at most `ms`. */
  waitForEarlier(ms: number): Promise<void>;
  /** This run has settled (or will not settle) its hold: the next run of the call may go. */
  finish(): void;
}

/**
 * Claims the one in-process run of a hold-billed tool call (`rootId` and request-id base). A
 * second run of the same call (a framework retrying while the first still runs, a model emitting
 * one call id twice in a step) waits here until the first has captured or voided, then
 * authorizes as a retry does: a captured hold is replayed (runs without charging), a voided one
 * starts the next attempt. So two runs never share a hold, and one run's void can never take
 * the hold from under another's capture. The wait ends at the latest when the first run's hold
 * expires (a hung tool or an iterator dropped without `return()` must not block its call
 * forever); the first run can no longer capture then.
 */
export async function claimCallSlot(rootId: string, base: string): Promise<CallSlot> {
  const key = `${rootId}\u0000${base}`;
  let earlier: Run | undefined;
  for (;;) {
    const current = running.get(key);
    if (current === undefined) break;
    await Promise.race([current.finished, current.expired]);
    if (!current.done) {
      earlier = current;
      break;
    }
  }
  let finished = () => {};
  let expired = () => {};
  let timer: NodeJS.Timeout | undefined;
  const run: Run = {
    holdId: undefined,
    done: false,
    finished: new Promise<void>((resolve) => {
      finished = resolve;
    }),
    expired: new Promise<void>((resolve) => {
      expired = resolve;
    }),
  };
  running.set(key, run);
  return {
    holding(hold) {
      run.holdId = hold.id;
      clearTimeout(timer);
      timer = setTimeout(
        expired,
        Math.max(0, hold.expiresAt.getTime() - Date.now()) + expiryGraceMs,
      );
      // A hold's expiry must not keep the process alive after the agent is done.
      timer.unref();
    },
    heldByEarlier: (holdId) => earlier !== undefined && !earlier.done && earlier.holdId === holdId,
    async waitForEarlier(ms) {
      if (earlier === undefined) return;
      let wake: NodeJS.Timeout | undefined;
      await Promise.race([
        earlier.finished,
        new Promise((resolve) => {
          wake = setTimeout(resolve, ms);
        }),
      ]);
      clearTimeout(wake);
    },
    finish() {
      if (run.done) return;
      run.done = true;
      clearTimeout(timer);
      if (running.get(key) === run) running.delete(key);
      finished();
    },
  };
}
