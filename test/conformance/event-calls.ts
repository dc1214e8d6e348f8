import { expect } from "vitest";
import { Limits } from "../../server/ledger/limits.js";
import type { Balances, EventPosition, LedgerEvent } from "../../server/ledger/types.js";
import type { EventRead } from "../../server/store/ledger-store.js";
import { type LedgerEnv, project } from "./harness.js";

/**
 * Event reads the event cases share. The ledger has no event method of its own (the
 * EventService reads the store), so these go to the store under test directly.
 */

/** Where a read starts: after a position, after a time, or (neither) at the oldest retained. */
export interface ReadFrom {
  after?: EventPosition;
  sinceMs?: number;
}

/** One `readEvents` call as the caller's project, at the test clock's time. */
export function readEvents(
  env: LedgerEnv,
  walletId: string,
  options: ReadFrom & { limit?: number; project?: string } = {},
): Promise<EventRead> {
  return env.store.readEvents({
    project: options.project ?? project,
    walletId,
    after: options.after,
    sinceMs: options.sinceMs,
    limit: options.limit ?? Limits.rowsPerScript,
    nowMs: env.clock.now(),
  });
}

/**
 * Every event of the wallet's subtree from `from` to the head, paging by `scannedTo` as a
 * watcher does; also checks that each page continues exactly where the last one stopped.
 */
export async function allEvents(
  env: LedgerEnv,
  walletId: string,
  from: ReadFrom = {},
): Promise<LedgerEvent[]> {
  const events: LedgerEvent[] = [];
  let read = await readEvents(env, walletId, from);
  for (;;) {
    events.push(...read.events);
    const scannedTo = read.scannedTo;
    if (scannedTo === undefined || scannedTo.seq >= read.head.seq) return events;
    read = await readEvents(env, walletId, { after: scannedTo });
    const first = read.events[0];
    if (first !== undefined) expect(first.seq).toBeGreaterThan(scannedTo.seq);
  }
}

/** The tree's newest event position, as a read of `walletId` reports it. */
export async function head(env: LedgerEnv, walletId: string): Promise<EventPosition> {
  return (await readEvents(env, walletId, { limit: 1 })).head;
}

/** Events after `position` (the ones a step appended when `position` was the head before it). */
export function eventsAfter(
  env: LedgerEnv,
  walletId: string,
  position: EventPosition,
): Promise<LedgerEvent[]> {
  return allEvents(env, walletId, { after: position });
}

/**
 * An event in brief: kind and wallet, plus the hold (hold_placed) or percentage
 * (threshold_crossed), so a sequence of events reads as a list of tuples.
 */
export type Brief = [string, string] | [string, string, string | number];

export function brief(event: LedgerEvent): Brief {
  if (event.kind === "hold_placed") return [event.kind, event.walletId, event.holdId ?? ""];
  if (event.kind === "threshold_crossed") {
    return [event.kind, event.walletId, event.thresholdPercent ?? 0];
  }
  return [event.kind, event.walletId];
}

export function briefs(events: LedgerEvent[]): Brief[] {
  return events.map(brief);
}

/** Balances in positional form: budget, spent, held, allocated, available, totalSpent. */
export function balances(b: Balances): number[] {
  return [b.budget, b.spent, b.held, b.allocated, b.available, b.totalSpent];
}

/** Runs `step` and returns the events it appended to the tree of `walletId`. */
export async function stepEvents(
  env: LedgerEnv,
  walletId: string,
  step: () => Promise<unknown>,
): Promise<LedgerEvent[]> {
  const before = await head(env, walletId);
  await step();
  return eventsAfter(env, walletId, before);
}
