import {
  InterceptingCall,
  type Interceptor,
  Metadata,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  InsufficientCreditsError,
  InvalidArgumentError,
  type TollgateClient,
  UnavailableError,
  type Wallet,
} from "../../client/index.js";
import { eventually } from "../support/eventually.js";
import { freePort } from "../support/redis-server.js";
import { gatedSpends, type SpendWatch, slowSpends, unavailableSpends } from "./store-faults.js";
import { type CallLog, callLog, collect, rejection, type Served, serve } from "./support.js";

/**
 * An interceptor that loses the answer of the first call of `method`: the server ran it (and
 * committed), but the client sees UNAVAILABLE, as after a connection that dropped mid-answer.
 */
function loseFirstAnswer(method: string): Interceptor {
  let lost = false;
  return (options, nextCall) => {
    const drop = !lost && options.method_definition.path.endsWith(`/${method}`);
    if (drop) lost = true;
    if (!drop) return new InterceptingCall(nextCall(options));
    return new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        // The message still flows (grpc-js holds the status until it is processed), but a
        // non-OK status makes the unary call report the error and drop the message.
        next(metadata, {
          onReceiveStatus(_status: StatusObject, nextStatus) {
            nextStatus({
              code: status.UNAVAILABLE,
              details: "answer lost in transit (test)",
              metadata: new Metadata(),
            });
          },
        });
      },
    });
  };
}

/** The request ids a call log saw for `method`, one per attempt. */
function requestIds(log: CallLog, method: string): string[] {
  return log.calls
    .filter((c) => c.method.endsWith(`/${method}`))
    .map((c) => (c.requests[0] as { requestId: string }).requestId);
}

async function spendLines(wallet: Wallet) {
  const { items } = await collect(wallet.listCharges({ includeDescendants: true }));
  return items.filter((line) => line.kind === "SPEND" || line.kind === "CAPTURE");
}

