import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import type { Ledger } from "../../server/ledger/ledger.js";
import {
  allLines,
  createChild,
  createRoot,
  credentialTtlMs,
  expectRefused,
  expectRefusedUnchanged,
  project,
  rid,
  spend,
  startMs,
  storeFactories,
  useLedger,
} from "./harness.js";

function authorize(
  ledger: Ledger,
  walletId: string,
  amount: number,
  options: { ttlSeconds?: number; service?: string; metadata?: Record<string, string> } = {},
) {
  return ledger.authorize(project, {
    walletId,
    amount,
    service: options.service ?? "llm",
    metadata: options.metadata,
    ttlSeconds: options.ttlSeconds,
    requestId: rid("auth"),
  });
}

function capture(
  ledger: Ledger,
  holdId: string,
  amount: number,
  metadata?: Record<string, string>,
) {
  return ledger.capture(project, { holdId, amount, metadata, requestId: rid("capture") });
}

function voidHold(ledger: Ledger, holdId: string) {
  return ledger.void(project, { holdId, requestId: rid("void") });
}

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
    expect(result.line).toEqual({
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
    });
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

  it("voids a hold: releases all of it and records a void line", async () => {
    const { ledger, clock } = env();
    const root = await createRoot(ledger, 100);
    const { hold } = await authorize(ledger, root.id, 45, { service: "scrape" });
    clock.advance(10);
    const requestId = rid("void");
    const result = await ledger.void(project, { holdId: hold.id, requestId });
    expect(result.line).toEqual({
      id: `${root.id}.c2`,
      walletId: root.id,
      kind: "void",
      amount: 45,
      service: "scrape",
      metadata: expect.any(Object),
      overBudget: false,
      holdId: hold.id,
      requestId,
      createdAtMs: startMs + 10,
    });
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
      {
        id: `${root.id}.c3`,
        walletId: child.id,
        kind: "expire",
        amount: 70,
        service: "crawl",
        metadata: expect.any(Object),
        overBudget: false,
        holdId: hold.id,
        requestId: "",
        createdAtMs: hold.expiresAtMs,
      },
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
