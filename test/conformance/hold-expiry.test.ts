import { describe, expect, it } from "vitest";
import { hashedLine } from "../support/hashed-line.js";
import {
  allLines,
  createChild,
  createRoot,
  expectRefused,
  expectRefusedUnchanged,
  project,
  spend,
  startMs,
  storeFactories,
  useLedger,
} from "./harness.js";
import { authorize, capture, voidHold } from "./hold-calls.js";

describe.each(storeFactories)("hold expiry ($name store)", (factory) => {
  const env = useLedger(factory);

  it("expires a hold at its expiry time with no client action", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 80);
    const { hold } = await authorize(ledger, child.id, 70, { ttlSeconds: 60, service: "crawl" });
    clock.advance(59_999);
    expect(await ledger.getWallet(project, { walletId: child.id })).toMatchObject({
      held: 70,
      available: 10,
    });
    clock.advance(1);
    // A read of another wallet of the tree is enough to expire it.
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      voidedHoldCredits: 70,
      voidedHoldCount: 1,
    });
    expect(await ledger.getWallet(project, { walletId: child.id })).toMatchObject({
      held: 0,
      available: 80,
    });
    expect(await allLines(ledger, root.id)).toEqual([
      hashedLine(
        {
          id: `${root.id}.c3`,
          walletId: child.id,
          kind: "expire",
          amount: 70,
          service: "crawl",
          metadata: {},
          overBudget: false,
          holdId: hold.id,
          requestId: "",
          createdAtMs: hold.expiresAtMs,
        },
        "",
      ),
    ]);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => capture(ledger, hold.id, 1),
      "HOLD_EXPIRED",
    );
    await expectRefusedUnchanged(ledger, root.id, () => voidHold(ledger, hold.id), "HOLD_EXPIRED");
  });

  it("captures one millisecond before expiry, and not at it", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const early = (await authorize(ledger, root.id, 10, { ttlSeconds: 1 })).hold;
    const late = (await authorize(ledger, root.id, 10, { ttlSeconds: 1 })).hold;
    clock.advance(999);
    expect((await capture(ledger, early.id, 10)).hold.status).toBe("captured");
    clock.advance(1);
    await expectRefused(capture(ledger, late.id, 10), "HOLD_EXPIRED");
  });

  it("releases expired holds before the operation that finds them", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const { hold } = await authorize(ledger, root.id, 100, { ttlSeconds: 30 });
    clock.advance(45_000);
    const result = await spend(ledger, root.id, 100);
    expect(result.remaining).toBe(0);
    const lines = await allLines(ledger, root.id);
    expect(lines.map((l) => [l.id, l.kind, l.amount, l.createdAtMs])).toEqual([
      [`${root.id}.c2`, "expire", 100, hold.expiresAtMs],
      [`${root.id}.c3`, "spend", 100, startMs + 45_000],
    ]);
  });

  it("expires several holds at once, each at its own expiry time", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const a = (await authorize(ledger, root.id, 10, { ttlSeconds: 5 })).hold;
    clock.advance(1000);
    const b = (await authorize(ledger, root.id, 20, { ttlSeconds: 2 })).hold;
    const c = (await authorize(ledger, root.id, 30, { ttlSeconds: 60 })).hold;
    clock.advance(10_000);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      held: 30,
      available: 70,
    });
    const expired = (await allLines(ledger, root.id))
      .map((l) => ({ kind: l.kind, holdId: l.holdId, amount: l.amount, at: l.createdAtMs }))
      .sort((x, y) => x.at - y.at);
    expect(expired).toEqual([
      { kind: "expire", holdId: b.id, amount: 20, at: startMs + 3000 },
      { kind: "expire", holdId: a.id, amount: 10, at: startMs + 5000 },
    ]);
    expect((await capture(ledger, c.id, 30)).remaining).toBe(70);
  });
});
