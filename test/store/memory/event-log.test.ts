import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EventPosition, LedgerEvent } from "../../../server/ledger/types.js";
import { thresholdCredits } from "../../../server/store/memory/alerts.js";
import { EventLog } from "../../../server/store/memory/event-log.js";
import { memoryEnv, project, rid, root, startMs } from "./fixture.js";

/**
 * What the conformance suite leaves loose because Redis trims with `~`: the memory store keeps
 * exactly what retention says. Plus its notifications, which are in-process and so exact too.
 */

const balances = { budget: 0, spent: 0, held: 0, allocated: 0, available: 0, totalSpent: 0 };

function logOf(maxEventsPerTree: number, maxAgeMs: number) {
  let appended = 0;
  const log = new EventLog({ maxEventsPerTree, maxAgeMs }, () => {
    appended += 1;
  });
  const append = (nowMs: number) =>
    log.append(nowMs, { rootId: "r", kind: "spend", walletId: "r", balances });
  return { log, append, appended: () => appended };
}

const seqs = (events: LedgerEvent[]) => events.map((e) => e.seq);

describe("memory event log", () => {
  it("keeps exactly the newest maxEventsPerTree events, across compactions", () => {
    const { log, append, appended } = logOf(10, 1_000_000);
    for (let i = 0; i < 5000; i++) append(startMs);
    expect(appended()).toBe(5000);
    expect(log.head).toEqual({ seq: 5000, ms: startMs });
    expect(log.firstSeq).toBe(4991);
    const all = log.read({}, 100, () => true);
    expect(seqs(all.events)).toEqual(Array.from({ length: 10 }, (_, i) => 4991 + i));
    // After a dropped position: from the oldest retained.
    expect(seqs(log.read({ after: { seq: 3, ms: startMs } }, 2, () => true).events)).toEqual([
      4991, 4992,
    ]);
    expect(seqs(log.read({ after: { seq: 4995, ms: startMs } }, 100, () => true).events)).toEqual([
      4996, 4997, 4998, 4999, 5000,
    ]);
  });

  it("drops exactly the events older than maxAgeMs before the newest", () => {
    const { log, append } = logOf(1000, 100);
    append(startMs);
    append(startMs + 50);
    append(startMs + 100);
    expect(log.firstSeq).toBe(1);
    append(startMs + 101);
    expect(log.firstSeq).toBe(2);
    // Cutoff startMs + 100: the event of exactly that ms stays.
    append(startMs + 200);
    expect(log.firstSeq).toBe(3);
    expect(seqs(log.read({}, 100, () => true).events)).toEqual([3, 4, 5]);
  });

  it("keeps ms from going back, and finds sinceMs by ms", () => {
    const { log, append } = logOf(1000, 1_000_000);
    append(startMs + 10);
    append(startMs + 5);
    append(startMs + 20);
    append(startMs + 20);
    const events = log.read({}, 100, () => true).events;
    expect(events.map((e) => e.ms - startMs)).toEqual([10, 10, 20, 20]);
    expect(seqs(log.read({ sinceMs: startMs + 9 }, 100, () => true).events)).toEqual([1, 2, 3, 4]);
    expect(seqs(log.read({ sinceMs: startMs + 10 }, 100, () => true).events)).toEqual([3, 4]);
    expect(seqs(log.read({ sinceMs: startMs + 20 }, 100, () => true).events)).toEqual([]);
  });

  it("reports no events as firstSeq = head + 1 only before the first (the newest always stays)", () => {
    const { log, append } = logOf(1, 1);
    expect(log.firstSeq).toBe(1);
    expect(log.head).toEqual({ seq: 0, ms: 0 });
    append(startMs);
    append(startMs + 1_000);
    expect(log.firstSeq).toBe(2);
    expect(log.read({}, 100, () => true).scannedTo).toEqual({ seq: 2, ms: startMs + 1_000 });
  });

  it("computes ceil(t * budget / 100) exactly for every budget up to 2^53 - 1", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: 1000 }),
        (budget, t) => {
          const exact = (BigInt(t) * BigInt(budget) + 99n) / 100n;
          const computed = thresholdCredits(t, budget);
          if (exact <= BigInt(Number.MAX_SAFE_INTEGER)) {
            expect(BigInt(computed)).toBe(exact);
          } else {
            // Beyond any reachable totalSpent: it only has to stay beyond it.
            expect(computed).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("memory store event notifications", () => {
  it("notifies once per step that appended, with its last event, and never for a refusal", async () => {
    const { ledger, store } = await memoryEnv();
    const seen: (EventPosition | undefined)[] = [];
    const heads: Promise<number>[] = [];
    const wallet = await root(ledger, 10);
    const unsubscribe = store.subscribeEvents(project, (rootId, position) => {
      expect(rootId).toBe(wallet.id);
      seen.push(position);
      // Called after the step: its events are already in the log.
      heads.push(
        store
          .readEvents({ project, walletId: wallet.id, limit: 1, nowMs: startMs })
          .then((read) => read.head.seq),
      );
    });
    const requestId = rid();
    // Spend, threshold 50 and 80: three events, one step, one notification.
    await ledger.spend(project, { walletId: wallet.id, amount: 8, service: "s", requestId });
    await Promise.resolve();
    expect(seen).toEqual([{ seq: 4, ms: startMs }]);
    expect(await Promise.all(heads)).toEqual([4]);
    // A replay and a refusal append nothing and notify nothing.
    await ledger.spend(project, { walletId: wallet.id, amount: 8, service: "s", requestId });
    await ledger
      .spend(project, { walletId: wallet.id, amount: 3, service: "s", requestId: rid() })
      .catch(() => {});
    await ledger.getWallet(project, { walletId: wallet.id });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(1);
    // Two subscriptions of one project both hear; another project's hears nothing.
    const others: unknown[] = [];
    const unsubscribeOther = store.subscribeEvents("globex", (...args) => others.push(args));
    const second: unknown[] = [];
    const unsubscribeSecond = store.subscribeEvents(project, (...args) => second.push(args));
    await ledger.addCredits(project, { walletId: wallet.id, amount: 1, requestId: rid() });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen.at(-1)).toEqual({ seq: 5, ms: startMs });
    expect(second).toEqual([[wallet.id, { seq: 5, ms: startMs }]]);
    expect(others).toEqual([]);
    unsubscribe();
    unsubscribeSecond();
    unsubscribeOther();
    await ledger.addCredits(project, { walletId: wallet.id, amount: 1, requestId: rid() });
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(2);
    expect(second).toHaveLength(1);
  });

  it("announces each batch of a long close as it commits", async () => {
    const { ledger, store } = await memoryEnv();
    const wallet = await root(ledger, 1000);
    for (let i = 0; i < 150; i++) {
      await ledger.authorize(project, {
        walletId: wallet.id,
        amount: 1,
        service: "s",
        requestId: rid(),
      });
    }
    const seen: number[] = [];
    const unsubscribe = store.subscribeEvents(project, (_, position) => {
      seen.push(position?.seq ?? 0);
    });
    await ledger.closeWallet(project, { walletId: wallet.id, requestId: rid() });
    await new Promise((resolve) => setImmediate(resolve));
    unsubscribe();
    // 1 created + 150 hold_placed, then 150 voids and wallet_closed over several steps.
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe(302);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });
});
