import { afterEach, describe, expect, it } from "vitest";
import {
  createClient,
  type Mode,
  type SpendResult,
  type TollgateClient,
  type Wallet,
} from "../../client/index.js";
import { startTollgateServer, type TollgateServer } from "../../server/server.js";
import { eventually } from "../support/eventually.js";
import { type SpendWatch, slowSpends } from "./store-faults.js";
import {
  apiKey,
  type CallLog,
  callLog,
  collect,
  type RedisSpace,
  redisSpace,
  serverOptions,
} from "./support.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/** Operations in flight when the connection goes. */
const inFlight = 24;

/** The spends' amounts: distinct, so a double charge could not hide in the totals. */
const amounts = Array.from({ length: inFlight }, (_, i) => i + 1);
const total = BigInt(amounts.reduce((a, b) => a + b, 0));

/** Asserts that every spend was charged exactly once: balances, lines and request ids. */
async function assertExactlyOnce(wallet: Wallet, results: SpendResult[]): Promise<void> {
  expect(results.map((r) => r.charge.amount).sort((a, b) => Number(a - b))).toEqual(
    amounts.map(BigInt),
  );
  await wallet.refresh();
  expect(wallet).toMatchObject({ spent: total, available: 1000n - total });
  const lines = (await collect(wallet.listCharges({ pageSize: 1000 }))).items;
  expect(lines.filter((l) => l.kind === "SPEND")).toHaveLength(inFlight);
  expect(new Set(lines.map((l) => l.requestId)).size).toBe(inFlight);
  const receipt = await wallet.getReceipt();
  expect(receipt).toMatchObject({ totalCredits: total, callCount: BigInt(inFlight) });
}

/**
 * Transport failures while operations are in flight: the server restarts on the same port, or
 * the network drops every connection. The stream reopens and resends every unanswered operation
 * with its request id; unary calls retry with theirs. Each spend is charged exactly once.
 */
describe("reconnect", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });

  /**
   * A server on `address` over `space` whose spends commit at once and answer 150 ms later: a
   * cut in between leaves operations applied whose answers are lost, the case a resend with a
   * new request id would charge twice.
   */
  async function slowServer(
    space: RedisSpace,
    address: string,
  ): Promise<{ server: TollgateServer; watch: SpendWatch }> {
    const { store, watch } = slowSpends(space.store(), { answerAfterMs: 150 });
    const server = await startTollgateServer({
      ...serverOptions(store),
      address,
      // Stop at once: in-flight calls and streams are cut, as in a crash of the process.
      shutdownGraceMs: 0,
    });
    return { server, watch };
  }

  function client(address: string, mode: Mode, log: CallLog): TollgateClient {
    const tg = createClient({
      address,
      apiKey,
      mode,
      // Room for a restart on a loaded machine; a healthy run takes well under a second.
      deadlineMs: 20_000,
      retry: { maxAttempts: 20, initialBackoffMs: 50, maxBackoffMs: 500 },
      interceptors: [log.interceptor],
    });
    cleanups.push(() => tg.close());
    return tg;
  }

  it("stream: a server restarted on the same port completes every op exactly once", async () => {
    const space = redisSpace();
    cleanups.push(() => space.cleanup());
    let { server, watch } = await slowServer(space, "127.0.0.1:0");
    cleanups.push(() => server.shutdown());
    const log = callLog();
    const tg = client(server.address, "stream", log);
    const wallet = await tg.wallets.create({ budget: 1000 });

    const spends = Promise.all(amounts.map((n) => wallet.spend(n, { service: "restart" })));
    await eventually(async () => expect(watch.committed).toBeGreaterThan(0));
    await server.shutdown();
    ({ server, watch } = await slowServer(space, server.address));

    await assertExactlyOnce(wallet, await spends);
    expect(log.count("SpendStream")).toBeGreaterThanOrEqual(2);
  });

  it.each<Mode>(["stream", "unary"])(
    "%s: connections cut mid-flight complete every op exactly once",
    async (mode) => {
      const space = redisSpace();
      cleanups.push(() => space.cleanup());
      const { server, watch } = await slowServer(space, "127.0.0.1:0");
      cleanups.push(() => server.shutdown());
      const proxy: TcpProxy = await startTcpProxy(server.port);
      cleanups.push(() => proxy.close());
      const log = callLog();
      const tg = client(proxy.address, mode, log);
      const wallet = await tg.wallets.create({ budget: 1000 });

      const spends = Promise.all(amounts.map((n) => wallet.spend(n, { service: "cut" })));
      await eventually(async () => expect(watch.committed).toBeGreaterThan(0));
      proxy.cut();

      await assertExactlyOnce(wallet, await spends);
      expect(proxy.connections).toBeGreaterThanOrEqual(2);
      // Every attempt of a spend carried its one request id: resends and retries, not new spends.
      const spendIds = log.calls
        .filter((c) => c.method.endsWith(mode === "stream" ? "/SpendStream" : "/Spend"))
        .flatMap((c) =>
          c.requests.map((r) =>
            mode === "stream"
              ? (r as { spend: { requestId: string } }).spend.requestId
              : (r as { requestId: string }).requestId,
          ),
        );
      expect(new Set(spendIds).size).toBe(inFlight);
      expect(spendIds.length).toBeGreaterThan(inFlight);
    },
  );
});
