import { describe, expect, it } from "vitest";
import { LedgerError } from "../../../server/ledger/ledger-error.js";
import { hashedLine } from "../../support/hashed-line.js";
import { memoryEnv, project, rid, root, startMs } from "./fixture.js";

/** Expiry is lazy (no timers): a fake clock and any access to the tree must be enough. */
describe("memory store hold expiry", () => {
  it("expires a hold at exactly its expiry, on a plain read, dated at its expiry", async () => {
    const { ledger, advance } = await memoryEnv();
    const wallet = await root(ledger, 100);
    const { hold } = await ledger.authorize(project, {
      walletId: wallet.id,
      amount: 40,
      service: "llm",
      metadata: { agent: "critic" },
      ttlSeconds: 10,
      requestId: rid(),
    });
    expect(hold.expiresAtMs).toBe(startMs + 10_000);

    advance(9_999);
    expect(await ledger.getWallet(project, { walletId: wallet.id })).toMatchObject({
      held: 40,
      available: 60,
    });
    // Read well after the expiry: the line is still dated at the expiry, not at the read.
    advance(5_001);
    expect(await ledger.getWallet(project, { walletId: wallet.id })).toMatchObject({
      held: 0,
      available: 100,
    });
    expect((await ledger.listCharges(project, { walletId: wallet.id })).items).toEqual([
      hashedLine(
        {
          id: `${wallet.id}.c2`,
          walletId: wallet.id,
          kind: "expire",
          amount: 40,
          service: "llm",
          metadata: { agent: "critic" },
          overBudget: false,
          holdId: hold.id,
          requestId: "",
          createdAtMs: startMs + 10_000,
        },
        "",
      ),
    ]);
    const receipt = await ledger.getReceipt(project, { walletId: wallet.id });
    expect(receipt).toMatchObject({ voidedHoldCredits: 40, voidedHoldCount: 1, totalCredits: 0 });
    const refused = await ledger
      .capture(project, { holdId: hold.id, amount: 1, requestId: rid() })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LedgerError);
    expect((refused as LedgerError).reason).toBe("HOLD_EXPIRED");
  });

  it("expires every due hold of the tree in order of expiry, then of creation", async () => {
    const { ledger, advance } = await memoryEnv();
    const wallet = await root(ledger, 100);
    const authorize = (amount: number, ttlSeconds: number) =>
      ledger.authorize(project, {
        walletId: wallet.id,
        amount,
        service: "llm",
        ttlSeconds,
        requestId: rid(),
      });
    const late = (await authorize(10, 30)).hold;
    const first = (await authorize(11, 20)).hold;
    const second = (await authorize(12, 20)).hold;
    const resolved = (await authorize(13, 5)).hold;
    await ledger.void(project, { holdId: resolved.id, requestId: rid() });

    advance(60_000);
    const spent = await ledger.spend(project, {
      walletId: wallet.id,
      amount: 5,
      service: "search",
      requestId: rid(),
    });
    // The voided hold was due first but is resolved already: it writes no EXPIRE line.
    const lines = (await ledger.listCharges(project, { walletId: wallet.id })).items;
    expect(lines.map((l) => [l.id, l.kind, l.holdId, l.amount, l.createdAtMs])).toEqual([
      [`${wallet.id}.c5`, "void", resolved.id, 13, startMs],
      [`${wallet.id}.c6`, "expire", first.id, 11, startMs + 20_000],
      [`${wallet.id}.c7`, "expire", second.id, 12, startMs + 20_000],
      [`${wallet.id}.c8`, "expire", late.id, 10, startMs + 30_000],
      [`${wallet.id}.c9`, "spend", "", 5, startMs + 60_000],
    ]);
    expect(spent.remaining).toBe(95);
  });

  it("expires holds when the project's roots are listed", async () => {
    const { ledger, advance } = await memoryEnv();
    const wallet = await root(ledger, 50);
    await ledger.authorize(project, {
      walletId: wallet.id,
      amount: 50,
      service: "llm",
      ttlSeconds: 1,
      requestId: rid(),
    });
    expect((await ledger.listWallets(project, {})).items[0]).toMatchObject({
      held: 50,
      available: 0,
      exhausted: true,
    });
    advance(1_000);
    expect((await ledger.listWallets(project, {})).items[0]).toMatchObject({
      held: 0,
      available: 50,
      exhausted: false,
    });
  });

  it("gives an expired hold's credits back to the exhaustion count of every ancestor", async () => {
    const { ledger, advance } = await memoryEnv();
    const top = await root(ledger, 30);
    const mid = await ledger.createWallet(project, {
      parentId: top.id,
      budget: 30,
      requestId: rid(),
    });
    const leaf = await ledger.createWallet(project, {
      parentId: mid.id,
      budget: 30,
      requestId: rid(),
    });
    await ledger.authorize(project, {
      walletId: leaf.id,
      amount: 30,
      service: "llm",
      ttlSeconds: 2,
      requestId: rid(),
    });
    const exhausted = async () =>
      Promise.all(
        [top, mid, leaf].map(
          async (w) => (await ledger.getWallet(project, { walletId: w.id })).exhausted,
        ),
      );
    expect(await exhausted()).toEqual([true, true, true]);
    advance(2_000);
    expect(await exhausted()).toEqual([false, false, false]);
  });
});
