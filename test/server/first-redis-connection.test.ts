import { createServer, type Server, type Socket } from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.js";
import { awaitFirstRedisConnection } from "../../server/startup/first-redis-connection.js";
import { createRedisClient } from "../../server/store/redis/connect.js";

describe("awaitFirstRedisConnection", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it("waits out a Redis that accepts but does not answer yet, instead of failing at once", async () => {
    // Accepts connections and never replies: a Redis still busy, or slow to start serving.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const address = silent.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const url = `redis://127.0.0.1:${port}`;
    const redis = createRedisClient(url);
    cleanups.push(() => redis.disconnect());
    const logged: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged.push(chunk.toString());
        done();
      },
    });

    await expect(
      awaitFirstRedisConnection(redis, url, createLogger("info", sink), 1_500),
    ).rejects.toThrow(`REDIS_URL ${url}: Redis was not ready within 1.5 s`);
    // Nothing failed, so nothing was said to be wrong while waiting.
    expect(logged).toEqual([]);
  });
});
