import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LedgerError } from "../../../server/ledger/ledger-error.js";
import {
  assertNoEviction,
  createRedisClient,
  waitForReady,
} from "../../../server/store/redis/connect.js";
import { type OwnRedis, startOwnRedis } from "../../support/redis-server.js";

/**
 * The start-up check of `maxmemory-policy`: an evicted balance is lost money. On a redis-server
 * this file owns, since the test changes its configuration.
 */
describe("assertNoEviction", () => {
  let own: OwnRedis;
  const clients: ReturnType<typeof createRedisClient>[] = [];
  /** A fail-closed client, connected (it refuses commands until then). */
  const client = async (url: string) => {
    const redis = createRedisClient(url);
    redis.on("error", () => {});
    clients.push(redis);
    await waitForReady(redis, 5_000);
    return redis;
  };

  beforeAll(async () => {
    own = await startOwnRedis();
  });
  afterEach(async () => {
    const admin = await client(own.url);
    await admin.config("SET", "maxmemory-policy", "noeviction");
    for (const redis of clients.splice(0)) redis.disconnect();
  });
  afterAll(async () => {
    await own.dispose();
  });

  it("accepts noeviction", async () => {
    expect(await assertNoEviction(await client(own.url), { allowEviction: false })).toEqual({
      policy: "noeviction",
    });
  });

  it("refuses allkeys-lru unless eviction is allowed, and then names the policy", async () => {
    const redis = await client(own.url);
    await assertNoEviction(redis, { allowEviction: false });
    await redis.config("SET", "maxmemory-policy", "allkeys-lru");
    await expect(assertNoEviction(redis, { allowEviction: false })).rejects.toThrow(
      /maxmemory-policy is "allkeys-lru"/,
    );
    expect(await assertNoEviction(redis, { allowEviction: true })).toEqual({
      policy: "allkeys-lru",
    });
  });

  it("answers unknown where CONFIG is forbidden, for the caller to warn about", async () => {
    await (await client(own.url)).call(
      "ACL",
      "SETUSER",
      "tollgate",
      "on",
      ">secret",
      "~*",
      "&*",
      "+@all",
      "-config",
    );
    const limited = await client(own.url.replace("redis://", "redis://tollgate:secret@"));
    expect(await assertNoEviction(limited, { allowEviction: false })).toEqual({
      policy: "unknown",
    });
  });

  it("fails STORE_UNAVAILABLE on a closed client", async () => {
    const redis = await client(own.url);
    await assertNoEviction(redis, { allowEviction: false });
    await redis.quit();
    const error = await assertNoEviction(redis, { allowEviction: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerError);
    expect((error as LedgerError).reason).toBe("STORE_UNAVAILABLE");
  });
});
