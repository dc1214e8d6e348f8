import { describe, expect, it } from "vitest";
import { allEvents, type Brief, briefs, head, readEvents } from "./event-calls.js";
import { createChild, createRoot, spend, startMs, storeFactories, useLedger } from "./harness.js";

/**
 * Reading the log (docs/events.md, `LedgerStore.readEvents`): where a read starts, how many
 * events it examines, which subtree it returns, and what retention leaves.
 */
describe.each(storeFactories)("event reads ($name store)", (factory) => {
  const env = useLedger(factory);

  /** root -> a -> a1, root -> b, then one spend on each of a1, b, a, root (events 1..8). */
  async function fourWallets() {
    const e = env();
    const { ledger } = e;
    const root = await createRoot(ledger, 1000);
    const a = await createChild(ledger, root.id, 300);
    const b = await createChild(ledger, root.id, 300);
    const a1 = await createChild(ledger, a.id, 100);
    for (const w of [a1, b, a, root]) await spend(ledger, w.id, 10);
    return { e, root, a, b, a1 };
  }

  it("returns the events of the wallet's subtree, the root's returning all", async () => {
    const { e, root, a, b, a1 } = await fourWallets();
    const seqs = async (walletId: string) => {
      const read = await readEvents(e, walletId);
      expect(read.scannedTo?.seq).toBe(8);
      expect(read.head.seq).toBe(8);
      expect(read.firstSeq).toBe(1);
      return read.events.map((ev) => ev.seq);
    };
    expect(await seqs(root.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await seqs(a.id)).toEqual([2, 4, 5, 7]);
    expect(await seqs(a1.id)).toEqual([4, 5]);
    expect(await seqs(b.id)).toEqual([3, 6]);
    const all: Brief[] = [
      ["wallet_created", root.id],
      ["wallet_created", a.id],
      ["wallet_created", b.id],
      ["wallet_created", a1.id],
      ["spend", a1.id],
      ["spend", b.id],
      ["spend", a.id],
      ["spend", root.id],
    ];
    expect(briefs(await allEvents(e, root.id))).toEqual(all);
  });

  it("examines at most `limit` events, and scannedTo says how far it got", async () => {
    const { e, a, b } = await fourWallets();
    const page1 = await readEvents(e, a.id, { limit: 3 });
    expect(page1.events.map((ev) => ev.seq)).toEqual([2]);
    expect(page1.scannedTo?.seq).toBe(3);
    const page2 = await readEvents(e, a.id, { limit: 3, after: page1.scannedTo });
    expect(page2.events.map((ev) => ev.seq)).toEqual([4, 5]);
    expect(page2.scannedTo?.seq).toBe(6);
    const page3 = await readEvents(e, a.id, { limit: 3, after: page2.scannedTo });
    expect(page3.events.map((ev) => ev.seq)).toEqual([7]);
    expect(page3.scannedTo?.seq).toBe(8);
    const page4 = await readEvents(e, a.id, { limit: 3, after: page3.scannedTo });
    expect(page4).toEqual({
      events: [],
      scannedTo: undefined,
      firstSeq: 1,
      head: page3.scannedTo,
    });
    // Nothing of b's among the first event examined: an empty page that still moves on.
    const none = await readEvents(e, b.id, { limit: 1 });
    expect(none.events).toEqual([]);
    expect(none.scannedTo?.seq).toBe(1);
    const events = (await readEvents(e, a.id)).events;
    expect(page1.scannedTo?.ms).toBe(startMs);
    expect([...page1.events, ...page2.events, ...page3.events]).toEqual(events);
  });

  it("starts after a position, after a time, or at the oldest event", async () => {
    const e = env();
    const { ledger, clock } = e;
    const root = await createRoot(ledger, 1000);
    clock.advance(10);
    await spend(ledger, root.id, 1);
    const second = await head(e, root.id);
    await spend(ledger, root.id, 1);
    clock.advance(10);
    await spend(ledger, root.id, 1);
    expect(second).toEqual({ seq: 2, ms: startMs + 10 });
    const seqs = async (from: Parameters<typeof readEvents>[2]) =>
      (await readEvents(e, root.id, from)).events.map((ev) => ev.seq);
    expect(await seqs({})).toEqual([1, 2, 3, 4]);
    expect(await seqs({ after: second })).toEqual([3, 4]);
    expect(await seqs({ after: { seq: 0, ms: 0 } })).toEqual([1, 2, 3, 4]);
    // Every event with ms > sinceMs: both events of startMs + 10 or neither.
    expect(await seqs({ sinceMs: startMs + 9 })).toEqual([2, 3, 4]);
    expect(await seqs({ sinceMs: startMs + 10 })).toEqual([4]);
    expect(await seqs({ sinceMs: startMs - 1 })).toEqual([1, 2, 3, 4]);
    expect(await seqs({ sinceMs: startMs + 20 })).toEqual([]);
    // `after` wins over `sinceMs`.
    expect(await seqs({ after: second, sinceMs: startMs + 10 })).toEqual([3, 4]);
    const atHead = await readEvents(e, root.id, { after: await head(e, root.id) });
    expect(atHead).toEqual({
      events: [],
      scannedTo: undefined,
      firstSeq: 1,
      head: { seq: 4, ms: startMs + 20 },
    });
  });

  it("reads the same whatever the clock says, and works off nothing", async () => {
    const e = env();
    const { ledger, clock } = e;
    const root = await createRoot(ledger, 1000);
    await spend(ledger, root.id, 1);
    clock.advance(365 * 86_400_000);
    expect((await allEvents(e, root.id)).map((ev) => ev.seq)).toEqual([1, 2]);
  });
});

/** Slack a Redis stream trimmed with `~` may keep: up to one stream node (100 entries) more. */
const nodeSlack = 100;

describe.each(storeFactories)("event retention by count ($name store)", (factory) => {
  const keep = 10;
  const env = useLedger(factory, { eventRetention: { maxEventsPerTree: keep } });

  it("keeps the newest events, and firstSeq says where the log starts", async () => {
    const e = env();
    const root = await createRoot(e.ledger, 1_000_000);
    const first = await head(e, root.id);
    for (let i = 0; i < 250; i++) await spend(e.ledger, root.id, 1);
    const read = await readEvents(e, root.id);
    expect(read.head.seq).toBe(251);
    const retained = read.head.seq - read.firstSeq + 1;
    expect(retained).toBeGreaterThanOrEqual(keep);
    expect(retained).toBeLessThanOrEqual(keep + nodeSlack);
    expect(read.firstSeq).toBeGreaterThan(1);
    // From the oldest retained to the head, without gaps.
    const events = await allEvents(e, root.id);
    expect(events.map((ev) => ev.seq)).toEqual(
      Array.from({ length: retained }, (_, i) => read.firstSeq + i),
    );
    // A reader after a dropped position gets the oldest retained: firstSeq tells it what it missed.
    const late = await readEvents(e, root.id, { after: first, limit: 1 });
    expect(late.firstSeq).toBe(read.firstSeq);
    expect(late.events.map((ev) => ev.seq)).toEqual([read.firstSeq]);
  });
});

describe.each(storeFactories)("event retention by age ($name store)", (factory) => {
  const maxAgeMs = 60_000;
  const env = useLedger(factory, { eventRetention: { maxAgeMs } });

  it("drops events older than maxAgeMs when the tree next appends", async () => {
    const e = env();
    const { ledger, clock } = e;
    const root = await createRoot(ledger, 1_000_000);
    for (let i = 0; i < 250; i++) await spend(ledger, root.id, 1);
    clock.advance(maxAgeMs);
    // Exactly maxAgeMs old is not older than maxAgeMs.
    await spend(ledger, root.id, 1);
    expect((await readEvents(e, root.id)).firstSeq).toBe(1);
    // Reading, even a year later, drops nothing: retention is enforced by appends.
    clock.advance(365 * 86_400_000);
    expect((await readEvents(e, root.id)).firstSeq).toBe(1);
    clock.advance(-365 * 86_400_000 + 1);
    await spend(ledger, root.id, 1);
    const read = await readEvents(e, root.id);
    expect(read.head).toEqual({ seq: 253, ms: startMs + maxAgeMs + 1 });
    expect(read.firstSeq).toBeGreaterThan(1);
    // Both recent events stay; of the old ones, at most one stream node's worth may.
    expect(read.firstSeq).toBeLessThanOrEqual(252);
    const events = await allEvents(e, root.id);
    const old = events.filter((ev) => ev.ms < startMs + 1);
    expect(old.length).toBeLessThanOrEqual(nodeSlack);
    expect(events.map((ev) => ev.seq)).toEqual(
      Array.from({ length: events.length }, (_, i) => read.firstSeq + i),
    );
  });
});
