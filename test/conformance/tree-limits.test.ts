import { describe, expect, it } from "vitest";
import {
  createChild,
  createRoot,
  expectRefusedUnchanged,
  project,
  rid,
  spend,
  storeFactories,
  useLedger,
} from "./harness.js";
import { authorize, capture, voidHold } from "./hold-calls.js";
import { expectTreeInvariants } from "./tree-invariants.js";

/**
 * The per-tree limits (docs/limits.md), set small here: each is refused with its own reason and
 * changes nothing, counts what it says it counts, and binds one tree only.
 */
describe.each(storeFactories)("tree limits ($name store)", (factory) => {
  const env = useLedger(factory, {
    limits: { maxOpenHoldsPerTree: 3, maxChildrenPerWallet: 2, maxBreakdownKeysPerTree: 2 },
  });

  it("refuses a hold past the tree's open holds until one resolves", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    const child = await createChild(ledger, root.id, 500);
    const first = await authorize(ledger, root.id, 1);
    await authorize(ledger, child.id, 1);
    const thirdRequest = { walletId: child.id, amount: 1, service: "llm", requestId: rid() };
    const third = await ledger.authorize(project, thirdRequest);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => authorize(ledger, child.id, 1),
      "TOO_MANY_OPEN_HOLDS",
      { wallet_id: child.id, limit: "3" },
    );
    // A replay of a hold that is already open is still answered.
    expect((await ledger.authorize(project, thirdRequest)).hold.id).toBe(third.hold.id);
    await voidHold(ledger, first.hold.id);
    await capture(ledger, third.hold.id, 1);
    await authorize(ledger, child.id, 1);
    await authorize(ledger, child.id, 1);
    // Another tree has limits of its own.
    const other = await createRoot(ledger, 10);
    for (let i = 0; i < 3; i++) await authorize(ledger, other.id, 1);
  });

  it("refuses a child past the parent's limit, closed children included", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    const a = await createChild(ledger, root.id, 10);
    const b = await createChild(ledger, root.id, 10);
    await ledger.closeWallet(project, { walletId: a.id, requestId: rid() });
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => createChild(ledger, root.id, 10),
      "TOO_MANY_CHILDREN",
      { wallet_id: root.id, limit: "2" },
    );
    // The limit is per wallet: a child may have children of its own.
    await createChild(ledger, b.id, 1);
    await createChild(ledger, b.id, 1);
  });

  it("refuses a debit or a hold that adds a service or an agent name past the tree's limit", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000, { name: "task" });
    const researcher = await createChild(ledger, root.id, 500, { name: "researcher" });
    await spend(ledger, researcher.id, 1, { service: "search" });
    await spend(ledger, root.id, 1, { service: "llm" });
    // Services: search, llm; agents: researcher, task (the wallets' names). All full.
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, researcher.id, 1, { service: "scrape" }),
      "TOO_MANY_BREAKDOWN_KEYS",
      { wallet_id: researcher.id, dimension: "service", limit: "2" },
    );
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, researcher.id, 1, { service: "llm", metadata: { agent: "critic" } }),
      "TOO_MANY_BREAKDOWN_KEYS",
      { wallet_id: researcher.id, dimension: "agent", limit: "2" },
    );
    // A hold's names are checked when it is placed: its capture must be able to post them.
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => authorize(ledger, researcher.id, 5, { service: "scrape" }),
      "TOO_MANY_BREAKDOWN_KEYS",
      { wallet_id: researcher.id, dimension: "service", limit: "2" },
    );
    const { hold } = await authorize(ledger, researcher.id, 5, { service: "llm" });
    // Only an agent the capture itself brings in is checked again.
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => capture(ledger, hold.id, 5, { agent: "critic" }),
      "TOO_MANY_BREAKDOWN_KEYS",
      { wallet_id: researcher.id, dimension: "agent", limit: "2" },
    );
    await capture(ledger, hold.id, 5, { agent: "task" });
    await spend(ledger, researcher.id, 1, { service: "llm", metadata: { agent: "researcher" } });
    expect(
      (await ledger.getReceipt(project, { walletId: root.id })).byAgent.map((r) => r.key),
    ).toEqual(["task", "researcher"]);
  });

  it("lets a hold placed in time capture under its names after the limit filled up", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000, { name: "task" });
    await spend(ledger, root.id, 1, { service: "search" });
    const { hold } = await authorize(ledger, root.id, 5, { service: "llm" });
    // "llm" is not a breakdown key until the capture: another name takes the last place.
    await spend(ledger, root.id, 1, { service: "scrape" });
    await expect(capture(ledger, hold.id, 4)).resolves.toMatchObject({ line: { amount: 4 } });
    const receipt = await ledger.getReceipt(project, { walletId: root.id });
    expect(receipt.serviceKeyCount).toBe(3);
    await expectTreeInvariants(ledger, root.id);
  });
});
