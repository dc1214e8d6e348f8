import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Ledger } from "../../../server/ledger/ledger.js";
import { LedgerError } from "../../../server/ledger/ledger-error.js";
import type { ChargeLine, WalletView } from "../../../server/ledger/types.js";
import { memoryEnv, project, rid } from "./fixture.js";

/**
 * The memory store keeps `exhausted`, `totalSpent`, receipt aggregates and subtree line lists
 * incrementally (so reads never walk a subtree). This property test recomputes each of them from
 * the wallets and lines after every step of random operations and demands equality, so a missed
 * update anywhere along an ancestor chain shows up.
 */

const op = fc.oneof(
  fc.tuple(fc.constant("child" as const), fc.nat(), fc.integer({ min: 0, max: 40 })),
  fc.tuple(fc.constant("spend" as const), fc.nat(), fc.integer({ min: 1, max: 30 })),
  fc.tuple(fc.constant("authorize" as const), fc.nat(), fc.integer({ min: 1, max: 30 })),
  fc.tuple(fc.constant("capture" as const), fc.nat(), fc.integer({ min: 1, max: 30 })),
  fc.tuple(fc.constant("void" as const), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant("close" as const), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant("credits" as const), fc.nat(), fc.integer({ min: 1, max: 20 })),
  fc.tuple(fc.constant("wait" as const), fc.constant(0), fc.integer({ min: 0, max: 3_000 })),
);

describe("memory store maintained figures", () => {
  it("always equal the figures recomputed from wallets and lines", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(op, { maxLength: 40 }), async (hardCap, ops) => {
        const { ledger, advance } = await memoryEnv();
        const top = await ledger.createWallet(project, { budget: 100, hardCap, requestId: rid() });
        const walletIds = [top.id];
        const holdIds: string[] = [];
        for (const [kind, pick, amount] of ops) {
          const walletId = walletIds[pick % walletIds.length] as string;
          const holdId = holdIds[pick % Math.max(holdIds.length, 1)];
          await run(async () => {
            const requestId = rid();
            switch (kind) {
              case "child": {
                const budget = amount;
                const created = await ledger.createWallet(project, {
                  parentId: walletId,
                  budget,
                  requestId,
                });
                walletIds.push(created.id);
                return;
              }
              case "spend":
                await ledger.spend(project, {
                  walletId,
                  amount,
                  service: `s${pick % 3}`,
                  requestId,
                });
                return;
              case "authorize": {
                const { hold } = await ledger.authorize(project, {
                  walletId,
                  amount,
                  service: "llm",
                  metadata: pick % 2 === 0 ? { agent: "a" } : {},
                  ttlSeconds: 1 + (pick % 5),
                  requestId,
                });
                holdIds.push(hold.id);
                return;
              }
              case "capture":
                if (holdId !== undefined)
                  await ledger.capture(project, { holdId, amount, requestId });
                return;
              case "void":
                if (holdId !== undefined) await ledger.void(project, { holdId, requestId });
                return;
              case "close":
                await ledger.closeWallet(project, { walletId, requestId });
                return;
              case "credits":
                await ledger.addCredits(project, { walletId, amount, requestId });
                return;
              case "wait":
                advance(amount);
                return;
            }
          });
          await checkTree(ledger, top.id);
        }
      }),
      { numRuns: 150 },
    );
  });
});

/** Runs an operation; refusals are expected (caps, closed wallets, resolved holds). */
async function run(step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    if (!(error instanceof LedgerError)) throw error;
  }
}

const isDebit = (l: ChargeLine) => l.kind === "spend" || l.kind === "capture";
const sum = (lines: ChargeLine[]) => lines.reduce((n, l) => n + l.amount, 0);
const lineSeq = (l: ChargeLine) => Number(l.id.slice(l.id.lastIndexOf(".c") + 2));

interface Checked {
  view: WalletView;
  lines: ChargeLine[];
}

async function checkTree(ledger: Ledger, walletId: string): Promise<Checked> {
  const view = await ledger.getWallet(project, { walletId });
  const children = (await ledger.listWallets(project, { parentId: walletId, pageSize: 1000 }))
    .items;
  const checkedChildren: Checked[] = [];
  for (const child of children) checkedChildren.push(await checkTree(ledger, child.id));

  const own = (await ledger.listCharges(project, { walletId, pageSize: 1000 })).items;
  const subtree = (
    await ledger.listCharges(project, { walletId, includeDescendants: true, pageSize: 1000 })
  ).items;
  const expectedSubtree = [...own, ...checkedChildren.flatMap((c) => c.lines)].sort(
    (a, b) => lineSeq(a) - lineSeq(b),
  );
  expect(subtree).toEqual(expectedSubtree);

  const open = view.status === "open";
  const balance = view.budget - view.spent - view.held - view.allocated - view.settled;
  expect(view.available).toBe(open ? balance : 0);
  if (open && view.hardCap) expect(balance).toBeGreaterThanOrEqual(0);
  const childrenExhausted = checkedChildren.every(
    (c) => c.view.status === "closed" || c.view.exhausted,
  );
  expect(view.exhausted).toBe(!open || (balance <= 0 && childrenExhausted));
  expect(view.spent).toBe(sum(own.filter(isDebit)));
  expect(view.totalSpent).toBe(sum(subtree.filter(isDebit)));
  expect(view.allocated).toBe(
    checkedChildren.filter((c) => c.view.status === "open").reduce((n, c) => n + c.view.budget, 0),
  );

  const receipt = await ledger.getReceipt(project, { walletId });
  const debits = subtree.filter(isDebit);
  const released = subtree.filter((l) => l.kind === "void" || l.kind === "expire");
  expect(receipt).toMatchObject({
    totalCredits: view.totalSpent,
    callCount: debits.length,
    ownCredits: view.spent,
    ownCallCount: own.filter(isDebit).length,
    voidedHoldCredits: sum(released),
    voidedHoldCount: released.length,
    overBudgetCount: debits.filter((l) => l.overBudget).length,
    available: view.available,
  });
  expect(receipt.byService.reduce((n, b) => n + b.credits, 0)).toBe(view.totalSpent);
  expect(receipt.byAgent.reduce((n, b) => n + b.callCount, 0)).toBe(debits.length);
  expect(receipt.children.map((c) => [c.walletId, c.totalCredits, c.exhausted])).toEqual(
    checkedChildren.map((c) => [c.view.id, c.view.totalSpent, c.view.exhausted]),
  );
  return { view, lines: subtree };
}
