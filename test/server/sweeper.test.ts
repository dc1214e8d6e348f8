import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import { CredentialIssuer } from "../../server/credentials/credential-issuer.js";
import { Ledger } from "../../server/ledger/ledger.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { createRedisClient } from "../../server/store/redis/connect.js";
import { sweepScheduleKey, treeKey } from "../../server/store/redis/keys.js";
import { RedisLedgerStore } from "../../server/store/redis/redis-ledger-store.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";

/**
 * The server runs the sweeper: a tree that nobody touches still has its due holds expired (and
 * its EXPIRE lines written) in the background, seen here in Redis itself, with no call on it.
 */
describe("the server's sweeper", () => {
  let server: TollgateServer | undefined;
  let observer: Redis | undefined;
  let keyPrefix = "";
  let setupStore: RedisLedgerStore | undefined;
  afterEach(async () => {
    await server?.shutdown();
    await setupStore?.close();
    if (observer !== undefined) {
      await deleteKeys(observer, keyPrefix);
      observer.disconnect();
    }
  });

  it("expires an idle tree's due holds in the background", async () => {
    const url = inject("redisUrl");
    keyPrefix = testKeyPrefix();
    observer = new Redis(url);
    let nowMs = Date.UTC(2025, 0, 1);
    const store = new RedisLedgerStore(createRedisClient(url), { keyPrefix });
    server = await startTollgateServer({
      store,
      address: "127.0.0.1:0",
      logLevel: "silent",
      now: () => nowMs,
      sweepIntervalMs: 100,
    });
    // Set up through a second ledger on the same keys, with the same clock.
    setupStore = new RedisLedgerStore(createRedisClient(url), { keyPrefix });
    const setup = new Ledger(setupStore, await CredentialIssuer.create(undefined, 60_000), {
      now: () => nowMs,
    });
    const root = await setup.createWallet("default", { budget: 100, requestId: "root" });
    for (let i = 0; i < 3; i++) {
      await setup.authorize("default", {
        walletId: root.id,
        amount: 10,
        service: "llm",
        ttlSeconds: 5,
        requestId: `hold-${i}`,
      });
    }
    const openHolds = treeKey(keyPrefix, root.id, "openHolds");
    expect(await observer.zcard(openHolds)).toBe(3);
    nowMs += 6_000;
    await expect.poll(() => observer?.zcard(openHolds), { timeout: 10_000 }).toBe(0);
    const tree = treeKey(keyPrefix, root.id, "tree");
    expect(await observer.hget(tree, "held")).toBe("0");
    expect(await observer.zscore(sweepScheduleKey(keyPrefix), root.id)).toBeNull();
  });
});
