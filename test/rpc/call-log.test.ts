import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { bearer, call, failure, type Harness, startHarness } from "./harness.js";
import { apiKey, openStream, spendOp } from "./stream-harness.js";

/** An id far past any the ledger accepts, as a client flooding the logs would send. */
const hugeId = `w_${"x".repeat(60_000)}`;
const logged = hugeId.slice(0, 128);

describe("call log lines", () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const start = async () => {
    h = await startHarness({
      logLevel: "debug",
      apiKeys: [{ project: "alpha", keySha256: hashApiKey(apiKey) }],
    });
    return h;
  };

  it("cut a 60 kB wallet or hold id to 128 characters on unary lines", async () => {
    const harness = await start();
    const md = bearer(apiKey);
    await failure(call(harness.wallets, harness.wallets.getWallet, { walletId: hugeId }, md));
    const capture = { holdId: hugeId, amount: 1n, metadata: {}, requestId: "cap-1" };
    await failure(call(harness.wallets, harness.wallets.capture, capture, md));

    const lines = harness.logs.filter((l) => l.msg === "rpc");
    expect(lines.map((l) => [l.method, l.walletId, l.holdId])).toEqual([
      ["GetWallet", logged, undefined],
      ["Capture", undefined, logged],
    ]);
    expect(Math.max(...harness.logs.map((l) => JSON.stringify(l).length))).toBeLessThan(1000);
  });

  it("cut a 60 kB wallet or hold id to 128 characters on streamed operation lines", async () => {
    const harness = await start();
    const s = openStream(harness, bearer(apiKey));
    const spent = await s.send({ correlationId: 1, spend: spendOp(hugeId, 1n, "s-1") });
    expect(spent.error?.code).toBe(status.INVALID_ARGUMENT);
    const voided = await s.send({ correlationId: 2, void: { holdId: hugeId, requestId: "v-1" } });
    expect(voided.error).toBeDefined();
    s.stream.end();
    expect((await s.ended).code).toBe(status.OK);

    const lines = harness.logs.filter((l) => String(l.method).startsWith("SpendStream."));
    expect(lines.map((l) => [l.method, l.walletId, l.holdId])).toEqual([
      ["SpendStream.Spend", logged, undefined],
      ["SpendStream.Void", undefined, logged],
    ]);
    expect(Math.max(...harness.logs.map((l) => JSON.stringify(l).length))).toBeLessThan(1000);
  });
});
