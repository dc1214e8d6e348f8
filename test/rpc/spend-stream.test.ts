import { Metadata, status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { defined } from "../support/grpc.js";
import { bearer, call, failure, statusDetails, unpackDetails } from "./harness.js";
import { stores } from "./stores.js";
import { apiKey, openStream, spendOp, streamServers } from "./stream-harness.js";

/** The refusal of an operation with none, or several, of its cases set. */
const exactlyOne = "exactly one of spend, authorize, capture or void must be set";

describe.each(stores)("WalletService.SpendStream operations ($name store)", ({ open }) => {
  const { start, createRoot, getWallet } = streamServers(open);

  it("answers mixed operations under their correlation ids with exact balances", async () => {
    const harness = await start({ logLevel: "debug" });
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);

    const [spent, authorized] = await Promise.all([
      s.send({ correlationId: 7, spend: spendOp(walletId, 100n, "s1") }),
      s.send({
        correlationId: 8,
        authorize: {
          walletId,
          amount: 200n,
          service: "llm",
          metadata: {},
          requestId: "a1",
          ttlSeconds: 60,
        },
      }),
    ]);
    expect(spent.correlationId).toBe(7);
    expect(spent.spend?.charge?.amount).toBe(100n);
    expect(spent.spend?.charge?.walletId).toBe(walletId);
    expect(spent.spend?.credential).not.toBe("");
    expect(authorized.correlationId).toBe(8);
    const hold = defined(defined(authorized.authorize, "authorize").hold, "hold");
    expect(hold.amount).toBe(200n);
    // Both ran concurrently: whichever came second saw 700 left.
    expect(
      [
        defined(spent.spend, "spend").remaining,
        defined(authorized.authorize, "a").remaining,
      ].sort(),
    ).toContain(700n);

    const captured = await s.send({
      correlationId: 9,
      capture: { holdId: hold.id, amount: 150n, metadata: {}, requestId: "c1" },
    });
    expect(captured.capture?.charge?.amount).toBe(150n);
    expect(captured.capture?.remaining).toBe(750n);

    const second = await s.send({
      correlationId: 10,
      authorize: {
        walletId,
        amount: 50n,
        service: "llm",
        metadata: {},
        requestId: "a2",
        ttlSeconds: 60,
      },
    });
    expect(second.authorize?.remaining).toBe(700n);
    const voided = await s.send({
      correlationId: 11,
      void: { holdId: defined(second.authorize?.hold, "hold").id, requestId: "v1" },
    });
    expect(voided.void?.remaining).toBe(750n);

    s.stream.end();
    expect((await s.ended).code).toBe(status.OK);
    expect(s.answers.map((a) => a.correlationId).sort()).toEqual([10, 11, 7, 8, 9]);
    expect(await getWallet(harness, walletId)).toMatchObject({
      spent: 250n,
      held: 0n,
      available: 750n,
    });

    const lines = harness.logs;
    const opens = lines.filter((l) => l.msg === "stream open");
    const closes = lines.filter((l) => l.msg === "stream closed");
    expect(opens).toMatchObject([{ level: 30, method: "SpendStream", project: "alpha" }]);
    expect(closes).toMatchObject([{ level: 30, code: "OK", ops: 5, project: "alpha" }]);
    const opLines = lines.filter((l) => String(l.method).startsWith("SpendStream."));
    expect(opLines.map((l) => [l.method, l.level, l.code, l.requestId, l.walletId])).toEqual(
      expect.arrayContaining([
        ["SpendStream.Spend", 20, "OK", "s1", walletId],
        ["SpendStream.Authorize", 20, "OK", "a1", walletId],
        ["SpendStream.Capture", 20, "OK", "c1", walletId],
        ["SpendStream.Authorize", 20, "OK", "a2", walletId],
        ["SpendStream.Void", 20, "OK", "v1", walletId],
      ]),
    );
    expect(opLines).toHaveLength(5);
  });

  it("answers a refused spend with its Status and keeps the stream going", async () => {
    const harness = await start();
    const walletId = await createRoot(harness, 100n);
    const s = openStream(harness);

    expect(
      (await s.send({ correlationId: 1, spend: spendOp(walletId, 60n, "r1") })).spend?.remaining,
    ).toBe(40n);
    const refused = await s.send({ correlationId: 2, spend: spendOp(walletId, 60n, "r2") });
    expect(refused.spend).toBeUndefined();
    const error = defined(refused.error, "error");
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(unpackDetails(error).errorInfo).toEqual({
      reason: "INSUFFICIENT_CREDITS",
      domain: "tollgate.dev",
      metadata: expect.objectContaining({ wallet_id: walletId, requested: "60", available: "40" }),
    });
    const third = await s.send({ correlationId: 3, spend: spendOp(walletId, 40n, "r3") });
    expect(third.spend?.remaining).toBe(0n);

    // The same refusal over unary carries the same google.rpc.Status.
    const unary = await failure(
      call(harness.wallets, harness.wallets.spend, spendOp(walletId, 60n, "r2"), bearer(apiKey)),
    );
    const unaryStatus = defined(statusDetails(unary).status, "status");
    const again = await s.send({ correlationId: 4, spend: spendOp(walletId, 60n, "r2") });
    expect(again.error).toEqual(unaryStatus);

    s.stream.end();
    expect((await s.ended).code).toBe(status.OK);
    expect(await getWallet(harness, walletId)).toMatchObject({ spent: 100n, available: 0n });
  });

  it("replays a request_id over the stream and then over unary with the same charge", async () => {
    const harness = await start();
    const walletId = await createRoot(harness, 100n);
    const s = openStream(harness);
    const first = await s.send({ correlationId: 1, spend: spendOp(walletId, 10n, "once") });
    const replay = await s.send({ correlationId: 2, spend: spendOp(walletId, 10n, "once") });
    const chargeId = defined(first.spend?.charge, "charge").id;
    expect(replay.spend?.charge?.id).toBe(chargeId);
    expect(replay.spend?.remaining).toBe(90n);
    const unary = await call(
      harness.wallets,
      harness.wallets.spend,
      spendOp(walletId, 10n, "once"),
      bearer(apiKey),
    );
    expect(unary.charge?.id).toBe(chargeId);
    expect(unary.credential).toBe(first.spend?.credential);

    const reused = await s.send({ correlationId: 3, spend: spendOp(walletId, 11n, "once") });
    expect(reused.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(unpackDetails(reused.error).errorInfo?.reason).toBe("IDEMPOTENCY_KEY_REUSED");
    s.stream.end();
    await s.ended;
    expect(await getWallet(harness, walletId)).toMatchObject({ spent: 10n, available: 90n });
  });

  it("fails a stream without a valid API key with UNAUTHENTICATED and its ErrorInfo", async () => {
    const harness = await start();
    for (const metadata of [new Metadata(), bearer("wrong-key-0123456789")]) {
      const s = openStream(harness, metadata);
      s.stream.write({ correlationId: 1, spend: spendOp("w_x", 1n, "x") });
      const ended = await s.ended;
      expect(ended.code).toBe(status.UNAUTHENTICATED);
      const bin = ended.metadata.get("grpc-status-details-bin")[0];
      expect(bin).toBeInstanceOf(Buffer);
      const error = await failure(
        call(harness.wallets, harness.wallets.getWallet, { walletId: "w_x" }, metadata),
      );
      expect(ended.details).toBe(error.details);
      expect(bin).toEqual(error.metadata.get("grpc-status-details-bin")[0]);
      expect(s.answers).toEqual([]);
    }
    expect(harness.logs.filter((l) => l.method === "SpendStream")).toMatchObject([
      { level: 30, code: "UNAUTHENTICATED", reason: "UNAUTHENTICATED" },
      { level: 30, code: "UNAUTHENTICATED", reason: "UNAUTHENTICATED" },
    ]);
  });

  it("answers an operation with nothing set INVALID_ARGUMENT (field operation)", async () => {
    const harness = await start();
    const walletId = await createRoot(harness, 10n);
    const s = openStream(harness);
    const empty = await s.send({ correlationId: 5 });
    expect(empty.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(unpackDetails(empty.error)).toEqual({
      errorInfo: {
        reason: "INVALID_ARGUMENT",
        domain: "tollgate.dev",
        metadata: { field: "operation" },
      },
      badRequest: { fieldViolations: [{ field: "operation", description: exactlyOne }] },
    });
    const bad = await s.send({ correlationId: 6, spend: spendOp(walletId, -1n, "neg") });
    expect(bad.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(unpackDetails(bad.error).badRequest?.fieldViolations[0]?.field).toBe("amount");
    const ok = await s.send({ correlationId: 7, spend: spendOp(walletId, 1n, "fine") });
    expect(ok.spend?.remaining).toBe(9n);
    s.stream.end();
    expect((await s.ended).code).toBe(status.OK);
  });

  it("refuses an operation with several set INVALID_ARGUMENT and runs none of them", async () => {
    const harness = await start({ logLevel: "debug" });
    const walletId = await createRoot(harness, 100n);
    const s = openStream(harness);
    // ts-proto encodes (and the server decodes) every case set, where protobuf keeps the last.
    const both = await s.send({
      correlationId: 3,
      spend: spendOp(walletId, 10n, "both-s"),
      authorize: {
        walletId,
        amount: 20n,
        service: "llm",
        metadata: {},
        requestId: "both-a",
        ttlSeconds: 60,
      },
    });
    expect(both.spend).toBeUndefined();
    expect(both.authorize).toBeUndefined();
    expect(both.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(both.error?.message).toBe(`operation: ${exactlyOne}`);
    expect(unpackDetails(both.error)).toEqual({
      errorInfo: {
        reason: "INVALID_ARGUMENT",
        domain: "tollgate.dev",
        metadata: { field: "operation" },
      },
      badRequest: { fieldViolations: [{ field: "operation", description: exactlyOne }] },
    });
    s.stream.end();
    expect((await s.ended).code).toBe(status.OK);
    expect(await getWallet(harness, walletId)).toMatchObject({
      spent: 0n,
      held: 0n,
      available: 100n,
    });
    expect(harness.logs.filter((l) => String(l.method).startsWith("SpendStream."))).toMatchObject([
      { method: "SpendStream.Several", code: "INVALID_ARGUMENT", reason: "INVALID_ARGUMENT" },
    ]);
  });
});
