import { describe, expect, it } from "vitest";
import type { EventPosition, LedgerEvent } from "../../server/ledger/types.js";
import { eventually } from "../support/eventually.js";
import { allEvents, balances, briefs, head, readEvents, stepEvents } from "./event-calls.js";
import {
  allLines,
  createChild,
  createRoot,
  expectRefused,
  otherProject,
  project,
  rid,
  spend,
  startMs,
  storeFactories,
  useLedger,
} from "./harness.js";
import { authorize, capture, voidHold } from "./hold-calls.js";

/** docs/events.md: which step appends which events, in which order, with which balances. */
describe.each(storeFactories)("event log ($name store)", (factory) => {
  const env = useLedger(factory);

  it("appends each step's events in commit order, with the balances right after", async () => {
    const e = env();
    const { ledger, clock } = e;
    const root = await createRoot(ledger, 100);
    clock.advance(1);
    const child = await createChild(ledger, root.id, 40);
    clock.advance(1);
    await spend(ledger, child.id, 10);
    clock.advance(1);
    const held = (await authorize(ledger, child.id, 20)).hold;
    clock.advance(1);
    await capture(ledger, held.id, 15);
    clock.advance(1);
    const voided = (await authorize(ledger, child.id, 5)).hold;
    clock.advance(1);
    await voidHold(ledger, voided.id);
    clock.advance(1);
    await ledger.addCredits(project, { walletId: root.id, amount: 50, requestId: rid() });
    clock.advance(1);
    await ledger.addCredits(project, { walletId: child.id, amount: 10, requestId: rid() });

    const lines = await allLines(ledger, root.id);
    expect(lines.map((l) => l.kind)).toEqual(["spend", "capture", "void", "refill", "allocation"]);
    const [spendLine, captureLine, voidLine, refillLine, allocationLine] = lines;
    const at = (seq: number, ms: number) => ({ seq, ms: startMs + ms, rootId: root.id });
    const bal = (
      budget: number,
      spent: number,
      held: number,
      allocated: number,
      available: number,
      totalSpent: number,
    ) => ({ budget, spent, held, allocated, available, totalSpent });
    const expected: LedgerEvent[] = [
      {
        ...at(1, 0),
        kind: "wallet_created",
        walletId: root.id,
        balances: bal(100, 0, 0, 0, 100, 0),
      },
      {
        ...at(2, 1),
        kind: "wallet_created",
        walletId: child.id,
        balances: bal(40, 0, 0, 0, 40, 0),
      },
      {
        ...at(3, 2),
        kind: "spend",
        walletId: child.id,
        line: spendLine,
        balances: bal(40, 10, 0, 0, 30, 10),
      },
      {
        ...at(4, 3),
        kind: "hold_placed",
        walletId: child.id,
        holdId: held.id,
        balances: bal(40, 10, 20, 0, 10, 10),
      },
      {
        ...at(5, 4),
        kind: "capture",
        walletId: child.id,
        line: captureLine,
        balances: bal(40, 25, 0, 0, 15, 25),
      },
      {
        ...at(6, 4),
        kind: "threshold_crossed",
        walletId: child.id,
        thresholdPercent: 50,
        balances: bal(40, 25, 0, 0, 15, 25),
      },
      {
        ...at(7, 5),
        kind: "hold_placed",
        walletId: child.id,
        holdId: voided.id,
        balances: bal(40, 25, 5, 0, 10, 25),
      },
      {
        ...at(8, 6),
        kind: "void",
        walletId: child.id,
        line: voidLine,
        balances: bal(40, 25, 0, 0, 15, 25),
      },
      {
        ...at(9, 7),
        kind: "refill",
        walletId: root.id,
        line: refillLine,
        balances: bal(150, 0, 0, 40, 110, 25),
      },
      {
        ...at(10, 8),
        kind: "allocation",
        walletId: child.id,
        line: allocationLine,
        balances: bal(50, 25, 0, 0, 25, 25),
      },
    ];
    expect(await allEvents(e, root.id)).toEqual(expected);
    const read = await readEvents(e, root.id);
    expect(read.firstSeq).toBe(1);
    expect(read.head).toEqual({ seq: 10, ms: startMs + 8 });
    expect(read.scannedTo).toEqual({ seq: 10, ms: startMs + 8 });
  });

  it("appends nothing for a refused call or a replay", async () => {
    const e = env();
    const { ledger } = e;
    const rootRequest = rid("root");
    const create = { name: "task", budget: 10, requestId: rootRequest };
    const root = await ledger.createWallet(project, create);
    const requestId = rid("spend");
    await spend(ledger, root.id, 5, { requestId });
    const child = await createChild(ledger, root.id, 2);
    const { hold } = await authorize(ledger, root.id, 1);
    await voidHold(ledger, hold.id);
    await ledger.closeWallet(project, { walletId: child.id, requestId: rid() });
    const before = await allEvents(e, root.id);
    expect(briefs(before)).toEqual([
      ["wallet_created", root.id],
      ["spend", root.id],
      ["threshold_crossed", root.id, 50],
      ["wallet_created", child.id],
      ["hold_placed", root.id, hold.id],
      ["void", root.id],
      ["wallet_closed", child.id],
    ]);

    await expectRefused(spend(ledger, root.id, 6), "INSUFFICIENT_CREDITS");
    await expectRefused(createChild(ledger, root.id, 100), "INSUFFICIENT_CREDITS");
    await expectRefused(spend(ledger, child.id, 1), "WALLET_CLOSED");
    await expectRefused(voidHold(ledger, hold.id), "HOLD_ALREADY_RESOLVED");
    await expectRefused(
      ledger.closeWallet(project, { walletId: child.id, requestId: rid() }),
      "WALLET_CLOSED",
    );
    await expectRefused(
      spend(ledger, root.id, 4, { requestId, service: "other" }),
      "IDEMPOTENCY_KEY_REUSED",
    );
    // Replays answer from the first outcome and change nothing.
    expect((await spend(ledger, root.id, 5, { requestId })).remaining).toBe(5);
    expect((await ledger.createWallet(project, create)).id).toBe(root.id);

    expect(await allEvents(e, root.id)).toEqual(before);
  });

  it("numbers events from 1 without gaps, and their ms never go back", async () => {
    const e = env();
    const { ledger, clock } = e;
    const root = await createRoot(ledger, 1000);
    clock.advance(10_000);
    await spend(ledger, root.id, 1);
    // A server whose clock is behind commits after one that is ahead: ms holds still.
    clock.advance(-5_000);
    await spend(ledger, root.id, 1);
    clock.advance(-5_000);
    await createChild(ledger, root.id, 10);
    clock.advance(20_000);
    await spend(ledger, root.id, 1);
    const events = await allEvents(e, root.id);
    expect(events.map((ev) => [ev.seq, ev.ms - startMs])).toEqual([
      [1, 0],
      [2, 10_000],
      [3, 10_000],
      [4, 10_000],
      [5, 20_000],
    ]);
  });

  it("appends an expire event when the sweeper expires a hold", async () => {
    const e = env();
    const { ledger, clock, store } = e;
    const root = await createRoot(ledger, 100);
    const { hold } = await authorize(ledger, root.id, 30, { ttlSeconds: 1 });
    const placed = await head(e, root.id);
    clock.advance(5_000);
    // Reading the log works off nothing: the hold is still due, not expired.
    expect((await readEvents(e, root.id, { after: placed })).events).toEqual([]);
    while (await store.sweep(clock.now())) {}
    const [line] = await allLines(ledger, root.id);
    expect(line).toMatchObject({ kind: "expire", holdId: hold.id, createdAtMs: hold.expiresAtMs });
    expect(await readEvents(e, root.id, { after: placed })).toMatchObject({
      events: [
        {
          seq: placed.seq + 1,
          ms: startMs + 5_000,
          kind: "expire",
          walletId: root.id,
          line,
          balances: { budget: 100, held: 0, available: 100 },
        },
      ],
    });
  });

  it("appends expire events before the events of the call that worked them off", async () => {
    const e = env();
    const { ledger, clock } = e;
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 50);
    const late = (await authorize(ledger, root.id, 10, { ttlSeconds: 2 })).hold;
    const early = (await authorize(ledger, child.id, 30, { ttlSeconds: 1 })).hold;
    clock.advance(5_000);
    const events = await stepEvents(e, root.id, () => spend(ledger, root.id, 5));
    expect(briefs(events)).toEqual([
      ["expire", child.id],
      ["expire", root.id],
      ["spend", root.id],
    ]);
    expect(events.map((ev) => ev.line?.holdId)).toEqual([early.id, late.id, ""]);
    expect(events.map((ev) => ev.ms)).toEqual([clock.now(), clock.now(), clock.now()]);
    expect(balances(events[0]?.balances as LedgerEvent["balances"])).toEqual([50, 0, 0, 0, 50, 0]);

    // A read of the tree is a step too: it appends the expiries it works off.
    const last = (await authorize(ledger, child.id, 7, { ttlSeconds: 1 })).hold;
    clock.advance(1_000);
    const read = await stepEvents(e, root.id, () =>
      ledger.getWallet(project, { walletId: root.id }),
    );
    expect(read).toMatchObject([{ kind: "expire", walletId: child.id, line: { holdId: last.id } }]);
  });

  it("appends the close cascade: each wallet's voids, then its close, children first", async () => {
    const e = env();
    const { ledger, clock } = e;
    const root = await createRoot(ledger, 1000);
    const a = await createChild(ledger, root.id, 300);
    const a1 = await createChild(ledger, a.id, 100);
    const a2 = await createChild(ledger, a.id, 50);
    const h1 = (await authorize(ledger, a.id, 20)).hold;
    const h2 = (await authorize(ledger, a1.id, 10)).hold;
    const h3 = (await authorize(ledger, a1.id, 5)).hold;
    await spend(ledger, a1.id, 10);
    clock.advance(1_000);
    const requestId = rid("close");
    const events = await stepEvents(e, root.id, () =>
      ledger.closeWallet(project, { walletId: a.id, requestId }),
    );
    expect(briefs(events)).toEqual([
      ["void", a1.id],
      ["void", a1.id],
      ["wallet_closed", a1.id],
      ["wallet_closed", a2.id],
      ["void", a.id],
      ["wallet_closed", a.id],
    ]);
    expect(events.map((ev) => ev.line?.holdId)).toEqual([
      h2.id,
      h3.id,
      undefined,
      undefined,
      h1.id,
      undefined,
    ]);
    expect(events.map((ev) => balances(ev.balances))).toEqual([
      [100, 10, 5, 0, 85, 10],
      [100, 10, 0, 0, 90, 10],
      [100, 10, 0, 0, 0, 10],
      [50, 0, 0, 0, 0, 0],
      // a's children are closed: nothing allocated, a1's 10 settled.
      [300, 0, 0, 0, 290, 10],
      [300, 0, 0, 0, 0, 10],
    ]);
    const voids = (await allLines(ledger, root.id)).filter((l) => l.kind === "void");
    expect(events.filter((ev) => ev.kind === "void").map((ev) => ev.line)).toEqual(voids);
    expect(voids.every((l) => l.requestId === requestId)).toBe(true);
    expect(events.every((ev) => ev.ms === clock.now())).toBe(true);
  });

  it("refuses another project's tree and a missing wallet as WALLET_NOT_FOUND", async () => {
    const e = env();
    const root = await createRoot(e.ledger, 100);
    await expectRefused(readEvents(e, root.id, { project: otherProject }), "WALLET_NOT_FOUND", {
      wallet_id: root.id,
    });
    const missing = `${root.id}.w99`;
    await expectRefused(readEvents(e, missing), "WALLET_NOT_FOUND", { wallet_id: missing });
    await expectRefused(readEvents(e, "nosuchtree"), "WALLET_NOT_FOUND", {
      wallet_id: "nosuchtree",
    });
    const theirs = await createRoot(e.ledger, 100, {}, otherProject);
    await expectRefused(readEvents(e, theirs.id), "WALLET_NOT_FOUND", { wallet_id: theirs.id });
  });

  it("returns copies: changing a read event changes nothing stored", async () => {
    const e = env();
    const root = await createRoot(e.ledger, 100);
    await spend(e.ledger, root.id, 10, { metadata: { agent: "a" } });
    const first = await allEvents(e, root.id);
    const snapshot = structuredClone(first);
    for (const ev of first) {
      ev.balances.available = -1;
      ev.kind = "void";
      if (ev.line !== undefined) {
        ev.line.amount = 999;
        ev.line.metadata.agent = "mallory";
      }
    }
    expect(await allEvents(e, root.id)).toEqual(snapshot);
  });

  it("notifies subscribers with the position of each step's last event", async () => {
    const e = env();
    const { ledger, store } = e;
    const root = await createRoot(ledger, 1000);
    const seen: { rootId: string; position: EventPosition | undefined }[] = [];
    const checks: Promise<void>[] = [];
    const unsubscribe = store.subscribeEvents(project, (rootId, position) => {
      if (rootId === undefined) return;
      seen.push({ rootId, position });
      // Never ahead of the log: the events are readable when their notification arrives.
      checks.push(
        readEvents(e, rootId, { limit: 1 }).then((read) => {
          expect(read.head.seq).toBeGreaterThanOrEqual(position?.seq ?? Infinity);
        }),
      );
    });
    try {
      // A subscription may take a moment to be in place (Redis SUBSCRIBE): step until it is.
      await eventually(async () => {
        await spend(ledger, root.id, 1);
        expect(seen.some((s) => s.rootId === root.id)).toBe(true);
      });
      const theirs = await createRoot(ledger, 100, {}, otherProject);
      await ledger.spend(otherProject, {
        walletId: theirs.id,
        amount: 1,
        service: "search",
        requestId: rid(),
      });
      // One step, three events (spend, then thresholds 50 and 80): notified with the last.
      await spend(ledger, root.id, 800);
      const last = await head(e, root.id);
      expect(last.seq).toBeGreaterThanOrEqual(5);
      await eventually(async () => {
        expect(seen.at(-1)).toEqual({ rootId: root.id, position: last });
      });
      expect(seen.some((s) => s.rootId === theirs.id)).toBe(false);
      // Positions only move forward.
      const seqs = seen.map((s) => s.position?.seq ?? 0);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      await Promise.all(checks);
    } finally {
      unsubscribe();
    }
    const count = seen.length;
    await spend(ledger, root.id, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen).toHaveLength(count);
  });
});
