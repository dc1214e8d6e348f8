import { decodeJwt } from "jose";
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
import { authorize, capture, voidHold } from "./hold-calls.js";

describe.each(storeFactories)("holds ($name store)", (factory) => {
  const env = useLedger(factory);

  it("reserves the amount for five minutes by default, without writing a line", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    clock.advance(1500);
    const result = await authorize(ledger, root.id, 60, { metadata: { agent: "writer" } });
    expect(result.hold).toEqual({
      id: `${root.id}.h1`,
      walletId: root.id,
      amount: 60,
      service: "llm",
      metadata: { agent: "writer" },
      status: "open",
      capturedAmount: 0,
      createdAtMs: startMs + 1500,
      expiresAtMs: startMs + 1500 + 300_000,
    });
    expect(result.remaining).toBe(40);
    expect(result.credential.expiresAtMs).toBe(startMs + 1000 + credentialTtlMs);
    expect(decodeJwt(result.credential.token)).toMatchObject({
      jti: result.hold.id,
      kind: "hold",
      wallet_id: root.id,
      service: "llm",
      amount: 60,
    });
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      held: 60,
      spent: 0,
      available: 40,
      totalSpent: 0,
    });
    expect(await allLines(ledger, root.id)).toEqual([]);
  });

  it("sets the expiry from ttl_seconds, from 1 s to 24 h", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const short = await authorize(ledger, root.id, 1, { ttlSeconds: 1 });
    const long = await authorize(ledger, root.id, 1, { ttlSeconds: 86_400 });
    expect(short.hold.expiresAtMs).toBe(startMs + 1000);
    expect(long.hold.expiresAtMs).toBe(startMs + 86_400_000);
  });

  it("refuses a hold past a hard cap and lets a soft-capped wallet go below 0", async () => {
    const { ledger } = env();
    const hard = await createRoot(ledger, 100);
    await spend(ledger, hard.id, 30);
    await expectRefusedUnchanged(
      ledger,
      hard.id,
      () => authorize(ledger, hard.id, 71),
      "INSUFFICIENT_CREDITS",
      { wallet_id: hard.id, requested: "71", available: "70" },
    );
    const soft = await createRoot(ledger, 10, { hardCap: false });
    const result = await authorize(ledger, soft.id, 15);
    expect(result.remaining).toBe(-5);
    expect(await ledger.getWallet(project, { walletId: soft.id })).toMatchObject({
      held: 15,
      available: -5,
      exhausted: true,
    });
  });

  it("captures part of a hold: posts the amount, releases the rest, merges metadata", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const { hold } = await authorize(ledger, root.id, 50, {
      metadata: { agent: "writer", step: "draft" },
    });
    clock.advance(4000);
    const requestId = rid("capture");
    const result = await ledger.capture(project, {
      holdId: hold.id,
      amount: 30,
      metadata: { step: "final", tokens: "812" },
      requestId,
    });
    expect(result.line).toEqual(
      hashedLine(
        {
          id: `${root.id}.c2`,
          walletId: root.id,
          kind: "capture",
          amount: 30,
          service: "llm",
          metadata: { agent: "writer", step: "final", tokens: "812" },
          overBudget: false,
          holdId: hold.id,
          requestId,
          createdAtMs: startMs + 4000,
        },
        "",
      ),
    );
    expect(result.hold).toEqual({ ...hold, status: "captured", capturedAmount: 30 });
    expect(result.remaining).toBe(70);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      spent: 30,
      held: 0,
      available: 70,
      totalSpent: 30,
    });
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      totalCredits: 30,
      callCount: 1,
      byService: [{ key: "llm", credits: 30, callCount: 1 }],
      byAgent: [{ key: "writer", credits: 30, callCount: 1 }],
      voidedHoldCredits: 0,
      voidedHoldCount: 0,
    });
  });

  it("captures a whole hold", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 50);
    const { hold } = await authorize(ledger, root.id, 50);
    const result = await capture(ledger, hold.id, 50);
    expect([result.remaining, result.hold.capturedAmount]).toEqual([0, 50]);
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      spent: 50,
      held: 0,
      available: 0,
      exhausted: true,
    });
  });

  it("refuses to capture more than the hold and leaves it open", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const { hold } = await authorize(ledger, root.id, 40);
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => capture(ledger, hold.id, 41),
      "INVALID_ARGUMENT",
      { field: "amount" },
    );
    expect((await capture(ledger, hold.id, 40)).hold.status).toBe("captured");
  });

  it("refuses a capture whose metadata over the hold's would pass 16 keys, and leaves it open", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const keys = (prefix: string, n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, "v"]));
    const { hold } = await authorize(ledger, root.id, 40, { metadata: keys("hold", 10) });
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => capture(ledger, hold.id, 30, keys("capture", 7)),
      "INVALID_ARGUMENT",
      { field: "metadata" },
    );
    // Overriding keys the hold already has does not add any: 10 + 6 = 16 is the limit.
    const captured = await capture(ledger, hold.id, 30, { ...keys("capture", 6), hold0: "new" });
    expect(Object.keys(captured.line.metadata)).toHaveLength(16);
    expect(captured.line.metadata.hold0).toBe("new");
  });

  it("voids a hold: releases all of it and records a void line", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const { hold } = await authorize(ledger, root.id, 45, { service: "scrape" });
    clock.advance(10);
    const requestId = rid("void");
    const result = await ledger.void(project, { holdId: hold.id, requestId });
    expect(result.line).toEqual(
      hashedLine(
        {
          id: `${root.id}.c2`,
          walletId: root.id,
          kind: "void",
          amount: 45,
          service: "scrape",
          metadata: {},
          overBudget: false,
          holdId: hold.id,
          requestId,
          createdAtMs: startMs + 10,
        },
        "",
      ),
    );
    expect(result.hold).toEqual({ ...hold, status: "voided", capturedAmount: 0 });
    expect(result.remaining).toBe(100);
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      totalCredits: 0,
      callCount: 0,
      voidedHoldCredits: 45,
      voidedHoldCount: 1,
      available: 100,
    });
  });

  it("resolves a hold exactly once", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const captured = (await authorize(ledger, root.id, 10)).hold;
    const voided = (await authorize(ledger, root.id, 10)).hold;
    await capture(ledger, captured.id, 5);
    await voidHold(ledger, voided.id);
    for (const holdId of [captured.id, voided.id]) {
      await expectRefusedUnchanged(
        ledger,
        root.id,
        () => capture(ledger, holdId, 1),
        "HOLD_ALREADY_RESOLVED",
      );
      await expectRefusedUnchanged(
        ledger,
        root.id,
        () => voidHold(ledger, holdId),
        "HOLD_ALREADY_RESOLVED",
      );
    }
    expect(await ledger.getWallet(project, { walletId: root.id })).toMatchObject({
      spent: 5,
      held: 0,
      available: 95,
    });
  });

  it("flags a capture over budget when a soft-capped wallet stays below 0", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 10, { hardCap: false });
    await spend(ledger, root.id, 8);
    const { hold } = await authorize(ledger, root.id, 20);
    const result = await capture(ledger, hold.id, 15);
    expect([result.remaining, result.line.overBudget]).toEqual([-13, true]);
    expect(await ledger.getReceipt(project, { walletId: root.id })).toMatchObject({
      overBudgetCount: 1,
      totalCredits: 23,
      callCount: 2,
    });
  });

  it("refuses a hold on a closed wallet", async () => {
    const { ledger } = env();
    const root = await createRoot(ledger, 100);
    const child = await createChild(ledger, root.id, 10);
    await ledger.closeWallet(project, { walletId: child.id, requestId: rid() });
    await expectRefusedUnchanged(
      ledger,
      root.id,
      () => authorize(ledger, child.id, 1),
      "WALLET_CLOSED",
    );
  });
});