describe("retry safety", () => {
  let served: Served | undefined;
  afterEach(async () => {
    await served?.dispose();
    served = undefined;
  });

  /** A client whose first answer of `method` is lost, logging every attempt. */
  async function lossyClient(method: string): Promise<{ tg: TollgateClient; log: CallLog }> {
    served = await serve();
    const log = callLog();
    // The log sits outside the lossy interceptor, so it records every attempt's request.
    const tg = served.client({ interceptors: [log.interceptor, loseFirstAnswer(method)] });
    return { tg, log };
  }

  it("a spend applied but unanswered is retried with the same request_id and charged once", async () => {
    const { tg, log } = await lossyClient("Spend");
    const wallet = await tg.wallets.create({ budget: 100 });
    const result = await wallet.spend(5, { service: "search" });
    const ids = requestIds(log, "Spend");
    expect(ids).toHaveLength(2);
    expect(ids[1]).toBe(ids[0]);
    // The generated id is a UUID, and the answer is the first attempt's charge.
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(result.charge.requestId).toBe(ids[0]);
    expect(result.remaining).toBe(95n);
    await wallet.refresh();
    expect(wallet).toMatchObject({ spent: 5n, available: 95n });
    expect(await spendLines(wallet)).toHaveLength(1);
  });

  it("every mutation survives a lost answer exactly once", async () => {
    const cases: [string, (tg: TollgateClient) => Promise<Wallet>][] = [
      ["CreateWallet", (tg) => tg.wallets.create({ budget: 100 })],
      ["AddCredits", async (tg) => (await tg.wallets.create({ budget: 100 })).addCredits(50)],
      [
        "Authorize",
        async (tg) => {
          const w = await tg.wallets.create({ budget: 100 });
          await w.authorize(30, { service: "s" });
          return w;
        },
      ],
      [
        "Capture",
        async (tg) => {
          const w = await tg.wallets.create({ budget: 100 });
          await (await w.authorize(30, { service: "s" })).capture(20);
          return w;
        },
      ],
    ];
    const expected: Record<string, object> = {
      CreateWallet: { budget: 100n, available: 100n },
      AddCredits: { budget: 150n, available: 150n },
      Authorize: { held: 30n, available: 70n },
      Capture: { spent: 20n, held: 0n, available: 80n },
    };
    for (const [method, run] of cases) {
      const { tg, log } = await lossyClient(method);
      const wallet = await (await run(tg)).refresh();
      expect(wallet, method).toMatchObject(expected[method] ?? {});
      const ids = requestIds(log, method);
      expect(ids, method).toHaveLength(2);
      expect(ids[1], method).toBe(ids[0]);
      const roots = await collect(tg.wallets.list());
      expect(roots.items, method).toHaveLength(1);
      await served?.dispose();
      served = undefined;
    }
  });

  it("a deadline that passes after the store committed is retried into the first result", async () => {
    let watch: SpendWatch | undefined;
    served = await serve({
      wrapStore: (store) => {
        const slow = slowSpends(store, { answerAfterMs: 800, firstOnly: true });
        watch = slow.watch;
        return slow.store;
      },
      client: { deadlineMs: 250 },
    });
    const log = callLog();
    const tg = served.client({ interceptors: [log.interceptor] });
    const wallet = await tg.wallets.create({ budget: 100 });
    const result = await wallet.spend(4, { service: "search", requestId: "late-answer-1" });
    expect(result.charge.requestId).toBe("late-answer-1");
    expect(requestIds(log, "Spend")).toEqual(["late-answer-1", "late-answer-1"]);
    await eventually(async () => expect(watch?.finished).toBe(2));
    await wallet.refresh();
    expect(wallet).toMatchObject({ spent: 4n, available: 96n });
    expect(await spendLines(wallet)).toHaveLength(1);
  });

  it.each(["unary", "stream"] as const)(
    "%s: a store that is briefly unavailable is retried with the same request_id",
    async (mode) => {
      let watch: SpendWatch | undefined;
      served = await serve({
        wrapStore: (store) => {
          const flaky = unavailableSpends(store, 2);
          watch = flaky.watch;
          return flaky.store;
        },
      });
      const log = callLog();
      const tg = served.client({ mode, interceptors: [log.interceptor] });
      const wallet = await tg.wallets.create({ budget: 100 });
      const result = await wallet.spend(9, { service: "s", requestId: `flaky-${mode}` });
      expect(result.remaining).toBe(91n);
      expect(watch).toMatchObject({ started: 3, committed: 1 });
      const sent = log.calls
        .filter((c) => c.method.endsWith(mode === "stream" ? "/SpendStream" : "/Spend"))
        .flatMap((c) => c.requests)
        .map((r) => (mode === "stream" ? (r as { spend: { requestId: string } }).spend : r))
        .map((r) => (r as { requestId: string }).requestId);
      expect(sent).toEqual([`flaky-${mode}`, `flaky-${mode}`, `flaky-${mode}`]);
      expect(await spendLines(await wallet.refresh())).toHaveLength(1);
    },
  );

  it("never retries a refusal", async () => {
    served = await serve();
    const log = callLog();
    const tg = served.client({ interceptors: [log.interceptor] });
    const wallet = await tg.wallets.create({ budget: 1 });
    expect(await rejection(wallet.spend(2, { service: "s" }))).toBeInstanceOf(
      InsufficientCreditsError,
    );
    // Refused by the server (the client does not check ranges), so it did reach it.
    expect(await rejection(wallet.spend(0, { service: "s" }))).toBeInstanceOf(InvalidArgumentError);
    expect(log.count("Spend")).toBe(2);
  });

  it("bounds the attempts against a server that is down, all with one request_id", async () => {
    const log = callLog();
    const { createClient } = await import("../../client/index.js");
    const tg = createClient({
      address: `127.0.0.1:${await freePort()}`,
      interceptors: [log.interceptor],
      retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 20 },
    });
    try {
      const error = await rejection(tg.wallets.create({ budget: 1 }));
      expect(error).toBeInstanceOf(UnavailableError);
      const ids = requestIds(log, "CreateWallet");
      expect(ids).toHaveLength(3);
      expect(new Set(ids).size).toBe(1);
      expect((error as UnavailableError).requestId).toBe(ids[0]);
    } finally {
      tg.close();
    }
  });
});

