import { jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { hashedLine } from "../support/hashed-line.js";
import {
  allLines,
  createChild,
  createRoot,
  credentialTtlMs,
  expectRefusedUnchanged,
  project,
  rid,
  spend,
  startMs,
  storeFactories,
  useLedger,
} from "./harness.js";

const max = Number.MAX_SAFE_INTEGER;

describe.each(storeFactories)("spend and caps ($name store)", (factory) => {
  const env = useLedger(factory);

  it("debits the wallet and returns the line, what remains and a credential for the call", async () => {
    const { ledger, clock, issuer } = env();
    const root = await createRoot(ledger, 100);
    clock.advance(2500);
    const requestId = rid("spend");
    const result = await ledger.spend(project, {
      walletId: root.id,
      amount: 7,
      service: "web_search",
      metadata: { agent: "researcher", query: "tollgate" },
      requestId,
    });
    expect(result.line).toEqual(
      hashedLine(
        {
          id: `${root.id}.c1`,
          walletId: root.id,
          kind: "spend",
          amount: 7,
          service: "web_search",
          metadata: { agent: "researcher", query: "tollgate" },
          overBudget: false,
          holdId: "",
          requestId,
          createdAtMs: startMs + 2500,
        },
        "",
      ),
    );
    expect(result.remaining).toBe(93);
    expect(result.credential.expiresAtMs).toBe(startMs + 2000 + credentialTtlMs);
    const { payload } = await jwtVerify(result.credential.token, issuer.publicJwk, {
      currentDate: new Date(startMs + 2500),
      issuer: "tollgate",
      audience: "web_search",
    });
    expect(payload).toMatchObject({
      sub: project,
      jti: result.line.id,
      wallet_id: root.id,
      kind: "charge",
      service: "web_search",
      amount: 7,
    });
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      spent: 7,
      available: 93,
      totalSpent: 7,
    });
    expect(await allLines(ledger, root.id)).toEqual([result.line]);
  });

  it("grants a spend of exactly the available credits and refuses one credit more", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 500);
    await spend(ledger, root.id, 200);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, root.id, 301),
      "INSUFFICIENT_CREDITS",
      { wallet_id: root.id, requested: "301", available: "300" },
    );
    const last = await spend(ledger, root.id, 300);
    expect(last.remaining).toBe(0);
    expect(last.line.overBudget).toBe(false);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, root.id, 1),
      "INSUFFICIENT_CREDITS",
      { wallet_id: root.id, requested: "1", available: "0" },
    );
  });

  it("counts open holds and carved-out children against the cap", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    await createChild(ledger, root.id, 30);
    await ledger.authorize(project, {
      walletId: root.id,
      amount: 50,
      service: "llm",
      requestId: rid(),
    });
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, root.id, 21),
      "INSUFFICIENT_CREDITS",
      { wallet_id: root.id, requested: "21", available: "20" },
    );
    expect((await spend(ledger, root.id, 20)).remaining).toBe(0);
  });

  it("caps a child at its own budget even when its ancestors have credits left", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    const a = await createChild(ledger, root.id, 100);
    const a1 = await createChild(ledger, a.id, 40);
    expect((await spend(ledger, a1.id, 40)).remaining).toBe(0);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, a1.id, 1),
      "INSUFFICIENT_CREDITS",
      { wallet_id: a1.id, requested: "1", available: "0" },
    );
    expect((await spend(ledger, a.id, 60)).remaining).toBe(0);
    expect((await spend(ledger, root.id, 900)).remaining).toBe(0);
  });

  it("adds a descendant's spend to every ancestor's totalSpent but not to their own spent", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 1000);
    const a = await createChild(ledger, root.id, 400);
    const a1 = await createChild(ledger, a.id, 100);
    await spend(ledger, a1.id, 30);
    await spend(ledger, a.id, 12);
    await spend(ledger, root.id, 5);
    expect(await ledger.getWallet(project, { walletId: a1.id })).toMatchObject({
      spent: 30,
      totalSpent: 30,
      available: 70,
    });
    expect(await ledger.getWallet(project, { walletId: a.id })).toMatchObject({
      spent: 12,
      allocated: 100,
      totalSpent: 42,
      available: 288,
    });
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      spent: 5,
      allocated: 400,
      totalSpent: 47,
      available: 595,
    });
  });

  it("lets a soft-capped wallet overspend and flags only the lines that leave it below 0", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100, { hardCap: false });
    const results = [];
    for (const amount of [60, 40, 25, 5]) results.push(await spend(ledger, root.id, amount));
    expect(results.map((r) => [r.remaining, r.line.overBudget])).toEqual([
      [40, false],
      [0, false],
      [-25, true],
      [-30, true],
    ]);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      spent: 130,
      available: -30,
      totalSpent: 130,
      exhausted: true,
    });
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      totalCredits: 130,
      callCount: 4,
      overBudgetCount: 2,
      available: -30,
    });
  });

  it("keeps a soft-capped child's overspend inside the child", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100, { hardCap: false });
    const child = await createChild(ledger, root.id, 10);
    expect(child.hardCap).toBe(false);
    const result = await spend(ledger, child.id, 25);
    expect([result.remaining, result.line.overBudget]).toEqual([-15, true]);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      spent: 0,
      allocated: 10,
      available: 90,
      totalSpent: 25,
    });
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      overBudgetCount: 1,
      totalCredits: 25,
      ownCredits: 0,
    });
  });

  it("refuses a soft-capped spend that would take the tree's total spend past 2^53-1", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 0, { hardCap: false });
    const first = await spend(ledger, root.id, max);
    expect([first.remaining, first.line.overBudget]).toEqual([-max, true]);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, root.id, 1),
      "INVALID_ARGUMENT",
      { field: "amount" },
    );
  });

  it("keeps figures near 2^53-1 exact", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, max);
    const child = await createChild(ledger, root.id, max - 2);
    const result = await spend(ledger, child.id, max - 3);
    expect(result.remaining).toBe(1);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      budget: max,
      allocated: max - 2,
      available: 2,
      totalSpent: max - 3,
    });
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      totalCredits: max - 3,
      byService: [{ key: "search", credits: max - 3, callCount: 1 }],
    });
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, root.id, max),
      "INSUFFICIENT_CREDITS",
      { wallet_id: root.id, requested: String(max), available: "2" },
    );
  });

  it("refuses to spend from a closed wallet, even one with credits left", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 50);
    await ledger.closeWallet(project, { walletId: child.id, requestId: rid() });
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, child.id, 1),
      "WALLET_CLOSED",
    );
    await ledger.closeWallet(project, { walletId: root.id, requestId: rid() });
    await expectRefusedUnchanged(ledger, root.id, () => spend(ledger, root.id, 1), "WALLET_CLOSED");
  });

  it("numbers lines from the tree's counter, and a refused spend uses no number", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 10);
    expect((await spend(ledger, root.id, 4)).line.id).toBe(`${root.id}.c1`);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => spend(ledger, root.id, 7),
      "INSUFFICIENT_CREDITS",
    );
    expect((await spend(ledger, root.id, 6)).line.id).toBe(`${root.id}.c2`);
  });
});
