import { describe, expect, it } from "vitest";
import { hashedLine } from "../support/hashed-line.js";
import {
  allLines,
  createChild,
  createRoot,
  expectInvalid,
  expectRefusedUnchanged,
  project,
  rid,
  spend,
  startMs,
  storeFactories,
  useLedger,
} from "./harness.js";

describe.each(storeFactories)("add credits ($name store)", (factory) => {
  const env = useLedger(factory);

  it("tops up a root and records a refill line", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    await spend(ledger, root.id, 30);
    clock.advance(1000);
    const requestId = rid("refill");
    const topped = await ledger.addCredits(project, {
      walletId: root.id,
      amount: 250,
      metadata: { reason: "extension" },
      requestId,
    });
    expect(topped).toMatchObject({ budget: 350, spent: 30, available: 320, exhausted: false });
    const lines = await allLines(ledger, root.id);
    expect(lines[1]).toEqual(
      hashedLine(
        {
          id: `${root.id}.c2`,
          walletId: root.id,
          kind: "refill",
          amount: 250,
          service: "",
          metadata: { reason: "extension" },
          overBudget: false,
          holdId: "",
          requestId,
          createdAtMs: startMs + 1000,
        },
        lines[0]?.hash ?? "",
      ),
    );
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      refillCredits: 250,
      refillCount: 1,
      totalCredits: 30,
      callCount: 1,
      budget: 350,
      available: 320,
    });
  });

  it("draws a child's extra credits from its parent and records an allocation line", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    const a = await createChild(ledger, root.id, 400);
    const a1 = await createChild(ledger, a.id, 100);
    const requestId = rid("alloc");
    const grown = await ledger.addCredits(project, { walletId: a1.id, amount: 50, requestId });
    expect(grown).toMatchObject({ budget: 150, available: 150 });
    expect(await ledger.getWallet(project, { walletId: a.id })).toMatchObject({
      budget: 400,
      allocated: 150,
      available: 250,
    });
    // The grandchild draws from its parent, not from the root.
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      budget: 1000,
      allocated: 400,
      available: 600,
    });
    expect(await allLines(ledger, root.id)).toEqual([
      hashedLine(
        {
          id: `${root.id}.c3`,
          walletId: a1.id,
          kind: "allocation",
          amount: 50,
          service: "",
          metadata: {},
          overBudget: false,
          holdId: "",
          requestId,
          createdAtMs: startMs,
        },
        "",
      ),
    ]);
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      refillCredits: 0,
      refillCount: 0,
      budget: 1000,
    });
  });

  it("refuses to draw more than the parent has, naming the parent", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 500);
    const a = await createChild(ledger, root.id, 400);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => ledger.addCredits(project, { walletId: a.id, amount: 101, requestId: rid() }),
      "INSUFFICIENT_CREDITS",
      { wallet_id: root.id, requested: "101", available: "100" },
    );
    const exact = await ledger.addCredits(project, {
      walletId: a.id,
      amount: 100,
      requestId: rid(),
    });
    expect(exact).toMatchObject({ budget: 500, available: 500 });
  });

  it("refuses a top-up that would take a root's budget past 2^53-1", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, Number.MAX_SAFE_INTEGER - 10);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => ledger.addCredits(project, { walletId: root.id, amount: 11, requestId: rid() }),
      "INVALID_ARGUMENT",
      { field: "amount" },
    );
    const full = await ledger.addCredits(project, {
      walletId: root.id,
      amount: 10,
      requestId: rid(),
    });
    expect(full).toMatchObject({
      budget: Number.MAX_SAFE_INTEGER,
      available: Number.MAX_SAFE_INTEGER,
    });
  });

  it("refuses credits for a closed wallet", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 500);
    const a = await createChild(ledger, root.id, 100);
    await ledger.closeWallet(project, { walletId: a.id, requestId: rid() });
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => ledger.addCredits(project, { walletId: a.id, amount: 1, requestId: rid() }),
      "WALLET_CLOSED",
    );
    await ledger.closeWallet(project, { walletId: root.id, requestId: rid() });
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => ledger.addCredits(project, { walletId: root.id, amount: 1, requestId: rid() }),
      "WALLET_CLOSED",
    );
  });

  it("rejects a zero amount before touching the store", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 5);
    await expectInvalid(
      ledger.addCredits(project, { walletId: root.id, amount: 0, requestId: rid() }),
      "amount",
    );
  });
});
