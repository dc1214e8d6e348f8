import { Redis } from "ioredis";
import { inject } from "vitest";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { createRedisClient } from "../../server/store/redis/connect.js";
import { RedisLedgerStore } from "../../server/store/redis/redis-ledger-store.js";
import { connectClients, type TestClients } from "./grpc.js";
import { deleteKeys, testKeyPrefix } from "./key-prefix.js";

/** A real server over a real Redis, with real clients. */
export interface ServedLedger {
  server: TollgateServer;
  clients: TestClients;
  /** Closes clients and server (which closes the store), then deletes this test's keys. */
  dispose(): Promise<void>;
}

/** Serves a fresh key prefix of `redisUrl` (default: the run's Redis) on 127.0.0.1:0. */
export async function serveOnRedis(options: { redisUrl?: string } = {}): Promise<ServedLedger> {
  const url = options.redisUrl ?? inject("redisUrl");
  const keyPrefix = testKeyPrefix();
  const server = await startTollgateServer({
    store: new RedisLedgerStore(createRedisClient(url), { keyPrefix }),
    address: "127.0.0.1:0",
    logLevel: "silent",
  });
  const clients = connectClients(server.port);
  return {
    server,
    clients,
    async dispose() {
      clients.close();
      await server.shutdown();
      const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
      redis.on("error", () => {});
      try {
        await redis.connect();
        await deleteKeys(redis, keyPrefix);
      } catch {
        // the test's own Redis may already be gone; its data directory is deleted with it
      } finally {
        redis.disconnect();
      }
    },
  };
}
