import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { LedgerError } from "../../../server/ledger/ledger-error.js";
import { createRedisClient } from "../../../server/store/redis/connect.js";
import { RedisLedgerStore } from "../../../server/store/redis/redis-ledger-store.js";
import { eventually } from "../../support/eventually.js";
import { freePort, type OwnRedis, startOwnRedis } from "../../support/redis-server.js";
import { project, type RedisEnv, redisEnv, rid, root } from "./fixture.js";

/**
 * Fail closed: whenever Redis cannot answer, every call fails STORE_UNAVAILABLE at once and
 * nothing is granted; other Redis errors stay what they are (bugs, not outages).
 */

/** Awaits `call`, which must fail STORE_UNAVAILABLE (with no internal detail in metadata). */
async function expectUnavailable(call: () => Promise<unknown>): Promise<void> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LedgerError);
  expect((error as LedgerError).reason).toBe("STORE_UNAVAILABLE");
  expect((error as LedgerError).metadata).toEqual({});
}

describe("Redis down (an own redis-server, stopped and started)", () => {
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

  it("answers STORE_UNAVAILABLE at once while down, and serves intact balances after", async () => {
    const { ledger } = env;
    const wallet = await root(ledger, 100);
    const spend = (requestId: string) =>
      ledger.spend(project, { walletId: wallet.id, amount: 30, service: "llm", requestId });
    await spend("before");

    await own.stop({ crash: true });
    const calls = [
      () => spend("during"),
      () => ledger.getWallet(project, { walletId: wallet.id }),
      () => ledger.getReceipt(project, { walletId: wallet.id }),
      () =>
        ledger.authorize(project, {
          walletId: wallet.id,
          amount: 1,
          service: "x",
          requestId: rid(),
        }),
      () => ledger.createWallet(project, { budget: 1, requestId: rid() }),
      () => ledger.listWallets(project, {}),
      () => env.store.ping(),
    ];
    for (const call of calls) {
      // No offline queue: refused while disconnected, never parked until Redis returns.
      await expectUnavailable(call);
    }

    await own.start();
    const after = await eventually(() => ledger.getWallet(project, { walletId: wallet.id }));
    expect({ spent: after.spent, available: after.available }).toEqual({
      spent: 30,
      available: 70,
    });
    // The spend refused during the outage charged nothing and can be retried.
    expect((await spend("during")).remaining).toBe(40);
    const receipt = await ledger.getReceipt(project, { walletId: wallet.id });
    expect({ total: receipt.totalCredits, calls: receipt.callCount }).toEqual({
      total: 60,
      calls: 2,
    });
  });
});

describe("connection lifecycle", () => {
  let env: RedisEnv | undefined;
  afterEach(async () => {
    await env?.dispose();
    env = undefined;
  });

  it("waits for a first connection, then fails STORE_UNAVAILABLE if none comes", async () => {
    const redis = createRedisClient(`redis://127.0.0.1:${await freePort()}`);
    redis.on("error", () => {});
    const store = new RedisLedgerStore(redis, { firstConnectTimeoutMs: 300 });
    try {
      await expectUnavailable(() => store.ping());
    } finally {
      await store.close();
    }
    // Closing stopped the reconnect loop (attempts come every 100-400 ms at this point).
    let attempts = 0;
    redis.on("connecting", () => {
      attempts += 1;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(attempts).toBe(0);
  });

  it("closes its client, idempotently; later calls are STORE_UNAVAILABLE", async () => {
    env = await redisEnv(inject("redisUrl"));
    const wallet = await root(env.ledger, 10);
    await env.store.close();
    expect(env.redis.status).toBe("end");
    await env.store.close();
    await expectUnavailable(
      () => env?.ledger.getWallet(project, { walletId: wallet.id }) ?? Promise.resolve(),
    );
  });

  it("keeps an unexpected Redis error a real error, not STORE_UNAVAILABLE", async () => {
    env = await redisEnv(inject("redisUrl"));
    const wallet = await root(env.ledger, 10);
    // Corrupt the wallet: a string where the script expects a hash.
    const key = `${env.prefix}{${wallet.id}}:w:${wallet.id}`;
    await env.observer.del(key);
    await env.observer.set(key, "not a hash");
    const error = await env.ledger
      .getWallet(project, { walletId: wallet.id })
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(LedgerError);
    expect((error as Error).message).toMatch(/^WRONGTYPE/);
  });
});
