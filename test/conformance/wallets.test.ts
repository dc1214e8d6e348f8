import { describe, expect, it } from "vitest";
import { rootIdFor } from "../../server/ledger/ids.js";
import {
  allLines,
  createChild,
  createRoot,
  expectRefusedUnchanged,
  project,
  rid,
  spend,
  startMs,
  storeFactories,
  useLedger,
} from "./harness.js";

describe.each(storeFactories)("wallets and carve-out ($name store)", (factory) => {
  const env = useLedger(factory);

  it("creates a root with exactly the requested figures, hard-capped by default", async () => {
    const { ledger } = env();
    const requestId = rid("root");
    const root = await ledger.createWallet(project, {
      name: "research task",
      budget: 1000,
      metadata: { team: "growth" },
      requestId,
    });
    const id = rootIdFor(project, requestId);
    expect(root).toEqual({
      id,
      rootId: id,
      parentId: "",
      depth: 1,
      name: "research task",
      budget: 1000,
      hardCap: true,
      metadata: { team: "growth" },
      spent: 0,
      held: 0,
      allocated: 0,
      settled: 0,
      available: 1000,
      totalSpent: 0,
      status: "open",
      exhausted: false,
      createdAtMs: startMs,
      alertThresholds: [50, 80, 100],
    });
    expect(await ledger.getWallet(project, { walletId: id })).toEqual(root);
  });

  it("keeps a soft cap when asked for one", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 50, { hardCap: false });
    expect(root.hardCap).toBe(false);
    expect((await ledger.getWallet(project, { walletId: root.id })).hardCap).toBe(false);
  });

  it("carving out a child moves its budget from the parent's available to its allocated", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 1000);
    clock.advance(5);
    const child = await createChild(ledger, root.id, 400, {
      name: "researcher",
      metadata: { agent: "researcher" },
    });
    expect(child).toEqual({
      id: `${root.id}.w1`,
      rootId: root.id,
      parentId: root.id,
      depth: 2,
      name: "researcher",
      budget: 400,
      hardCap: true,
      metadata: { agent: "researcher" },
      spent: 0,
      held: 0,
      allocated: 0,
      settled: 0,
      available: 400,
      totalSpent: 0,
      status: "open",
      exhausted: false,
      createdAtMs: startMs + 5,
      alertThresholds: [50, 80, 100],
    });
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      budget: 1000,
      allocated: 400,
      available: 600,
      spent: 0,
      totalSpent: 0,
    });
  });

  it("numbers child ids from one counter per tree, across depths", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const a = await createChild(ledger, root.id, 10);
    const b = await createChild(ledger, root.id, 10);
    const a1 = await createChild(ledger, a.id, 5);
    expect([a.id, b.id, a1.id]).toEqual([`${root.id}.w1`, `${root.id}.w2`, `${root.id}.w3`]);
    expect(a1).toMatchObject({ parentId: a.id, rootId: root.id, depth: 3 });
    const other = await createRoot(ledger, 100);
    expect((await createChild(ledger, other.id, 1)).id).toBe(`${other.id}.w1`);
  });

  it("lets a child take exactly the parent's available credits, and a zero budget", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 300);
    await createChild(ledger, root.id, 300);
    const empty = await createChild(ledger, root.id, 0);
    expect(empty).toMatchObject({ budget: 0, available: 0, exhausted: true });
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      allocated: 300,
      available: 0,
    });
  });

  it("refuses a child larger than the parent's available, naming the parent", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    const a = await createChild(ledger, root.id, 700);
    await spend(ledger, root.id, 250);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => createChild(ledger, root.id, 51),
      "INSUFFICIENT_CREDITS",
      { wallet_id: root.id, requested: "51", available: "50" },
    );
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => createChild(ledger, a.id, 701),
      "INSUFFICIENT_CREDITS",
      { wallet_id: a.id, requested: "701", available: "700" },
    );
  });

  it("makes children of a hard-capped parent hard-capped and refuses a soft one", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    expect((await createChild(ledger, root.id, 10)).hardCap).toBe(true);
    expect((await createChild(ledger, root.id, 10, { hardCap: true })).hardCap).toBe(true);
    const error = await expectRefusedUnchanged(
      ledger,
      root.id,
      () => createChild(ledger, root.id, 10, { hardCap: false }),
      "INVALID_ARGUMENT",
      { field: "hard_cap" },
    );
    expect(error.field).toBe("hard_cap");
  });

  it("lets a soft-capped parent have soft (inherited) or hard children, but not below a hard one", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100, { hardCap: false });
    const inherited = await createChild(ledger, root.id, 10);
    const hard = await createChild(ledger, root.id, 10, { hardCap: true });
    const soft = await createChild(ledger, root.id, 10, { hardCap: false });
    expect([inherited.hardCap, hard.hardCap, soft.hardCap]).toEqual([false, true, false]);
    expect((await createChild(ledger, hard.id, 1)).hardCap).toBe(true);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => createChild(ledger, hard.id, 1, { hardCap: false }),
      "INVALID_ARGUMENT",
      { field: "hard_cap" },
    );
  });

  it("allows 8 levels and refuses a 9th with INVALID_ARGUMENT parent_id", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    let deepest = root;
    for (let depth = 2; depth <= 8; depth += 1) {
      deepest = await createChild(ledger, deepest.id, 100 - depth);
      expect(deepest.depth).toBe(depth);
    }
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => createChild(ledger, deepest.id, 1),
      "INVALID_ARGUMENT",
      { field: "parent_id" },
    );
  });

  it("writes no receipt line for a carve-out", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 40);
    expect(await allLines(ledger, root.id)).toEqual([]);
    // The next line takes the next id after the child's: the carve-out used exactly one.
    const { line } = await spend(ledger, child.id, 1);
    expect(line.id).toBe(`${root.id}.c2`);
  });
});

describe.each(storeFactories)("tree depth option ($name store)", (factory) => {
  const env = useLedger(factory, { maxDepth: 3 });

  it("refuses a child below the configured maximum depth", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 10);
    const a = await createChild(ledger, root.id, 5);
    const b = await createChild(ledger, a.id, 5);
    expect(b.depth).toBe(3);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => createChild(ledger, b.id, 0),
      "INVALID_ARGUMENT",
      { field: "parent_id" },
    );
  });
});
