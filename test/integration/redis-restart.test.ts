import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { call, defined, errorInfoOf } from "../support/grpc.js";
import { type OwnRedis, startOwnRedis } from "../support/redis-server.js";
import { type ServedLedger, serveOnRedis } from "../support/served-ledger.js";

/**
 * Fail closed: while Redis is down every call is UNAVAILABLE and nothing is granted; once it is
 * back (empty script cache, state from its append-only file) calls succeed with balances intact.
 */
describe("Redis restarted under the server", () => {
  let redis: OwnRedis;
  let served: ServedLedger;

  beforeEach(async () => {
    redis = await startOwnRedis({ appendonly: true });
    served = await serveOnRedis({ redisUrl: redis.url });
  });
  afterEach(async () => {
    await served.dispose();
    await redis.dispose();
  });

  it("answers UNAVAILABLE while Redis is down, then serves the same balances with reloaded scripts", async () => {
    const c = served.clients;
    const { wallet } = await call(c.wallets, c.wallets.createWallet, {
      parentId: "",
      name: "task",
      budget: 100n,
      hardCap: true,
      metadata: {},
      alertThresholds: [],
      requestId: "create",
    });
    const walletId = defined(wallet, "wallet").id;
    const spend = (requestId: string) =>
      call(c.wallets, c.wallets.spend, {
        walletId,
        amount: 30n,
        service: "llm",
        metadata: {},
        alertThresholds: [],
        requestId,
      });
    await spend("before");

    await redis.stop({ crash: true });

    for (const attempt of [
      () => spend("during"),
      () => call(c.wallets, c.wallets.getWallet, { walletId }),
      () => call(c.receipts, c.receipts.getReceipt, { walletId }),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: status.UNAVAILABLE });
      expect(errorInfoOf(error)?.reason).toBe("STORE_UNAVAILABLE");
    }

    await redis.start();
    const after = await eventually(() => call(c.wallets, c.wallets.getWallet, { walletId }));
    expect(after.wallet?.spent).toBe(30n);
    expect(after.wallet?.available).toBe(70n);

    // The restarted Redis has an empty script cache: this spend only works if NOSCRIPT is handled.
    const reply = await spend("after");
    expect(reply.remaining).toBe(40n);
    // The spend refused during the outage charged nothing, and may now be retried.
    expect((await spend("during")).remaining).toBe(10n);
    const { receipt } = await call(c.receipts, c.receipts.getReceipt, { walletId });
    expect(receipt?.totalCredits).toBe(90n);
    expect(receipt?.callCount).toBe(3n);
  });
});
