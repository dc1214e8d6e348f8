import { status } from "@grpc/grpc-js";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { createRedisClient } from "../../server/store/redis/connect.js";
import { RedisLedgerStore } from "../../server/store/redis/redis-ledger-store.js";
import { call, createRequest, failure, type Harness, startHarness } from "../rpc/harness.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";
import { exitOf } from "../support/main-process.js";

/** The run's Redis with `/<db>` as its database. */
function onDatabase(db: number): string {
  const url = new URL(inject("redisUrl"));
  url.pathname = `/${db}`;
  return url.toString();
}

/** How many databases the run's Redis has (16 unless configured otherwise). */
async function databases(): Promise<number> {
  const redis = new Redis(inject("redisUrl"));
  try {
    const [, count] = (await redis.config("GET", "databases")) as string[];
    return Number(count);
  } finally {
    redis.disconnect();
  }
}

describe("a REDIS_URL naming a database that does not exist", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("stops npm start with one line naming REDIS_URL and the databases there are", async () => {
    const count = await databases();
    const url = onDatabase(count + 83);
    const exited = await exitOf({ REDIS_URL: url, TOLLGATE_ADDRESS: "127.0.0.1:0" });
    expect(exited.code).toBe(1);
    expect(exited.stderr).toContain(
      `tollgate failed to start: REDIS_URL ${url}: database ${count + 83} does not exist: this Redis has ${count} databases (0 to ${count - 1}); name an existing one in REDIS_URL (redis://host:port/<db>)\n`,
    );
    expect(exited.stderr).not.toContain("tollgate serving gRPC");
  });

  it("never makes the store client write to database 0 instead", async () => {
    const count = await databases();
    const keyPrefix = testKeyPrefix();
    const client = createRedisClient(onDatabase(count + 83));
    const selectRefused: string[] = [];
    client.on("error", (error: Error) => selectRefused.push(error.message));
    h = await startHarness({
      store: new RedisLedgerStore(client, { keyPrefix, firstConnectTimeoutMs: 1_000 }),
    });
    const refused = await failure(
      call(h.wallets, h.wallets.createWallet, createRequest({ requestId: "r", budget: 5n })),
    );
    expect(refused.code).toBe(status.UNAVAILABLE);
    expect(selectRefused).toContain("ERR DB index is out of range");
    const db0 = new Redis(inject("redisUrl"));
    try {
      expect(await db0.keys(`${keyPrefix}*`)).toEqual([]);
    } finally {
      await deleteKeys(db0, keyPrefix);
      db0.disconnect();
    }
  });
});