describe("deadlines and aborts", () => {
  let served: Served | undefined;
  let watch: SpendWatch | undefined;
  afterEach(async () => {
    await served?.dispose();
    served = undefined;
  });
  const slowServer = async (beforeMs: number) => {
    served = await serve({
      wrapStore: (store) => {
        const slow = slowSpends(store, { beforeMs });
        watch = slow.watch;
        return slow.store;
      },
    });
    return served;
  };

  it.each(["unary", "stream"] as const)(
    "%s: a call past its deadline fails UnavailableError naming the request id, applied once",
    async (mode) => {
      const { client } = await slowServer(600);
      const tg = client({ mode, deadlineMs: 150, retry: { maxAttempts: 2, initialBackoffMs: 1 } });
      const wallet = await tg.wallets.create({ budget: 100 });
      const error = await rejection(wallet.spend(6, { service: "s", requestId: `slow-${mode}` }));
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ code: status.DEADLINE_EXCEEDED, requestId: `slow-${mode}` });
      expect((error as Error).message).toContain(`retry with the same request_id slow-${mode}`);
      // The server went on and committed: once, however many attempts reached it.
      await eventually(async () => {
        expect(watch?.finished).toBe(watch?.started);
        expect((await wallet.refresh()).spent).toBe(6n);
      });
      expect(await spendLines(wallet)).toHaveLength(1);
    },
  );

  it.each(["unary", "stream"] as const)(
    "%s: an abort rejects with the signal's reason at once",
    async (mode) => {
      let gate: ReturnType<typeof gatedSpends> | undefined;
      served = await serve({
        wrapStore: (store) => {
          gate = gatedSpends(store);
          return gate.store;
        },
      });
      const log = callLog();
      const tg = served.client({ mode, interceptors: [log.interceptor] });
      const wallet = await tg.wallets.create({ budget: 100 });
      const reason = new Error("the user gave up");
      const controller = new AbortController();
      const pending = rejection(wallet.spend(1, { service: "s", signal: controller.signal }));
      // The spend reached the store, which holds it until released.
      await eventually(async () => expect(gate?.watch.started).toBe(1));
      controller.abort(reason);
      expect(await pending).toBe(reason);
      // The server was still holding the spend: the rejection came from the abort alone.
      expect(gate?.watch.finished).toBe(0);
      gate?.release();

      // An already aborted signal sends nothing.
      const calls = log.calls.length;
      expect(
        await rejection(wallet.spend(1, { service: "s", signal: AbortSignal.abort(reason) })),
      ).toBe(reason);
      expect(log.calls.length).toBe(calls);
    },
  );

  it("an abort during a retry backoff rejects without waiting it out", async () => {
    const { createClient } = await import("../../client/index.js");
    // Full jitter pinned to its ceiling: the backoff is exactly 60 s, twice the test timeout,
    // so only the abort can end the wait (a client that ignored it would time the test out).
    vi.spyOn(Math, "random").mockReturnValue(1);
    const log = callLog();
    const tg = createClient({
      address: `127.0.0.1:${await freePort()}`,
      retry: { maxAttempts: 5, initialBackoffMs: 60_000, maxBackoffMs: 60_000 },
      interceptors: [log.interceptor],
    });
    try {
      const controller = new AbortController();
      const pending = rejection(tg.wallets.create({ budget: 1 }, { signal: controller.signal }));
      // The first attempt has failed (UNAVAILABLE: nothing listens): the backoff has begun.
      await eventually(async () => expect(log.calls[0]?.status).toBe(status.UNAVAILABLE));
      controller.abort("stop");
      expect(await pending).toBe("stop");
      expect(log.count("CreateWallet")).toBe(1);
    } finally {
      vi.restoreAllMocks();
      tg.close();
    }
  });
});
