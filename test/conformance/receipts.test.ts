import { describe, expect, it } from "vitest";
import type { Ledger } from "../../server/ledger/ledger.js";
import {
  allLines,
  createChild,
  createRoot,
  project,
  rid,
  spend,
  startMs,
  storeFactories,
  useLedger,
} from "./harness.js";
import { expectTreeInvariants } from "./tree-invariants.js";

/**
 * A small tree with every kind of line:
 *   task (1000) ─┬─ researcher (300) ── scraper (100)
 *                └─ writer (200)
 */
async function buildTree(ledger: Ledger) {
  const root = await createRoot(ledger, 1000, { name: "task" });
  const researcher = await createChild(ledger, root.id, 300, { name: "researcher" });
  const writer = await createChild(ledger, root.id, 200, { name: "writer" });
  const scraper = await createChild(ledger, researcher.id, 100, { name: "scraper" });
  await spend(ledger, researcher.id, 20, { service: "search", metadata: { agent: "researcher" } });
  await spend(ledger, researcher.id, 5, { service: "llm", metadata: { agent: "researcher" } });
  await spend(ledger, scraper.id, 7, { service: "scrape", metadata: { agent: "scraper" } });
  await spend(ledger, writer.id, 30, { service: "llm", metadata: { agent: "writer" } });
  await spend(ledger, root.id, 3, { service: "llm" });
  const voided = await ledger.authorize(project, {
    walletId: writer.id,
    amount: 40,
    service: "llm",
    requestId: rid(),
  });
  await ledger.void(project, { holdId: voided.hold.id, requestId: rid() });
  const captured = await ledger.authorize(project, {
    walletId: scraper.id,
    amount: 10,
    service: "scrape",
    metadata: { agent: "scraper" },
    requestId: rid(),
  });
  await ledger.capture(project, { holdId: captured.hold.id, amount: 6, requestId: rid() });
  await ledger.addCredits(project, { walletId: root.id, amount: 50, requestId: rid() });
  return { root, researcher, writer, scraper };
}

