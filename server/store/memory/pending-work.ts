import { continueClose } from "./close-cascade.js";
import { expireDueHolds } from "./hold-lifecycle.js";
import type { TreeState } from "./tree-state.js";

/**
 * A tree's pending work: a close under way, then the holds due at `nowMs` (a close logically
 * happened before anything after it, so it finishes first and its holds are voided, not
 * expired). Done at most `budget` units per call (an operation's own slice, or a background
 * batch), as the Redis store's scripts do it, so a tenant's backlog never holds the event loop
 * (and every other tenant) for long. Returns true when none is left.
 */
export function workOff(tree: TreeState, nowMs: number, budget: number): boolean {
  const left = continueClose(tree, budget, nowMs);
  if (left === 0) return false;
  return expireDueHolds(tree, nowMs, left);
}

/**
 * When the tree next has work: `nowMs` when a close is under way, else the earliest queued
 * hold's expiry, or undefined when it has none.
 */
export function nextDueMs(tree: TreeState, nowMs: number): number | undefined {
  return tree.closing !== undefined ? nowMs : tree.holdQueue.earliestMs();
}
