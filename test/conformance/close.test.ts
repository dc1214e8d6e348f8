import { describe, expect, it } from "vitest";
import {
  allLines,
  createChild,
  createRoot,
  expectRefused,
  expectRefusedUnchanged,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";
import { expectTreeInvariants } from "./tree-invariants.js";

describe.each(storeFactories)("close and conservation ($name store)", (factory) => {
  const env = useLedger(factory);

  it("closes a child: voids its holds and returns its unspent remainder to the parent", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    const child = await createChild(ledger, root.id, 400);
    await spend(ledger, child.id, 150);
    const { hold } = await ledger.authorize(project, {
      walletId: child.id,
      amount: 50,
      service: "llm",
      requestId: rid(),
    });
    const requestId = rid("close");
    const { wallet, returned } = await ledger.closeWallet(project, {
      walletId: child.id,
      requestId,
    });
    expect(returned).toBe(250);
    expect(wallet).toEqual({
      ...child,
      spent: 150,
      held: 0,
      allocated: 0,
      settled: 0,
      available: 0,
      totalSpent: 150,
      status: "closed",
      exhausted: true,
    });
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      budget: 1000,
      allocated: 0,
      settled: 150,
      available: 850,
      totalSpent: 150,
    });
    const voids = (await allLines(ledger, root.id)).filter((l) => l.kind === "void");
    expect(voids).toEqual([
      expect.objectContaining({ walletId: child.id, holdId: hold.id, amount: 50, requestId }),
    ]);
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      voidedHoldCredits: 50,
      voidedHoldCount: 1,
      available: 850,
      children: [{ walletId: child.id, status: "closed", available: 0, exhausted: true }],
    });
    await expectTreeInvariants(ledger, root.id);
  });

  it("closes every open descendant, deepest first, and settles their spend upward", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    const a = await createChild(ledger, root.id, 500);
    const a1 = await createChild(ledger, a.id, 200);
    const a1x = await createChild(ledger, a1.id, 50);
    const b = await createChild(ledger, root.id, 100);
    await spend(ledger, a1x.id, 10);
    await spend(ledger, a1.id, 20);
    await spend(ledger, a.id, 30);
    const deepHold = await ledger.authorize(project, {
      walletId: a1x.id,
      amount: 5,
      service: "llm",
      requestId: rid(),
    });
    const ownHold = await ledger.authorize(project, {
      walletId: a.id,
      amount: 7,
      service: "llm",
      requestId: rid(),
    });
    const requestId = rid("close");
    const { wallet, returned } = await ledger.closeWallet(project, { walletId: a.id, requestId });
    expect(returned).toBe(440);
    expect(wallet).toMatchObject({ spent: 30, settled: 30, totalSpent: 60, status: "closed" });
    expect(await ledger.getWallet(project, { walletId: a1.id })).toMatchObject({
      status: "closed",
      spent: 20,
      settled: 10,
      allocated: 0,
      available: 0,
    });
    expect(await ledger.getWallet(project, { walletId: a1x.id })).toMatchObject({
      status: "closed",
      spent: 10,
      held: 0,
      available: 0,
    });
    expect(await ledger.getWallet(project, { walletId: b.id })).toMatchObject({
      status: "open",
      available: 100,
    });
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      allocated: 100,
      settled: 60,
      available: 840,
      totalSpent: 60,
    });
    const voids = (await allLines(ledger, root.id)).filter((l) => l.kind === "void");
    expect(voids.map((l) => [l.holdId, l.amount, l.requestId])).toEqual([
      [deepHold.hold.id, 5, requestId],
      [ownHold.hold.id, 7, requestId],
    ]);
    await expectTreeInvariants(ledger, root.id);
  });

  it("closes a root: returns nothing, keeps every figure readable, refuses every mutation", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 50);
    await spend(ledger, root.id, 10);
    await spend(ledger, child.id, 20);
    const { hold } = await ledger.authorize(project, {
      walletId: child.id,
      amount: 5,
      service: "llm",
      requestId: rid(),
    });
    const { wallet, returned } = await ledger.closeWallet(project, {
      walletId: root.id,
      requestId: rid(),
    });
    expect(returned).toBe(0);
    expect(wallet).toMatchObject({
      budget: 100,
      spent: 10,
      held: 0,
      allocated: 0,
      settled: 20,
      available: 0,
      totalSpent: 30,
      status: "closed",
      exhausted: true,
    });
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      totalCredits: 30,
      callCount: 2,
      voidedHoldCredits: 5,
      available: 0,
    });
    const refusals = [
      () => spend(ledger, child.id, 1),
      () =>
        ledger.authorize(project, { walletId: root.id, amount: 1, service: "s", requestId: rid() }),
      () => createChild(ledger, root.id, 0),
      () => ledger.addCredits(project, { walletId: root.id, amount: 1, requestId: rid() }),
      () => ledger.closeWallet(project, { walletId: root.id, requestId: rid() }),
      () => ledger.closeWallet(project, { walletId: child.id, requestId: rid() }),
    ];
    for (const call of refusals) {
      await expectRefusedUnchanged(ledger, root.id, call, "WALLET_CLOSED");
    }
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => ledger.capture(project, { holdId: hold.id, amount: 1, requestId: rid() }),
      "HOLD_ALREADY_RESOLVED",
    );
    await expectTreeInvariants(ledger, root.id);
  });

  it("lets a soft-capped child that overspent return a negative remainder", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100, { hardCap: false });
    const child = await createChild(ledger, root.id, 10);
    await spend(ledger, child.id, 25);
    const { returned } = await ledger.closeWallet(project, {
      walletId: child.id,
      requestId: rid(),
    });
    expect(returned).toBe(-15);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      allocated: 0,
      settled: 25,
      available: 75,
      totalSpent: 25,
    });
    await expectTreeInvariants(ledger, root.id);
  });

  it("conserves credits through carve-outs, spends, holds, refills and closes", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 1000);
    const a = await createChild(ledger, root.id, 300);
    const b = await createChild(ledger, root.id, 200);
    const a1 = await createChild(ledger, a.id, 120);
    const steps: Array<() => Promise<unknown>> = [
      () => spend(ledger, a1.id, 45),
      () => spend(ledger, b.id, 60),
      () =>
        ledger.authorize(project, {
          walletId: a.id,
          amount: 80,
          service: "llm",
          ttlSeconds: 1,
          requestId: rid(),
        }),
      () => ledger.addCredits(project, { walletId: root.id, amount: 70, requestId: rid() }),
      () => ledger.addCredits(project, { walletId: a1.id, amount: 30, requestId: rid() }),
      async () => clock.advance(1000),
      () => ledger.closeWallet(project, { walletId: a1.id, requestId: rid() }),
      () => spend(ledger, root.id, 100),
      () => ledger.closeWallet(project, { walletId: a.id, requestId: rid() }),
    ];
    for (const step of steps) {
      await step();
      await expectTreeInvariants(ledger, root.id);
    }
    // 1070 granted; 45 + 60 + 100 spent; b still has 140; everything else is back in the root.
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      budget: 1070,
      spent: 100,
      allocated: 200,
      settled: 45,
      available: 725,
      totalSpent: 205,
    });
    expect(await ledger.getWallet(project, { walletId: b.id })).toMatchObject({ available: 140 });
  });

  it("expires a hold that ran out before the close instead of voiding it", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 50);
    const { hold } = await ledger.authorize(project, {
      walletId: child.id,
      amount: 20,
      service: "llm",
      ttlSeconds: 1,
      requestId: rid(),
    });
    clock.advance(1000);
    const { returned } = await ledger.closeWallet(project, {
      walletId: child.id,
      requestId: rid(),
    });
    expect(returned).toBe(50);
    expect((await allLines(ledger, root.id)).map((l) => [l.kind, l.holdId, l.requestId])).toEqual([
      ["expire", hold.id, ""],
    ]);
  });

  it("refuses to close a closed wallet with a new request id", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 10);
    await ledger.closeWallet(project, { walletId: child.id, requestId: rid() });
    await expectRefused(
      ledger.closeWallet(project, { walletId: child.id, requestId: rid() }),
      "WALLET_CLOSED",
    );
    expect((await ledger.getWallet(project, { walletId: root.id })).available).toBe(100);
  });
});
