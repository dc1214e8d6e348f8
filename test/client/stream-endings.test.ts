import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type TollgateError, UnavailableError } from "../../client/index.js";
import { eventually } from "../support/eventually.js";
import { type SpendWatch, slowSpends, unavailableSpends } from "./store-faults.js";
import { callLog, type Served, serve } from "./support.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/**
 * A SpendStream that ends for a reason that is neither a transport failure (resent after a
 * reconnect) nor authentication (nothing ran): every operation that had been sent may have been
 * applied, so it must be reported as such, naming its request id, never as a definite failure
 * that a caller would retry with a new id and pay twice.
 */
describe("stream endings", () => {
  let served: Served | undefined;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await proxy?.close();
    proxy = undefined;
    await served?.dispose();
    served = undefined;
  });

  it("RESOURCE_EXHAUSTED: the charged operations reject as maybe applied, and a retry with the same ids charges once", async () => {
    let watch: SpendWatch | undefined;
    served = await serve({
      // A server reading at most 1 KiB per message: a 5 KB (valid) metadata ends the stream.
      server: { maxMessageBytes: 1024, shutdownGraceMs: 0 },
      wrapStore: (store) => {
        // The 20 commit at once and answer much later: the stream ends while they are charged.
        // (The big one and the retries run at full speed.)
        const slow = slowSpends(store, { answerAfterMs: 5000, first: 20 });
        watch = slow.watch;
        return slow.store;
      },
    });
    const log = callLog();
    const tg = served.client({ mode: "stream", interceptors: [log.interceptor] });
    const wallet = await tg.wallets.create({ budget: 1000 });
    const ids = Array.from({ length: 20 }, (_, i) => `charged-${i}`);
    const spends = ids.map((requestId) =>
      wallet.spend(1, { service: "s", requestId }).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    await eventually(async () => expect(watch?.committed).toBe(20));
    const metadata = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`k${i}`, "v".repeat(256)]),
    );
    const big = await wallet
      .spend(1, { service: "s", metadata, requestId: "too-big" })
      .catch((error: unknown) => error);
    const errors = await Promise.all(spends);

    for (const [i, error] of errors.entries()) {
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ code: status.UNAVAILABLE, requestId: ids[i] });
      expect((error as Error).message).toContain("may have been applied");
      expect((error as Error).message).toContain(`request_id ${ids[i]}`);
      expect((error as Error).message).toContain("RESOURCE_EXHAUSTED");
      expect((error as TollgateError).cause).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    }
    // The oversized one was sent too: the client cannot tell which message ended the stream.
    expect(big).toBeInstanceOf(UnavailableError);
    expect(big).toMatchObject({ requestId: "too-big" });
    // Not resent: the same message would end the next stream the same way.
    expect(log.count("SpendStream")).toBe(1);

    // The safe retry the error asks for is answered from the first charge: paid once.
    const retried = await Promise.all(
      ids.map((requestId) => wallet.using("unary").spend(1, { service: "s", requestId })),
    );
    expect(retried.map((r) => r.charge.requestId)).toEqual(ids);
    expect((await wallet.refresh()).spent).toBe(20n);
  });

  it("a reconnect leaves an operation waiting on its retry backoff to its timer: sent once per attempt", async () => {
    // Backoffs are random * ceiling: pin the jitter, long for the operation's retry backoff
    // (4950 ms: the room the test has to cut the connection, wide for a loaded CI machine), then short for the reconnect
    // (20 ms), so the stream reopens while the operation still waits.
    let jitter = 0.99;
    vi.spyOn(Math, "random").mockImplementation(() => jitter);
    served = await serve({
      server: { shutdownGraceMs: 0 },
      // The first spend finds the store unavailable; the next commits and answers 6 s later, so
      // a second copy sent at the reconnect would still be unanswered when the timer fires.
      // (6 s > the 4950 ms backoff window.)
      wrapStore: (store) =>
        unavailableSpends(slowSpends(store, { answerAfterMs: 6000 }).store, 1).store,
    });
    proxy = await startTcpProxy(served.server.port);
    const log = callLog();
    const tg = served.client({
      address: proxy.address,
      mode: "stream",
      deadlineMs: 60_000,
      retry: { maxAttempts: 5, initialBackoffMs: 5000, maxBackoffMs: 5000 },
      interceptors: [log.interceptor],
    });
    const wallet = await tg.wallets.create({ budget: 100 });
    const spend = wallet.spend(7, { service: "s", requestId: "waits-1" });
    // Internal, only to know when the UNAVAILABLE answer has arrived and the backoff began.
    const pending = (tg.stream() as unknown as { pending: { all(): { retryTimer?: unknown }[] } })
      .pending;
    await eventually(async () => expect(pending.all()[0]?.retryTimer).toBeDefined());
    jitter = 0.01;
    proxy.cut();

    expect((await spend).remaining).toBe(93n);
    const frames = log.calls
      .filter((c) => c.method.endsWith("/SpendStream"))
      .map((c) => c.requests.length);
    // Stream 1: the first attempt. Stream 2: the retry, sent once, by its timer.
    expect(frames).toEqual([1, 1]);
    expect((await wallet.refresh()).spent).toBe(7n);
  }, 60_000);
});
