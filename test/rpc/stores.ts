import { Redis } from "ioredis";
import { inject } from "vitest";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { MemoryLedgerStore } from "../../server/store/memory/memory-ledger-store.js";
import { createRedisClient } from "../../server/store/redis/connect.js";
import { RedisLedgerStore } from "../../server/store/redis/redis-ledger-store.js";
import { deleteKeys, testKeyPrefix } from "../support/key-prefix.js";

/** A fresh store for one test, and how to clean up after it (the server closes the store). */
export interface StoreUnderTest {
  store: LedgerStore;
  cleanup(): Promise<void>;
}

/** The stores the rpc suites run over: the embedded default and Redis (own key prefix per test). */
export const stores: { name: string; open(): StoreUnderTest }[] = [
  {
    name: "memory",
    open: () => ({ store: new MemoryLedgerStore(), cleanup: async () => {} }),
  },
  {
    name: "redis",
    open: () => {
      const url = inject("redisUrl");
      const keyPrefix = testKeyPrefix();
      return {
        store: new RedisLedgerStore(createRedisClient(url), { keyPrefix }),
        async cleanup() {
          const redis = new Redis(url);
          try {
            await deleteKeys(redis, keyPrefix);
          } finally {
            redis.disconnect();
          }
        },
      };
    },
  },
];
