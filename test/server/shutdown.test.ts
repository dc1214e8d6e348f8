import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { misbehavingStore } from "../rpc/failing-store.js";
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