describe.each(storeFactories)("receipts and lines ($name store)", (factory) => {
  const env = useLedger(factory);

  it("sums a subtree's debits, breakdowns, refills and voids into the root's receipt", async () => {
    const { ledger } = env();
    const { root, researcher, writer } = await buildTree(ledger);
    expect(await ledger.getReceipt(project, { walletId: root.id })).toEqual({
      walletId: root.id,
      name: "task",
      totalCredits: 71,
      callCount: 6,
      ownCredits: 3,
      ownCallCount: 1,
      // Most credits first; the rest (none here) sum into the "other" rows.
      byService: [
        { key: "llm", credits: 38, callCount: 3 },
        { key: "search", credits: 20, callCount: 1 },
        { key: "scrape", credits: 13, callCount: 2 },
      ],
      byServiceOther: { key: "", credits: 0, callCount: 0 },
      serviceKeyCount: 3,
      // The root's own spend has no agent label: it counts under the root's name, its role.
      byAgent: [
        { key: "writer", credits: 30, callCount: 1 },
        { key: "researcher", credits: 25, callCount: 2 },
        { key: "scraper", credits: 13, callCount: 2 },
        { key: "task", credits: 3, callCount: 1 },
      ],
      byAgentOther: { key: "", credits: 0, callCount: 0 },
      agentKeyCount: 4,
      refillCredits: 50,
      refillCount: 1,
      voidedHoldCredits: 40,
      voidedHoldCount: 1,
      overBudgetCount: 0,
      budget: 1050,
      available: 547,
      childCount: 2,
      children: [
        {
          walletId: researcher.id,
          name: "researcher",
          budget: 300,
          totalCredits: 38,
          callCount: 4,
          available: 175,
          status: "open",
          exhausted: false,
        },
        {
          walletId: writer.id,
          name: "writer",
          budget: 200,
          totalCredits: 30,
          callCount: 1,
          available: 170,
          status: "open",
          exhausted: false,
        },
      ],
    });
  });

  it("gives each wallet a receipt of its own subtree", async () => {
    const { ledger } = env();
    const { researcher, writer, scraper } = await buildTree(ledger);
    expect(await ledger.getReceipt(project, { walletId: researcher.id })).toEqual({
      walletId: researcher.id,
      name: "researcher",
      totalCredits: 38,
      callCount: 4,
      ownCredits: 25,
      ownCallCount: 2,
      byService: [
        { key: "search", credits: 20, callCount: 1 },
        { key: "scrape", credits: 13, callCount: 2 },
        { key: "llm", credits: 5, callCount: 1 },
      ],
      byServiceOther: { key: "", credits: 0, callCount: 0 },
      serviceKeyCount: 3,
      byAgent: [
        { key: "researcher", credits: 25, callCount: 2 },
        { key: "scraper", credits: 13, callCount: 2 },
      ],
      byAgentOther: { key: "", credits: 0, callCount: 0 },
      agentKeyCount: 2,
      refillCredits: 0,
      refillCount: 0,
      voidedHoldCredits: 0,
      voidedHoldCount: 0,
      overBudgetCount: 0,
      budget: 300,
      available: 175,
      childCount: 1,
      children: [
        {
          walletId: scraper.id,
          name: "scraper",
          budget: 100,
          totalCredits: 13,
          callCount: 2,
          available: 87,
          status: "open",
          exhausted: false,
        },
      ],
    });
    expect(await ledger.getReceipt(project, { walletId: writer.id })).toEqual({
      walletId: writer.id,
      name: "writer",
      totalCredits: 30,
      callCount: 1,
      ownCredits: 30,
      ownCallCount: 1,
      byService: [{ key: "llm", credits: 30, callCount: 1 }],
      byServiceOther: { key: "", credits: 0, callCount: 0 },
      serviceKeyCount: 1,
      byAgent: [{ key: "writer", credits: 30, callCount: 1 }],
      byAgentOther: { key: "", credits: 0, callCount: 0 },
      agentKeyCount: 1,
      refillCredits: 0,
      refillCount: 0,
      voidedHoldCredits: 40,
      voidedHoldCount: 1,
      overBudgetCount: 0,
      budget: 200,
      available: 170,
      childCount: 0,
      children: [],
    });
    expect(await ledger.getReceipt(project, { walletId: scraper.id })).toMatchObject({
      totalCredits: 13,
      callCount: 2,
      ownCredits: 13,
      ownCallCount: 2,
      children: [],
    });
  });

  it("lists a subtree's lines oldest first, and only the wallet's own without descendants", async () => {
    const { ledger } = env();
    const { root, researcher, writer, scraper } = await buildTree(ledger);
    const summary = (lines: Awaited<ReturnType<typeof allLines>>) =>
      lines.map((l) => [l.id.slice(root.id.length + 1), l.walletId, l.kind, l.amount]);
    expect(summary(await allLines(ledger, root.id))).toEqual([
      ["c4", researcher.id, "spend", 20],
      ["c5", researcher.id, "spend", 5],
      ["c6", scraper.id, "spend", 7],
      ["c7", writer.id, "spend", 30],
      ["c8", root.id, "spend", 3],
      ["c10", writer.id, "void", 40],
      ["c12", scraper.id, "capture", 6],
      ["c13", root.id, "refill", 50],
    ]);
    expect(summary(await allLines(ledger, root.id, false))).toEqual([
      ["c8", root.id, "spend", 3],
      ["c13", root.id, "refill", 50],
    ]);
    expect(summary(await allLines(ledger, researcher.id))).toEqual([
      ["c4", researcher.id, "spend", 20],
      ["c5", researcher.id, "spend", 5],
      ["c6", scraper.id, "spend", 7],
      ["c12", scraper.id, "capture", 6],
    ]);
    const lines = await allLines(ledger, root.id);
    expect(lines.every((l) => l.createdAtMs === startMs)).toBe(true);
  });

  it("keeps every receipt equal to the sum of its lines, and the balances consistent", async () => {
    const { ledger } = env();
    const { root } = await buildTree(ledger);
    await expectTreeInvariants(ledger, root.id);
  });
});
