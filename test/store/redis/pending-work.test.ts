import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { Limits } from "../../../server/ledger/limits.js";
import { sweepScheduleKey, treeKey } from "../../../server/store/redis/keys.js";
import { ReplyCode } from "../../../server/store/redis/reply-codes.js";
import { type OwnRedis, startOwnRedis } from "../../support/redis-server.js";
import { child, project, type RedisEnv, redisEnv, rid, root, startMs } from "./fixture.js";

/**
 * Pending work in Redis: each script does at most one batch of it, the sweeper finishes what
 * nobody comes back for, and its schedule never loses a tree that has holds.
 */
const backlog = Limits.workBatch * 2 + 50;

/** The event retention ARGV every tree script takes: the defaults. */
const retention = "10000 604800000";

async function holdsFallingDue(env: RedisEnv, walletId: string, count: number, ttlSeconds = 60) {
  for (let i = 0; i < count; i++) {
    await env.ledger.authorize(project, {
      walletId,
      amount: 1,
      service: "llm",
      ttlSeconds,
      requestId: rid("hold"),
    });
  }
}

/** Sweeps at `nowMs` until nothing more is due now; returns the rounds it took. */
async function sweepAll(env: RedisEnv, nowMs: number): Promise<number> {
  let rounds = 1;
  while (await env.store.sweep(nowMs)) rounds += 1;
  return rounds;
}

describe("bounded scripts (MONITOR on an own redis-server)", () => {
  let own: OwnRedis;
  beforeAll(async () => {
    own = await startOwnRedis();
  });
  afterAll(async () => {
    await own.dispose();
  });

  it("works off a backlog of expiries and a wide close one bounded script at a time", async () => {
    const env = await redisEnv(own.url);
    try {
      const r = await root(env.ledger, 100_000);
      const team = await child(env.ledger, r.id, 50_000);
      await holdsFallingDue(env, team.id, backlog);
      for (let i = 0; i < backlog; i++) await child(env.ledger, team.id, 1);
      env.advance(61_000);
      const monitor = await env.observer.monitor();
      const perScript: number[] = [];
      monitor.on("monitor", (_time: string, args: string[], source: string) => {
        if (source !== "lua") {
          if (args[0] === "evalsha" || args[0] === "eval") perScript.push(0);
        } else if (perScript.length > 0) {
          perScript[perScript.length - 1] = (perScript.at(-1) as number) + 1;
        }
      });
      try {
        await env.ledger.closeWallet(project, { walletId: team.id, requestId: rid() });
        await env.observer.echo("end");
        await expect.poll(() => perScript.length).toBeGreaterThan(4);
      } finally {
        monitor.disconnect();
      }
      // 250 expiries, then 250 children looked at and closed: several scripts, none of them
      // doing more than a batch (each unit is a couple of dozen commands at this depth).
      expect(perScript.length).toBeGreaterThanOrEqual(5);
      expect(Math.max(...perScript)).toBeLessThanOrEqual(Limits.workBatch * 30);
      expect(await env.ledger.getWallet(project, { walletId: team.id })).toMatchObject({
        status: "closed",
        held: 0,
      });
    } finally {
      await env.dispose();
    }
  });
});

describe("the sweeper", () => {
  let env: RedisEnv;
  afterEach(async () => {
    await env.dispose();
  });

  it("expires an idle tree's holds with no call on the tree, dated at their expiry", async () => {
    env = await redisEnv(inject("redisUrl"));
    const r = await root(env.ledger, 10_000);
    await holdsFallingDue(env, r.id, backlog, 30);
    const tree = treeKey(env.prefix, r.id, "tree");
    const openHolds = treeKey(env.prefix, r.id, "openHolds");
    const schedule = sweepScheduleKey(env.prefix);
    expect(await env.observer.zscore(schedule, r.id)).toBe(String(startMs + 30_000));
    // Nothing is due yet: the sweep leaves the tree on the schedule, untouched.
    expect(await env.store.sweep(startMs + 29_999)).toBe(false);
    expect(await env.observer.zcard(openHolds)).toBe(backlog);
    // Due: batch after batch, and no call on the tree in between.
    expect(await sweepAll(env, startMs + 31_000)).toBeGreaterThanOrEqual(3);
    expect(await env.observer.zcard(openHolds)).toBe(0);
    expect(await env.observer.hget(tree, "held")).toBe("0");
    expect(await env.observer.zscore(schedule, r.id)).toBeNull();
    env.advance(31_000);
    expect(await env.ledger.getReceipt(project, { walletId: r.id })).toMatchObject({
      voidedHoldCount: backlog,
      voidedHoldCredits: backlog,
    });
    const lines = await env.ledger.listCharges(project, { walletId: r.id, pageSize: 1000 });
    expect(new Set(lines.items.map((l) => [l.kind, l.createdAtMs].join()))).toEqual(
      new Set([`expire,${startMs + 30_000}`]),
    );
  });

  it("keeps a tree on the schedule when it gets a hold while it is claimed", async () => {
    env = await redisEnv(inject("redisUrl"));
    const r = await root(env.ledger, 100);
    await holdsFallingDue(env, r.id, 1, 10);
    const schedule = sweepScheduleKey(env.prefix);
    const now = startMs + 20_000;
    // A sweeper claims the tree and works it (its hold expires)...
    const claimed = String(now + 90_000_000);
    await env.redis.tollgate_v4_claim_due(schedule, String(now), claimed, "16");
    const [, due] = await env.redis.tollgate_v4_sweep(
      treeKey(env.prefix, r.id, "tree"),
      String(now),
      retention,
    );
    expect(due).toBe("");
    // ...and before it settles, a new hold lands on the tree.
    env.advance(20_000);
    await holdsFallingDue(env, r.id, 1, 60);
    await env.redis.tollgate_v4_settle_due(schedule, r.id, claimed, due as string);
    expect(await env.observer.zscore(schedule, r.id)).toBe(String(startMs + 80_000));
  });

  it("finishes a close whose caller went away", async () => {
    env = await redisEnv(inject("redisUrl"));
    const r = await root(env.ledger, 100_000);
    const team = await child(env.ledger, r.id, 10_000);
    for (let i = 0; i < backlog; i++) await child(env.ledger, team.id, 10);
    const requestId = rid("close");
    // One round of the close, as a caller that gave up after its first reply would leave it.
    const reply = await env.redis.tollgate_v4_close_wallet(
      treeKey(env.prefix, r.id, "tree"),
      treeKey(env.prefix, r.id, "idempotency", requestId),
      project,
      String(startMs),
      retention,
      requestId,
      "fingerprint-of-the-close",
      "86400000",
      team.id,
    );
    expect(reply).toEqual([ReplyCode.workPending]);
    await env.observer.zadd(sweepScheduleKey(env.prefix), "LT", String(startMs), r.id);
    await sweepAll(env, startMs);
    expect(await env.observer.exists(treeKey(env.prefix, r.id, "closing"))).toBe(0);
    expect(await env.observer.hget(treeKey(env.prefix, r.id, "tree"), "close_at")).toBeNull();
    const children = await env.ledger.listWallets(project, { parentId: team.id, pageSize: 1000 });
    expect(new Set(children.items.map((c) => c.status))).toEqual(new Set(["closed"]));
    expect(await env.ledger.getWallet(project, { walletId: r.id })).toMatchObject({
      allocated: 0,
      settled: 0,
      available: 100_000,
    });
  });
});
