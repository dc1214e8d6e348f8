import { describe, expect, it } from "vitest";
import type { Ledger } from "../../server/ledger/ledger.js";
import { LedgerError } from "../../server/ledger/ledger-error.js";
import {
  createChild,
  createRoot,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";
import { expectTreeInvariants } from "./tree-invariants.js";

/** Spends `amount` until the cap refuses; returns how many spends were granted and the refusal. */
async function spendUntilRefused(
  ledger: Ledger,
  walletId: string,
  amount: number,
  service: string,
  agent: string,
): Promise<{ granted: number; refusal: LedgerError }> {
  for (let granted = 0; granted < 1000; granted += 1) {
    try {
      await spend(ledger, walletId, amount, { service, metadata: { agent } });
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
      return { granted, refusal: error };
    }
  }
  throw new Error("the cap never refused");
}

describe.each(storeFactories)("reference workflow ($name store)", (factory) => {
  const env = useLedger(factory);

  it("runs a task wallet with three agents until the hard caps refuse, with receipts that add up", async () => {
    const { ledger } = env();
    const task = await createRoot(ledger, 1000, { name: "market research" });
    const researcher = await createChild(ledger, task.id, 400, { name: "researcher" });
    const writer = await createChild(ledger, task.id, 300, { name: "writer" });
    const critic = await createChild(ledger, task.id, 150, { name: "critic" });

    const runs = [
      await spendUntilRefused(ledger, researcher.id, 7, "web_search", "researcher"),
      await spendUntilRefused(ledger, writer.id, 25, "llm", "writer"),
      await spendUntilRefused(ledger, critic.id, 40, "llm", "critic"),
    ];
    expect(runs.map((r) => r.granted)).toEqual([57, 12, 3]);
    expect(runs.map((r) => [r.refusal.reason, r.refusal.metadata])).toEqual([
      ["INSUFFICIENT_CREDITS", { wallet_id: researcher.id, requested: "7", available: "1" }],
      ["INSUFFICIENT_CREDITS", { wallet_id: writer.id, requested: "25", available: "0" }],
      ["INSUFFICIENT_CREDITS", { wallet_id: critic.id, requested: "40", available: "30" }],
    ]);

    const perChild = [];
    for (const child of [researcher, writer, critic]) {
      perChild.push(await ledger.getReceipt(project, { walletId: child.id }));
    }
    expect(perChild.map((r) => [r.name, r.totalCredits, r.callCount, r.available])).toEqual([
      ["researcher", 399, 57, 1],
      ["writer", 300, 12, 0],
      ["critic", 120, 3, 30],
    ]);
    const receipt = await ledger.getReceipt(project, { walletId: task.id });
    expect(receipt).toMatchObject({
      name: "market research",
      totalCredits: 819,
      callCount: 72,
      ownCredits: 0,
      ownCallCount: 0,
      byService: [
        { key: "llm", credits: 420, callCount: 15 },
        { key: "web_search", credits: 399, callCount: 57 },
      ],
      byAgent: [
        { key: "researcher", credits: 399, callCount: 57 },
        { key: "writer", credits: 300, callCount: 12 },
        { key: "critic", credits: 120, callCount: 3 },
      ],
      budget: 1000,
      available: 150,
    });
    expect(receipt.totalCredits).toBe(perChild.reduce((s, r) => s + r.totalCredits, 0));
    expect(receipt.children.map((c) => [c.name, c.totalCredits, c.exhausted])).toEqual([
      ["researcher", 399, false],
      ["writer", 300, true],
      ["critic", 120, false],
    ]);
    expect(await ledger.getWallet(project, { walletId: task.id })).toMatchObject({
      totalSpent: 819,
      allocated: 850,
      available: 150,
      exhausted: false,
    });
    await expectTreeInvariants(ledger, task.id);

    // The run ends: each agent's wallet closes and hands its remainder back to the task.
    const returned = [];
    for (const child of [researcher, writer, critic]) {
      returned.push(
        (await ledger.closeWallet(project, { walletId: child.id, requestId: rid() })).returned,
      );
    }
    expect(returned).toEqual([1, 0, 30]);
    expect(await ledger.getWallet(project, { walletId: task.id })).toMatchObject({
      allocated: 0,
      settled: 819,
      available: 181,
      totalSpent: 819,
      exhausted: false,
    });
    await expectTreeInvariants(ledger, task.id);
  });
});
