import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { LedgerError } from "../../../server/ledger/ledger-error.js";
import type { ReasonCode } from "../../../server/ledger/reasons.js";
import { project, type RedisEnv, redisEnv, rid, snapshot } from "./fixture.js";

/**
 * Redis does not roll back a script that fails half-way, so every script checks everything
 * before its first write. Here each refusal of each script is made once and Redis is compared
 * byte for byte before and after: not a field, list entry, counter or idempotency record moves.
 */
describe("refused calls write nothing", () => {
  let env: RedisEnv;
  beforeEach(async () => {
    env = await redisEnv(inject("redisUrl"), { maxDepth: 3 });
  });
  afterEach(async () => {
    await env.dispose();
  });

  it("leaves every key untouched on each refusal of each script", async () => {
    const { ledger } = env;
    const max = Number.MAX_SAFE_INTEGER;
    const rootRequest = rid("root");
    const r = await ledger.createWallet(project, {
      name: "r",
      budget: 100,
      requestId: rootRequest,
    });
    const aRequest = rid("child");
    const a = await ledger.createWallet(project, {
      parentId: r.id,
      budget: 50,
      requestId: aRequest,
    });
    const b = await ledger.createWallet(project, { parentId: a.id, budget: 10, requestId: rid() });
    const c = await ledger.createWallet(project, { parentId: r.id, budget: 10, requestId: rid() });
    await ledger.closeWallet(project, { walletId: c.id, requestId: rid() });
    const soft = await ledger.createWallet(project, {
      budget: 0,
      hardCap: false,
      requestId: rid(),
    });
    await ledger.spend(project, { walletId: soft.id, amount: max, service: "x", requestId: rid() });
    const hold = (ttlSeconds?: number) =>
      ledger.authorize(project, {
        walletId: a.id,
        amount: 5,
        service: "llm",
        ttlSeconds,
        requestId: rid(),
      });
    const open = (await hold()).hold.id;
    const captured = (await hold()).hold.id;
    await ledger.capture(project, { holdId: captured, amount: 5, requestId: rid() });
    const expired = (await hold(1)).hold.id;
    env.advance(2_000);
    // Expiry is a write of its own, done by the first access after the deadline: do it now.
    await ledger.getWallet(project, { walletId: r.id });
    // Available now: r 100 - 50 (a) = 50 (c gave its 10 back); a 50 - 10 (b) - 5 - 5 = 30.
    expect((await ledger.getWallet(project, { walletId: r.id })).available).toBe(50);
    expect((await ledger.getWallet(project, { walletId: a.id })).available).toBe(30);

    const missingTree = `w_${"0".repeat(24)}`;
    const cases: [string, () => Promise<unknown>, ReasonCode, string?][] = [
      [
        "child of a missing tree",
        () => ledger.createWallet(project, { parentId: missingTree, budget: 1, requestId: rid() }),
        "WALLET_NOT_FOUND",
      ],
      [
        "child in another project",
        () => ledger.createWallet("globex", { parentId: a.id, budget: 1, requestId: rid() }),
        "WALLET_NOT_FOUND",
      ],
      [
        "child of a closed wallet",
        () => ledger.createWallet(project, { parentId: c.id, budget: 0, requestId: rid() }),
        "WALLET_CLOSED",
      ],
      [
        "child too deep",
        () => ledger.createWallet(project, { parentId: b.id, budget: 0, requestId: rid() }),
        "INVALID_ARGUMENT",
        "parent_id",
      ],
      [
        "soft child of a hard parent",
        () =>
          ledger.createWallet(project, {
            parentId: r.id,
            budget: 0,
            hardCap: false,
            requestId: rid(),
          }),
        "INVALID_ARGUMENT",
        "hard_cap",
      ],
      [
        "child larger than the parent's available",
        () => ledger.createWallet(project, { parentId: r.id, budget: 51, requestId: rid() }),
        "INSUFFICIENT_CREDITS",
      ],
      [
        "child with a reused request id",
        () => ledger.createWallet(project, { parentId: r.id, budget: 1, requestId: aRequest }),
        "IDEMPOTENCY_KEY_REUSED",
        "request_id",
      ],
      [
        "root with a reused request id",
        () => ledger.createWallet(project, { budget: 1, requestId: rootRequest }),
        "IDEMPOTENCY_KEY_REUSED",
        "request_id",
      ],
      [
        "spend past the hard cap",
        () => ledger.spend(project, { walletId: a.id, amount: 31, service: "x", requestId: rid() }),
        "INSUFFICIENT_CREDITS",
      ],
      [
        "spend from a closed wallet",
        () => ledger.spend(project, { walletId: c.id, amount: 1, service: "x", requestId: rid() }),
        "WALLET_CLOSED",
      ],
      [
        "soft spend past 2^53-1",
        () =>
          ledger.spend(project, { walletId: soft.id, amount: 1, service: "x", requestId: rid() }),
        "INVALID_ARGUMENT",
        "amount",
      ],
      [
        "spend in another project",
        () => ledger.spend("globex", { walletId: a.id, amount: 1, service: "x", requestId: rid() }),
        "WALLET_NOT_FOUND",
      ],
      [
        "hold past the hard cap",
        () =>
          ledger.authorize(project, { walletId: a.id, amount: 31, service: "x", requestId: rid() }),
        "INSUFFICIENT_CREDITS",
      ],
      [
        "hold on a closed wallet",
        () =>
          ledger.authorize(project, { walletId: c.id, amount: 1, service: "x", requestId: rid() }),
        "WALLET_CLOSED",
      ],
      [
        "capture over the hold",
        () => ledger.capture(project, { holdId: open, amount: 6, requestId: rid() }),
        "INVALID_ARGUMENT",
        "amount",
      ],
      [
        "capture an expired hold",
        () => ledger.capture(project, { holdId: expired, amount: 1, requestId: rid() }),
        "HOLD_EXPIRED",
      ],
      [
        "capture a captured hold",
        () => ledger.capture(project, { holdId: captured, amount: 1, requestId: rid() }),
        "HOLD_ALREADY_RESOLVED",
      ],
      [
        "capture a missing hold",
        () => ledger.capture(project, { holdId: `${r.id}.h999`, amount: 1, requestId: rid() }),
        "HOLD_NOT_FOUND",
      ],
      [
        "void a captured hold",
        () => ledger.void(project, { holdId: captured, requestId: rid() }),
        "HOLD_ALREADY_RESOLVED",
      ],
      [
        "void an expired hold",
        () => ledger.void(project, { holdId: expired, requestId: rid() }),
        "HOLD_EXPIRED",
      ],
      [
        "void in another project",
        () => ledger.void("globex", { holdId: open, requestId: rid() }),
        "HOLD_NOT_FOUND",
      ],
      [
        "top-up past 2^53-1",
        () => ledger.addCredits(project, { walletId: r.id, amount: max, requestId: rid() }),
        "INVALID_ARGUMENT",
        "amount",
      ],
      [
        "draw more than the parent has",
        () => ledger.addCredits(project, { walletId: a.id, amount: 51, requestId: rid() }),
        "INSUFFICIENT_CREDITS",
      ],
      [
        "credits for a closed wallet",
        () => ledger.addCredits(project, { walletId: c.id, amount: 1, requestId: rid() }),
        "WALLET_CLOSED",
      ],
      [
        "close a closed wallet",
        () => ledger.closeWallet(project, { walletId: c.id, requestId: rid() }),
        "WALLET_CLOSED",
      ],
      [
        "close in another project",
        () => ledger.closeWallet("globex", { walletId: a.id, requestId: rid() }),
        "WALLET_NOT_FOUND",
      ],
    ];
    for (const [label, call, reason, field] of cases) {
      const before = await snapshot(env.observer, env.prefix);
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect({ label, error }).toMatchObject({ label, error: expect.any(LedgerError) });
      expect({
        label,
        reason: (error as LedgerError).reason,
        field: (error as LedgerError).field,
      }).toEqual({ label, reason, field });
      expect({ label, keys: await snapshot(env.observer, env.prefix) }).toEqual({
        label,
        keys: before,
      });
    }
  });
});
