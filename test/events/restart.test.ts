import { afterEach, describe, expect, it } from "vitest";
import { createClient, type TollgateClient } from "../../client/index.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { apiKey, type RedisSpace, redisSpace, serverOptions } from "../client/support.js";
import { collectEvents, until } from "./served-events.js";

describe("WatchEvents across a server restart (Redis)", () => {
  let space: RedisSpace | undefined;
  let server: TollgateServer | undefined;
  let tg: TollgateClient | undefined;
  afterEach(async () => {
    tg?.close();
    await server?.shutdown();
    await space?.cleanup();
  });

  it("resumes on the restarted server with every later event, none twice", async () => {
    space = redisSpace();
    server = await startTollgateServer(serverOptions(space.store()));
    const port = server.port;
    tg = createClient({
      address: server.address,
      apiKey,
      // grpc-js waits about a second before reconnecting a channel whose attempt failed while
      // the server was down: the retries must span that (10 attempts, up to 200 ms apart).
      retry: { maxAttempts: 10, initialBackoffMs: 20, maxBackoffMs: 200 },
    });
    const task = await tg.wallets.create({ name: "task", budget: 100 });
    const reconnects: string[] = [];
    const watch = task.watch({ onReconnect: ({ error }) => reconnects.push(String(error.code)) });
    const seen = collectEvents(watch);
    await until(() => watch.lastCursor !== "", "the watch to begin");
    for (let i = 0; i < 5; i++) await task.spend(1, { service: "llm" });
    await until(() => seen.events.length >= 5, "the first spends");

    await server.shutdown();
    server = await startTollgateServer({
      ...serverOptions(space.store()),
      address: `127.0.0.1:${port}`,
    });
    for (let i = 0; i < 5; i++) await task.spend(2, { service: "llm" });
    await until(
      () => seen.events.filter((e) => e.kind === "SPEND").length >= 10,
      "the later spends",
    );
    watch.close();
    await seen.done;

    expect(reconnects.length).toBeGreaterThanOrEqual(1);
    const spends = seen.events.filter((e) => e.kind === "SPEND").map((e) => e.charge?.amount);
    expect(spends).toEqual([1n, 1n, 1n, 1n, 1n, 2n, 2n, 2n, 2n, 2n]);
    const sequences = seen.events.map((e) => e.sequence);
    expect(sequences).toEqual(sequences.map((_, i) => (sequences[0] ?? 0n) + BigInt(i)));
  });
});
