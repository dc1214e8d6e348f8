import { afterEach, describe, expect, it } from "vitest";
import { LimitExceededError } from "../../client/index.js";
import { collect, rejection, type Served, serve } from "./support.js";

/**
 * Receipts through the typed client: attribution by role, the top rows with "other", paging
 * through every breakdown row and child, and the per-tree limits as LimitExceededError.
 */
describe("receipts through the client", () => {
  let served: Served | undefined;
  afterEach(async () => {
    await served?.dispose();
    served = undefined;
  });

  it("breaks a team down by role and pages through every row and child", async () => {
    served = await serve();
    const task = await served.tg.wallets.create({ name: "task", budget: 100_000 });
    const roles = [];
    for (const name of ["researcher", "writer", "critic"]) {
      roles.push(await task.createChild({ name, budget: 10_000 }));
    }
    for (let i = 1; i <= 25; i++) await roles[i % 3]?.spend(i, { service: `tool-${i}` });
    const receipt = await task.getReceipt();
    expect(receipt.byAgent.map((r) => [r.key, r.credits])).toEqual([
      ["writer", 117n],
      ["researcher", 108n],
      ["critic", 100n],
    ]);
    expect(receipt.byService).toHaveLength(20);
    expect(receipt.serviceKeyCount).toBe(25n);
    expect(receipt.byServiceOther).toEqual({ key: "", credits: 15n, callCount: 5n });
    expect(receipt.childCount).toBe(3n);
    const rows = await collect(task.listBreakdown("service", { pageSize: 10 }));
    expect(rows.sizes).toEqual([10, 10, 5]);
    expect(rows.items.map((r) => r.credits)).toEqual(
      Array.from({ length: 25 }, (_, i) => BigInt(25 - i)),
    );
    const children = await collect(task.listChildReceipts({ pageSize: 2 }));
    expect(children.items.map((c) => c.name)).toEqual(["researcher", "writer", "critic"]);
    expect(children.items.map((c) => c.totalCredits)).toEqual(
      receipt.children.map((c) => c.totalCredits),
    );
  });

  it("refuses past a per-tree limit with LimitExceededError", async () => {
    served = await serve({
      store: { limits: { maxChildrenPerWallet: 1, maxOpenHoldsPerTree: 1 } },
    });
    const task = await served.tg.wallets.create({ budget: 100 });
    await task.createChild({ budget: 10 });
    const children = await rejection(task.createChild({ budget: 10 }));
    expect(children).toBeInstanceOf(LimitExceededError);
    expect(children).toMatchObject({
      reason: "TOO_MANY_CHILDREN",
      walletId: task.id,
      limit: 1n,
      code: 8, // RESOURCE_EXHAUSTED
    });
    await task.authorize(5, { service: "llm" });
    const holds = await rejection(task.authorize(5, { service: "llm" }));
    expect(holds).toMatchObject({ reason: "TOO_MANY_OPEN_HOLDS", limit: 1n });
  });
});
