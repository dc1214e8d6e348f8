import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "../../client/index.js";
import { startTollgateServer } from "../../server/server.js";
import { apiKey, collect, redisSpace, serverOptions } from "../client/support.js";
import { misbehavingStore } from "../rpc/failing-store.js";
import { gatedSpends } from "../rpc/gated-spends.js";
import { call, createRequest, failure, startHarness } from "../rpc/harness.js";

describe("graceful shutdown", () => {
  it("lets an in-flight call finish, refuses new ones, then closes the store", async () => {
    const store = misbehavingStore("getWallet", { hang: true });
    const h = await startHarness({ store, shutdownGraceMs: 10_000 });
    const { wallet } = await call(
      h.wallets,
      h.wallets.createWallet,
      createRequest({ requestId: "r", budget: 42n }),
    );
    const walletId = wallet?.id ?? "";

    const inFlight = call(h.wallets, h.wallets.getWallet, { walletId });
    await store.entered;
    const stopping = h.server.shutdown();
    expect(h.server.shutdown()).toBe(stopping);

    const refused = await failure(call(h.receipts, h.receipts.getReceipt, { walletId }));
    expect(refused.code).toBe(status.UNAVAILABLE);
    expect(store.closed).toBe(false);

    store.release();
    const answered = await inFlight;
    expect(answered.wallet).toMatchObject({ id: walletId, budget: 42n, available: 42n });
    await stopping;
    expect(store.closed).toBe(true);
    await h.close(); // idempotent
  });

  it("cancels calls still running at the grace deadline and still closes the store", async () => {
    const store = misbehavingStore("getWallet", { hang: true });
    const h = await startHarness({ store, shutdownGraceMs: 200 });
    const { wallet } = await call(
      h.wallets,
      h.wallets.createWallet,
      createRequest({ requestId: "r", budget: 1n }),
    );
    const inFlight = failure(call(h.wallets, h.wallets.getWallet, { walletId: wallet?.id ?? "" }));
    await store.entered;

    await h.server.shutdown();
    expect(store.closed).toBe(true);
    expect((await inFlight).code).toBe(status.CANCELLED);
    expect(
      h.logs.some((l) => l.msg === "shutdown grace period over: cancelling in-flight calls"),
    ).toBe(true);

    store.release(); // the abandoned handler finishes into a closed call without crashing anything
    await new Promise((r) => setTimeout(r, 50));
    await h.close();
  });
});

/**
 * The typed client in stream mode against a server that shuts down while a spend runs and
 * another is sent, and a new server on the same port: the running spend is answered by the old
 * server, the late one by the new server, each charged once.
 */
describe("graceful shutdown with the typed client's SpendStream", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  });

  it("answers the running spend, and the one sent during shutdown completes once after reconnect", async () => {
    const space = redisSpace();
    cleanups.push(() => space.cleanup());
    const { store, gate } = gatedSpends(space.store());
    // Far beyond the test timeout: waiting for the grace deadline fails the test by hanging.
    const old = await startTollgateServer({ ...serverOptions(store), shutdownGraceMs: 600_000 });
    cleanups.push(() => old.shutdown());
    const tg = createClient({
      address: old.address,
      apiKey,
      mode: "stream",
      deadlineMs: 20_000,
      retry: { maxAttempts: 20, initialBackoffMs: 50, maxBackoffMs: 500 },
    });
    cleanups.push(() => tg.close());
    const wallet = await tg.wallets.create({ budget: 1000 });

    const running = wallet.spend(3, { service: "shutdown", requestId: "running" });
    await gate.started(1);
    const stopping = old.shutdown();
    const late = wallet.spend(5, { service: "shutdown", requestId: "late" });
    gate.releaseAll();
    expect((await running).charge.amount).toBe(3n);
    await stopping;
    // The old server never ran the late spend: only the new one can charge it.
    expect(gate.calls).toBe(1);

    const next = await startTollgateServer({
      ...serverOptions(space.store()),
      address: old.address,
    });
    cleanups.push(() => next.shutdown());
    expect((await late).charge.amount).toBe(5n);

    await wallet.refresh();
    expect(wallet).toMatchObject({ spent: 8n, available: 992n });
    const lines = (await collect(wallet.listCharges({ pageSize: 100 }))).items;
    expect(
      lines
        .filter((l) => l.kind === "SPEND")
        .map((l) => l.requestId)
        .sort(),
    ).toEqual(["late", "running"]);
  });
});
