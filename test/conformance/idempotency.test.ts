import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { rootIdFor } from "../../server/ledger/ids.js";
import {
  allLines,
  createChild,
  createRoot,
  expectRefused,
  expectRefusedUnchanged,
  otherProject,
  project,
  rid,
  spend,
  startMs,
  storeFactories,
  treeState,
  useLedger,
} from "./harness.js";

describe.each(storeFactories)("idempotency ($name store)", (factory) => {
  const env = useLedger(factory);

  it("answers a repeated spend with the first result, identical credential included", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const input = {
      walletId: root.id,
      amount: 10,
      service: "search",
      metadata: { agent: "a" },
      requestId: rid(),
    };
    const first = await ledger.spend(project, input);
    const afterFirst = await treeState(ledger, root.id);
    clock.advance(30_000);
    const again = await ledger.spend(project, input);
    expect(again).toEqual(first);
    expect(await treeState(ledger, root.id)).toEqual(afterFirst);
  });

  it("replays the remaining credits as first recorded, not as they are now", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const input = { walletId: root.id, amount: 10, service: "search", requestId: rid() };
    const first = await ledger.spend(project, input);
    await spend(ledger, root.id, 50);
    const again = await ledger.spend(project, input);
    expect([again.remaining, again.line.id]).toEqual([90, first.line.id]);
    expect((await ledger.getWallet(project, { walletId: root.id })).spent).toBe(60);
  });

  it("treats metadata in another key order and a bigint amount as the same request", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const requestId = rid();
    const first = await ledger.spend(project, {
      walletId: root.id,
      amount: 10,
      service: "search",
      metadata: { agent: "a", step: "1" },
      requestId,
    });
    const again = await ledger.spend(project, {
      walletId: root.id,
      amount: 10n,
      service: "search",
      metadata: { step: "1", agent: "a" },
      requestId,
    });
    expect(again.line).toEqual(first.line);
    expect(await allLines(ledger, root.id)).toHaveLength(1);
  });

  it("refuses a request id reused with other parameters, naming request_id", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 50);
    const requestId = rid();
    const base = { walletId: root.id, amount: 10, service: "search", requestId };
    await ledger.spend(project, base);
    const variants = [
      () => ledger.spend(project, { ...base, amount: 11 }),
      () => ledger.spend(project, { ...base, service: "scrape" }),
      () => ledger.spend(project, { ...base, metadata: { agent: "a" } }),
      () => ledger.spend(project, { ...base, walletId: child.id }),
      () => ledger.authorize(project, base),
      () => ledger.addCredits(project, { walletId: root.id, amount: 10, requestId }),
      () => ledger.closeWallet(project, { walletId: child.id, requestId }),
      () => ledger.createWallet(project, { parentId: root.id, budget: 1, requestId }),
    ];
    for (const variant of variants) {
      const error = await expectRefusedUnchanged(
        ledger,
        root.id,
        variant,
        "IDEMPOTENCY_KEY_REUSED",
        { field: "request_id" },
      );
      expect(error.field).toBe("request_id");
    }
  });

  it("scopes request ids to their tree", async () => {
    const { ledger } = env();
    const a = await createRoot(ledger, 100);
    const b = await createRoot(ledger, 100);
    const requestId = rid();
    await spend(ledger, a.id, 10, { requestId });
    const inB = await spend(ledger, b.id, 20, { requestId });
    expect(inB.line).toMatchObject({ walletId: b.id, amount: 20, id: `${b.id}.c1` });
    expect((await ledger.getWallet(project, { walletId: a.id })).spent).toBe(10);
  });

  it("does not remember a refused call, so it can be retried once it can succeed", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 5);
    const requestId = rid();
    await expectRefused(spend(ledger, root.id, 8, { requestId }), "INSUFFICIENT_CREDITS");
    await ledger.addCredits(project, { walletId: root.id, amount: 5, requestId: rid() });
    const retried = await spend(ledger, root.id, 8, { requestId });
    expect(retried.remaining).toBe(2);
    const again = await spend(ledger, root.id, 8, { requestId });
    expect(again).toEqual(retried);
    expect((await ledger.getWallet(project, { walletId: root.id })).spent).toBe(8);
  });

  it("answers a repeated root creation with the root as it is now", async () => {
    const { ledger } = env();
    const input = { name: "task", budget: 100, requestId: rid("root") };
    const root = await ledger.createWallet(project, input);
    await spend(ledger, root.id, 40);
    const again = await ledger.createWallet(project, input);
    expect(again).toEqual({ ...root, spent: 40, totalSpent: 40, available: 60 });
    const roots = await ledger.listWallets(project, {});
    expect(roots.items.map((w) => w.id)).toEqual([root.id]);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => ledger.createWallet(project, { ...input, budget: 101 }),
      "IDEMPOTENCY_KEY_REUSED",
      { field: "request_id" },
    );
  });

  it("treats an unset hard_cap on a root and an explicit true as the same request", async () => {
    const { ledger } = env();
    const input = { name: "task", budget: 100, requestId: rid("root") };
    const root = await ledger.createWallet(project, input);
    expect(await ledger.createWallet(project, { ...input, hardCap: true })).toEqual(root);
    await expectRefused(
      ledger.createWallet(project, { ...input, hardCap: false }),
      "IDEMPOTENCY_KEY_REUSED",
      { field: "request_id" },
    );
  });

  it("counts the request id that created a tree among that tree's request ids", async () => {
    const { ledger } = env();
    const requestId = rid("root");
    const root = await ledger.createWallet(project, { budget: 100, requestId });
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, root.id, 1, { requestId }),
      "IDEMPOTENCY_KEY_REUSED",
      { field: "request_id" },
    );
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => ledger.createWallet(project, { parentId: root.id, budget: 1, requestId }),
      "IDEMPOTENCY_KEY_REUSED",
      { field: "request_id" },
    );
  });

  it("gives another project its own root for the same request id", async () => {
    const { ledger } = env();
    const input = { name: "task", budget: 100, requestId: rid("root") };
    const ours = await ledger.createWallet(project, input);
    const theirs = await ledger.createWallet(otherProject, { ...input, budget: 7 });
    expect(theirs.id).toBe(rootIdFor(otherProject, input.requestId));
    expect(theirs.id).not.toBe(ours.id);
    expect(theirs.budget).toBe(7);
    expect((await ledger.getWallet(project, { walletId: ours.id })).budget).toBe(100);
  });

  it("carves a child out once, even when the parent could no longer afford it", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const input = { parentId: root.id, name: "critic", budget: 60, requestId: rid() };
    const child = await ledger.createWallet(project, input);
    await spend(ledger, child.id, 15);
    await spend(ledger, root.id, 40);
    const again = await ledger.createWallet(project, input);
    expect(again).toEqual({ ...child, spent: 15, totalSpent: 15, available: 45 });
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      allocated: 60,
      available: 0,
    });
    const children = await ledger.listWallets(project, { parentId: root.id });
    expect(children.items).toHaveLength(1);
  });

  it("adds credits once", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 10);
    for (const walletId of [root.id, child.id]) {
      const input = { walletId, amount: 20, requestId: rid() };
      const first = await ledger.addCredits(project, input);
      expect(await ledger.addCredits(project, input)).toEqual(first);
    }
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      budget: 120,
      allocated: 30,
      available: 90,
    });
    expect((await allLines(ledger, root.id)).map((l) => l.kind)).toEqual(["refill", "allocation"]);
  });

  it("answers a repeated authorization with the same hold as it is now", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const input = {
      walletId: root.id,
      amount: 30,
      service: "llm",
      ttlSeconds: 10,
      requestId: rid(),
    };
    const first = await ledger.authorize(project, input);
    clock.advance(10_000);
    const again = await ledger.authorize(project, input);
    expect(again.hold).toEqual({ ...first.hold, status: "expired" });
    expect(again.remaining).toBe(70);
    expect(again.credential).toEqual(first.credential);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      held: 0,
      available: 100,
    });
  });

  it("captures and voids once, answering repeats with the first line", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const h1 = (
      await ledger.authorize(project, {
        walletId: root.id,
        amount: 30,
        service: "llm",
        requestId: rid(),
      })
    ).hold;
    const h2 = (
      await ledger.authorize(project, {
        walletId: root.id,
        amount: 20,
        service: "llm",
        requestId: rid(),
      })
    ).hold;
    const captureInput = { holdId: h1.id, amount: 25, requestId: rid() };
    const voidInput = { holdId: h2.id, requestId: rid() };
    const captured = await ledger.capture(project, captureInput);
    const voided = await ledger.void(project, voidInput);
    const before = await treeState(ledger, root.id);
    expect(await ledger.capture(project, captureInput)).toEqual(captured);
    expect(await ledger.void(project, voidInput)).toEqual(voided);
    expect(await treeState(ledger, root.id)).toEqual(before);
    expect(before.wallets[0]).toMatchObject({ spent: 25, held: 0, available: 75 });
  });

  it("answers a repeated close with the first figures instead of WALLET_CLOSED", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 40);
    await spend(ledger, child.id, 15);
    const input = { walletId: child.id, requestId: rid() };
    const first = await ledger.closeWallet(project, input);
    expect(first.returned).toBe(25);
    const again = await ledger.closeWallet(project, input);
    expect(again).toEqual(first);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      allocated: 0,
      settled: 15,
      available: 85,
    });
  });

  it("answers a repeated spend even after its wallet closed", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 40);
    const input = { walletId: child.id, amount: 5, service: "search", requestId: rid() };
    const first = await ledger.spend(project, input);
    await ledger.closeWallet(project, { walletId: child.id, requestId: rid() });
    const again = await ledger.spend(project, input);
    expect([again.line, again.remaining]).toEqual([first.line, first.remaining]);
    expect((await ledger.getWallet(project, { walletId: root.id })).settled).toBe(5);
  });

  it("hides a request id's outcome from another project", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const input = { walletId: root.id, amount: 5, service: "search", requestId: rid() };
    await ledger.spend(project, input);
    await expectRefused(ledger.spend(otherProject, input), "WALLET_NOT_FOUND");
  });
});

describe.each(storeFactories)("idempotency record lifetime ($name store)", (factory) => {
  // Long enough that the first two calls always fall inside it, even on a loaded machine.
  const idempotencyTtlMs = 1000;
  const env = useLedger(factory, { idempotencyTtlMs });

  it("forgets a request id after idempotencyTtlMs", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const requestId = rid();
    await spend(ledger, root.id, 10, { requestId });
    await expectRefused(spend(ledger, root.id, 11, { requestId }), "IDEMPOTENCY_KEY_REUSED");
    // Past the lifetime on both clocks: the fake one the ledger passes, and the wall clock.
    clock.advance(idempotencyTtlMs);
    await sleep(idempotencyTtlMs + 100);
    const reused = await spend(ledger, root.id, 11, { requestId });
    expect(reused.line).toMatchObject({ amount: 11, createdAtMs: startMs + idempotencyTtlMs });
    expect((await ledger.getWallet(project, { walletId: root.id })).spent).toBe(21);
  });
});
