import { describe, expect, it } from "vitest";
import type { Ledger } from "../../server/ledger/ledger.js";
import {
  createChild,
  createRoot,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";

async function exhausted(ledger: Ledger, ...walletIds: string[]): Promise<boolean[]> {
  const flags: boolean[] = [];
  for (const walletId of walletIds) {
    flags.push((await ledger.getWallet(project, { walletId })).exhausted);
  }
  return flags;
}

describe.each(storeFactories)("exhausted ($name store)", (factory) => {
  const env = useLedger(factory);

  it("is true from the start for a root with no budget", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 0);
    expect(root).toMatchObject({ available: 0, exhausted: true });
  });

  it("turns true when the last credit is spent and false again after a top-up", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 10);
    await spend(ledger, root.id, 9);
    expect(await exhausted(ledger, root.id)).toEqual([false]);
    await spend(ledger, root.id, 1);
    expect(await exhausted(ledger, root.id)).toEqual([true]);
    await ledger.addCredits(project, { walletId: root.id, amount: 1, requestId: rid() });
    expect(await exhausted(ledger, root.id)).toEqual([false]);
  });

  it("waits for every open descendant, at every depth", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const a = await createChild(ledger, root.id, 100);
    const a1 = await createChild(ledger, a.id, 60);
    const b = await createChild(ledger, a.id, 40);
    expect(await exhausted(ledger, root.id, a.id, a1.id, b.id)).toEqual([
      false,
      false,
      false,
      false,
    ]);
    await spend(ledger, a1.id, 60);
    expect(await exhausted(ledger, root.id, a.id, a1.id, b.id)).toEqual([
      false,
      false,
      true,
      false,
    ]);
    await spend(ledger, b.id, 40);
    expect(await exhausted(ledger, root.id, a.id, a1.id, b.id)).toEqual([true, true, true, true]);
    // Credits drawn into the deepest level revive it and every ancestor above it.
    await ledger.addCredits(project, { walletId: root.id, amount: 5, requestId: rid() });
    expect(await exhausted(ledger, root.id, a.id)).toEqual([false, true]);
    await ledger.addCredits(project, { walletId: a.id, amount: 5, requestId: rid() });
    await ledger.addCredits(project, { walletId: b.id, amount: 5, requestId: rid() });
    expect(await exhausted(ledger, root.id, a.id, a1.id, b.id)).toEqual([
      false,
      false,
      true,
      false,
    ]);
  });

  it("counts held credits as unavailable until the hold is voided or expires", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 30);
    const voided = await ledger.authorize(project, {
      walletId: root.id,
      amount: 20,
      service: "llm",
      requestId: rid(),
    });
    await ledger.authorize(project, {
      walletId: root.id,
      amount: 10,
      service: "llm",
      ttlSeconds: 2,
      requestId: rid(),
    });
    expect(await exhausted(ledger, root.id)).toEqual([true]);
    await ledger.void(project, { holdId: voided.hold.id, requestId: rid() });
    expect(await exhausted(ledger, root.id)).toEqual([false]);
    await spend(ledger, root.id, 20);
    expect(await exhausted(ledger, root.id)).toEqual([true]);
    clock.advance(2000);
    expect(await exhausted(ledger, root.id)).toEqual([false]);
  });

  it("is always true for a closed wallet, and the parent counts what came back", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 50);
    const child = await createChild(ledger, root.id, 50);
    await spend(ledger, child.id, 45);
    expect(await exhausted(ledger, root.id, child.id)).toEqual([false, false]);
    await ledger.closeWallet(project, { walletId: child.id, requestId: rid() });
    expect(await exhausted(ledger, root.id, child.id)).toEqual([false, true]);
    await spend(ledger, root.id, 5);
    expect(await exhausted(ledger, root.id)).toEqual([true]);
  });

  it("is true for a soft-capped wallet at or past its budget, though it may still spend", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 10, { hardCap: false });
    await spend(ledger, root.id, 12);
    expect(await exhausted(ledger, root.id)).toEqual([true]);
    expect((await spend(ledger, root.id, 1)).remaining).toBe(-3);
  });

  it("shows in the receipt's child summaries", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const a = await createChild(ledger, root.id, 10);
    const b = await createChild(ledger, root.id, 10);
    await spend(ledger, a.id, 10);
    const receipt = await ledger.getReceipt(project, { walletId: root.id });
    expect(receipt.children.map((c) => [c.walletId, c.exhausted, c.available])).toEqual([
      [a.id, true, 0],
      [b.id, false, 10],
    ]);
  });
});
