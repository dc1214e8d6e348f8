import type { Hold } from "../client/index.js";
import { raceAbort } from "./abort.js";

/**
 * Margin past a hold's `expiresAt` before a waiting run stops waiting for the run that holds it:
 * by then the ledger has expired the hold, so nobody can capture it any more. One second covers
 * ordinary clock skew; a larger skew is caught by {@link CallSlot.heldByEarlier} for the runs
 * that were waiting on it. The run also leaves `running` then, so a run that comes later still
 * (and finds the hold OPEN on a ledger whose clock lags by more than this) does not know it.
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

/**
 * Runs in progress, by wallet tree and request-id base: one per tool call at a time. A run leaves
 * when it finishes, or when its hold expires (a run that never settles, such as a hung tool or
 * an iterator dropped without `return()`, must not stay here for the life of the process).
 */
const running = new Map<string, Run>();

/** How many runs hold a call slot now. For tests: a run that never settles must not leak one. */
export function callSlotsInUse(): number {
  return running.size;
}

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
  /** Waits until the earlier run finishes, or at most `ms`; rejects when the call is aborted. */
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
 * forever); the first run can no longer capture then. Of several runs waiting on one expired
 * run, the first to wake takes the slot and the others wait on it in turn.
 *
 * `signal` (the call's cancellation) ends the wait: the claim rejects with its reason at once,
 * and this run authorizes nothing.
 */
export async function claimCallSlot(
  rootId: string,
  base: string,
  signal?: AbortSignal,
): Promise<CallSlot> {
  const key = `${rootId}\u0000${base}`;
  let earlier: Run | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const current = running.get(key);
    if (current === undefined) break;
    await raceAbort(Promise.race([current.finished, current.expired]), signal);
    // Still running past its hold's expiry, and nobody woke before us to take its place (its
    // own expiry may have removed it from `running`): it is the earlier run. Otherwise another
    // run took the slot meanwhile; go round and wait on that one.
    if (!current.done && (running.get(key) ?? current) === current) {
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
        () => {
          // The run can no longer capture: free its slot even if it never settles.
          if (running.get(key) === run) running.delete(key);
          expired();
        },
        Math.max(0, hold.expiresAt.getTime() - Date.now()) + expiryGraceMs,
      );
      // A hold's expiry must not keep the process alive after the agent is done.
      timer.unref();
    },
    heldByEarlier: (holdId) => earlier !== undefined && !earlier.done && earlier.holdId === holdId,
    async waitForEarlier(ms) {
      if (earlier === undefined) return;
      let wake: NodeJS.Timeout | undefined;
      try {
        await raceAbort(
          Promise.race([
            earlier.finished,
            new Promise((resolve) => {
              // Not unref'd: it only lives while this call waits, and is cleared after.
              wake = setTimeout(resolve, ms);
            }),
          ]),
          signal,
        );
      } finally {
        clearTimeout(wake);
      }
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
