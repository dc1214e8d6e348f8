import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lineHash } from "../../../client/line-hash.js";
import { LedgerError } from "../../../server/ledger/ledger-error.js";
import { type OwnRedis, startOwnRedis } from "../../support/redis-server.js";
import { child, commandStats, project, type RedisEnv, redisEnv, rid, root } from "./fixture.js";

/**
 * Spends of one tree that reach the store in the same event-loop turn go to Redis as one
 * spend-batch script (server/store/redis/spend-batcher.ts), each answered exactly as alone:
 * counted by Redis itself (INFO commandstats on a redis-server this file owns).
 */
describe("spends batched per tree and turn", () => {
  let own: OwnRedis;
  let env: RedisEnv;

  beforeAll(async () => {
    own = await startOwnRedis();
    env = await redisEnv(own.url);
  });
  afterAll(async () => {
    await env.dispose();
    await own.dispose();
  });

  async function scriptCalls(op: () => Promise<unknown>): Promise<number> {
    await env.observer.config("RESETSTAT");
    await op();
    const stats = await commandStats(env.observer);
    return (stats.get("evalsha")?.calls ?? 0) + (stats.get("eval")?.calls ?? 0);
  }

  function settle<T>(p: Promise<T>): Promise<T | LedgerError> {
    return p.catch((error: unknown) => {
      if (error instanceof LedgerError) return error;
      throw error;
    });
  }

  it("sends 20 concurrent spends on one tree as one script call, each with its own line", async () => {
    const r = await root(env.ledger, 1_000);
    const a = await child(env.ledger, r.id, 300);
    // Warm the batch script up (ioredis loads a script with EVAL on its first call).
    await Promise.all([1, 2].map(() => spendOn(a.id, 1)));
    let outcomes: Awaited<ReturnType<typeof spendOn>>[] = [];
    const calls = await scriptCalls(async () => {
      outcomes = await Promise.all(
        Array.from({ length: 20 }, (_, i) => spendOn(i % 2 === 0 ? r.id : a.id, i + 1)),
      );
    });
    expect(calls).toBe(1);
    // In order, each its own line; the chain runs through them.
    const lines = outcomes.map((o) => o.line);
    expect(new Set(lines.map((l) => l.id)).size).toBe(20);
    for (let i = 1; i < lines.length; i += 1) {
      expect(lines[i]?.prevHash).toBe(lines[i - 1]?.hash);
      expect(lineHash(lines[i] as (typeof lines)[number])).toBe(lines[i]?.hash);
    }
    const spentOnA = 2 + [2, 4, 6, 8, 10, 12, 14, 16, 18, 20].reduce((x, y) => x + y, 0);
    expect(await env.ledger.getWallet(project, { walletId: a.id })).toMatchObject({
      spent: spentOnA,
    });
    const last = outcomes[19];
    expect(last?.remaining).toBe(300 - spentOnA);
    const page = await env.ledger.listCharges(project, {
      walletId: r.id,
      includeDescendants: true,
    });
    expect(page.items.slice(-20)).toEqual(lines);
  });

  it("answers each spend of a batch as alone: refusals, replays and reused ids", async () => {
    const r = await root(env.ledger, 100);
    const replayed = rid();
    const reused = rid();
    await env.ledger.spend(project, { walletId: r.id, amount: 1, service: "s", requestId: reused });
    const results = await Promise.all([
      settle(spendOn(r.id, 60, replayed)),
      // Too much for what is left after the first: refused, and nothing of it written.
      settle(spendOn(r.id, 60)),
      // The same request again in the same batch: the first outcome, once.
      settle(spendOn(r.id, 60, replayed)),
      // A request id already used with other parameters.
      settle(spendOn(r.id, 2, reused)),
      // A wallet of this tree that does not exist.
      settle(spendOn(`${r.id}.w999`, 1)),
      settle(spendOn(r.id, 39)),
    ]);
    const [first, refused, replay, reuse, missing, last] = results;
    expect(first).not.toBeInstanceOf(LedgerError);
    expect(refused).toMatchObject({ reason: "INSUFFICIENT_CREDITS" });
    expect(replay).toEqual(first);
    expect(reuse).toMatchObject({ reason: "IDEMPOTENCY_KEY_REUSED" });
    expect(missing).toMatchObject({ reason: "WALLET_NOT_FOUND" });
    expect(last).toMatchObject({ remaining: 0 });
    expect(await env.ledger.getWallet(project, { walletId: r.id })).toMatchObject({ spent: 100 });
    const page = await env.ledger.listCharges(project, { walletId: r.id });
    expect(page.items.map((l) => l.amount)).toEqual([1, 60, 39]);
  });

  it("refuses each spend on a tree of another project with its own wallet id", async () => {
    const theirs = await env.ledger.createWallet("other", { budget: 10, requestId: rid() });
    const sibling = `${theirs.id}.w2`;
    const results = await Promise.all([settle(spendOn(theirs.id, 1)), settle(spendOn(sibling, 1))]);
    expect(results[0]).toMatchObject({ reason: "WALLET_NOT_FOUND" });
    expect((results[0] as LedgerError).metadata).toMatchObject({ wallet_id: theirs.id });
    expect((results[1] as LedgerError).metadata).toMatchObject({ wallet_id: sibling });
    expect(await env.ledger.getWallet("other", { walletId: theirs.id })).toMatchObject({
      spent: 0,
    });
  });

  function spendOn(walletId: string, amount: number, requestId = rid()) {
    return env.ledger.spend(project, {
      walletId,
      amount,
      service: "search",
      metadata: { agent: "bench" },
      requestId,
    });
  }
});
