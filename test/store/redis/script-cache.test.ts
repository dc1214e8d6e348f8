import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scriptSources } from "../../../server/store/redis/commands.js";
import { eventually } from "../../support/eventually.js";
import { type OwnRedis, startOwnRedis } from "../../support/redis-server.js";
import { commandStats, project, type RedisEnv, redisEnv, rid, root } from "./fixture.js";

/**
 * Scripts are sent as EVALSHA and reloaded on NOSCRIPT (ioredis `defineCommand`), so an emptied
 * script cache, after SCRIPT FLUSH, a restart or a failover, costs one extra round trip and
 * nothing else. On a redis-server this file owns: flushing a shared one would hit other tests.
 */
describe("script cache", () => {
  let own: OwnRedis;
  let env: RedisEnv;
  beforeEach(async () => {
    own = await startOwnRedis({ appendonly: true });
    env = await redisEnv(own.url);
  });
  afterEach(async () => {
    await env.dispose();
    await own.dispose();
  });

  const spend = (walletId: string) =>
    env.ledger.spend(project, { walletId, amount: 10, service: "llm", requestId: rid() });

  /** evalsha and eval calls (and failed calls) during `op`. */
  async function scriptCalls(op: () => Promise<unknown>) {
    await env.observer.config("RESETSTAT");
    await op();
    const stats = await commandStats(env.observer);
    return { evalsha: stats.get("evalsha"), eval: stats.get("eval") };
  }

  it("reloads a script after SCRIPT FLUSH: EVALSHA fails NOSCRIPT, EVAL runs it once", async () => {
    const wallet = await root(env.ledger, 100);
    await spend(wallet.id);
    await env.observer.script("FLUSH");
    expect(await env.observer.script("EXISTS", sha("tollgate_v4_spend"))).toEqual([0]);

    const reloaded = await scriptCalls(async () => {
      expect((await spend(wallet.id)).remaining).toBe(80);
    });
    expect(reloaded).toEqual({
      evalsha: { calls: 1, failed: 1 },
      eval: { calls: 1, failed: 0 },
    });
    const steady = await scriptCalls(async () => {
      expect((await spend(wallet.id)).remaining).toBe(70);
    });
    expect(steady).toEqual({ evalsha: { calls: 1, failed: 0 }, eval: undefined });
  });

  it("reloads scripts on a restarted Redis, with the balances it persisted", async () => {
    const wallet = await root(env.ledger, 100);
    await spend(wallet.id);
    await own.stop();
    await own.start();
    const after = await eventually(() => env.ledger.getWallet(project, { walletId: wallet.id }));
    expect({ spent: after.spent, available: after.available }).toEqual({
      spent: 10,
      available: 90,
    });

    // A new connection: ioredis sends each script's first call on it as EVAL.
    const first = await scriptCalls(async () => {
      expect((await spend(wallet.id)).remaining).toBe(80);
    });
    expect(first).toEqual({ evalsha: undefined, eval: { calls: 1, failed: 0 } });
    const steady = await scriptCalls(() => spend(wallet.id));
    expect(steady).toEqual({ evalsha: { calls: 1, failed: 0 }, eval: undefined });
  });
});

/** The SHA1 by which Redis caches a script. */
function sha(command: "tollgate_v4_spend"): string {
  return createHash("sha1")
    .update(scriptSources().get(command)?.lua ?? "")
    .digest("hex");
}
