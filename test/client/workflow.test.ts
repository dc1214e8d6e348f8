import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InsufficientCreditsError, type Mode, type Receipt } from "../../client/index.js";
import { collect, rejection, type Served, serve } from "./support.js";

/** Breakdowns in key order, as plain data (the server's order is not part of the contract). */
function byKey(rows: Receipt["byService"]) {
  return [...rows].sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * The reference article's workflow, end to end through the typed client against a real server on
 * a real Redis: a task wallet, a spend with a credential, a child per agent role, receipts with
 * totals and call counts, a top-up, exhaustion, closing. Every figure is asserted exactly.
 */
describe.each<Mode>(["unary", "stream"])("reference workflow (%s mode)", (mode) => {
  let served: Served;
  beforeEach(async () => {
    served = await serve({ client: { mode } });
  });
  afterEach(async () => {
    await served.dispose();
  });

  it("creates, spends, carves a child, totals receipts, tops up and ends exhausted", async () => {
    const { tg } = served;
    const task = await tg.wallets.create({
      name: "research-task",
      budget: 1000,
      hardCap: true,
      metadata: { run: "r-1" },
    });
    expect(task.mode).toBe(mode);
    expect(task).toMatchObject({
      name: "research-task",
      parentId: "",
      rootId: task.id,
      depth: 1,
      hardCap: true,
      metadata: { run: "r-1" },
      budget: 1000n,
      spent: 0n,
      available: 1000n,
      closed: false,
      exhausted: false,
    });

    const search = await task.spend(10, { service: "web-search", metadata: { agent: "planner" } });
    expect(search.charge).toMatchObject({
      walletId: task.id,
      kind: "SPEND",
      amount: 10n,
      service: "web-search",
      metadata: { agent: "planner" },
      overBudget: false,
      holdId: "",
    });
    expect(search.remaining).toBe(990n);
    expect(task.available).toBe(990n);
    // A compact JWS: header.payload.signature.
    expect(search.credential.split(".")).toHaveLength(3);
    expect(search.credentialExpiresAt.getTime()).toBeGreaterThan(Date.now());

    const writer = await task.createChild({ name: "writer", budget: 300n });
    expect(writer).toMatchObject({
      parentId: task.id,
      rootId: task.id,
      depth: 2,
      hardCap: true,
      budget: 300n,
      available: 300n,
      mode,
    });
    await writer.spend(25, { service: "llm", metadata: { agent: "writer" } });
    const second = await writer.spend(25n, { service: "llm", metadata: { agent: "writer" } });
    expect(second.remaining).toBe(250n);

    await task.refresh();
    expect(task).toMatchObject({ budget: 1000n, spent: 10n, allocated: 300n, available: 690n });
    expect(task.totalSpent).toBe(60n);

    const receipt = await task.getReceipt();
    expect(receipt).toMatchObject({
      walletId: task.id,
      name: "research-task",
      totalCredits: 60n,
      callCount: 3n,
      ownCredits: 10n,
      ownCallCount: 1n,
      refillCredits: 0n,
      refillCount: 0n,
      budget: 1000n,
      available: 690n,
    });
    expect(byKey(receipt.byService)).toEqual([
      { key: "llm", credits: 50n, callCount: 2n },
      { key: "web-search", credits: 10n, callCount: 1n },
    ]);
    expect(byKey(receipt.byAgent)).toEqual([
      { key: "planner", credits: 10n, callCount: 1n },
      { key: "writer", credits: 50n, callCount: 2n },
    ]);
    expect(receipt.children).toEqual([
      {
        walletId: writer.id,
        name: "writer",
        budget: 300n,
        totalCredits: 50n,
        callCount: 2n,
        available: 250n,
        closed: false,
        exhausted: false,
      },
    ]);

    // A root top-up is a REFILL; a child's addCredits draws from the parent.
    expect(await task.addCredits(500)).toBe(task);
    expect(task).toMatchObject({ budget: 1500n, available: 1190n });
    await writer.addCredits(100);
    expect(writer).toMatchObject({ budget: 400n, available: 350n });
    await task.refresh();
    expect(task).toMatchObject({ allocated: 400n, available: 1090n });
    expect(await task.getReceipt()).toMatchObject({ refillCredits: 500n, refillCount: 1n });

    expect(await writer.isExhausted()).toBe(false);
    expect((await writer.spend(350, { service: "llm" })).remaining).toBe(0n);
    expect(await writer.isExhausted()).toBe(true);
    expect(await task.isExhausted()).toBe(false);

    const refused = await rejection(writer.spend(1, { service: "llm" }));
    expect(refused).toBeInstanceOf(InsufficientCreditsError);
    expect(refused).toMatchObject({ walletId: writer.id, requested: 1n, available: 0n });

    expect(await writer.close()).toEqual({ returned: 0n });
    expect(writer.closed).toBe(true);
    expect(await writer.isExhausted()).toBe(true);
    await task.refresh();
    expect(task).toMatchObject({
      budget: 1500n,
      spent: 10n,
      allocated: 0n,
      settled: 400n,
      available: 1090n,
      totalSpent: 410n,
    });
    const final = await task.getReceipt();
    expect(final).toMatchObject({ totalCredits: 410n, callCount: 4n, ownCallCount: 1n });
    expect(final.children[0]).toMatchObject({ closed: true, totalCredits: 400n, callCount: 3n });

    // Receipt lines add up to the receipt: 4 debits, 1 refill, 1 allocation, 410 credits.
    const { items: lines } = await collect(task.listCharges({ includeDescendants: true }));
    const debits = lines.filter((l) => l.kind === "SPEND");
    expect(debits).toHaveLength(4);
    expect(debits.reduce((sum, l) => sum + l.amount, 0n)).toBe(410n);
    expect(lines.filter((l) => l.kind === "REFILL").map((l) => l.amount)).toEqual([500n]);
    expect(lines.filter((l) => l.kind === "ALLOCATION").map((l) => l.amount)).toEqual([100n]);
  });

  it("authorizes, captures part of a hold and voids another", async () => {
    const { tg } = served;
    const task = await tg.wallets.create({ name: "holds", budget: 100 });
    const auth = await task.authorize(40, { service: "scrape", ttlSeconds: 60 });
    expect(auth.hold).toMatchObject({ amount: 40n, status: "OPEN", capturedAmount: 0n });
    expect(auth.remaining).toBe(60n);
    expect(auth.credential.split(".")).toHaveLength(3);
    const captured = await auth.capture(15, { metadata: { pages: "3" } });
    expect(captured.hold).toMatchObject({ status: "CAPTURED", capturedAmount: 15n });
    expect(captured.charge).toMatchObject({ kind: "CAPTURE", amount: 15n, holdId: auth.hold.id });
    expect(captured.remaining).toBe(85n);
    expect(task.available).toBe(85n);

    const other = await task.authorize(50n, { service: "scrape" });
    const voided = await other.void();
    expect(voided.hold.status).toBe("VOIDED");
    expect(voided.remaining).toBe(85n);
    await task.refresh();
    expect(task).toMatchObject({ spent: 15n, held: 0n, available: 85n });
    expect(await task.getReceipt()).toMatchObject({
      totalCredits: 15n,
      callCount: 1n,
      voidedHoldCredits: 50n,
      voidedHoldCount: 1n,
    });
  });
});
