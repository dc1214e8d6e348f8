import {
  type ClientDuplexStream,
  type ServiceError,
  type StatusObject,
  status,
} from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  SpendStreamRequest,
  SpendStreamResponse,
} from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { maxInFlightOps } from "../../server/rpc/spend-stream.js";
import { eventually } from "../support/eventually.js";
import { gatedSpends, type SpendGate } from "./gated-spends.js";
import { bearer, type Harness, statusDetails } from "./harness.js";
import { stores } from "./stores.js";
import {
  answeredIds,
  apiKey,
  oneTo,
  openStream,
  spendOp,
  streamServers,
} from "./stream-harness.js";

/** SpendStream over the wire as bytes, to send what the generated client cannot encode. */
function openRawStream(h: Harness): {
  stream: ClientDuplexStream<Buffer, Buffer>;
  ended: Promise<StatusObject>;
} {
  const bytes = (b: Buffer) => b;
  const stream = h.wallets.makeBidiStreamRequest(
    "/tollgate.v1.WalletService/SpendStream",
    bytes,
    bytes,
    bearer(apiKey),
  );
  stream.on("error", () => {});
  return { stream, ended: new Promise((resolve) => stream.on("status", resolve)) };
}

describe.each(stores)("WalletService.SpendStream flow ($name store)", ({ open }) => {
  const { start, createRoot, getWallet } = streamServers(open);

  /** A server whose spends wait at a gate the test opens. */
  const startGated = async (
    options: { logLevel?: "info" | "debug"; answerAtGate?: boolean } = {},
  ) => {
    let gate: SpendGate | undefined;
    const harness = await start({
      logLevel: options.logLevel ?? "info",
      wrap: (inner) => {
        const gated = gatedSpends(inner, { answerAtGate: options.answerAtGate });
        gate = gated.gate;
        return gated.store;
      },
    });
    if (gate === undefined) throw new Error("the store was not wrapped");
    return { harness, gate };
  };

  it("finishes the operations in flight when the client half-closes", async () => {
    const { harness, gate } = await startGated({ logLevel: "debug" });
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);
    for (let i = 1; i <= 20; i += 1) {
      s.stream.write({ correlationId: i, spend: spendOp(walletId, 5n, `h${i}`) });
    }
    s.stream.end();
    await gate.started(20);
    // The server has seen the half-close with all 20 still running...
    await eventually(async () =>
      expect(harness.logs.filter((l) => l.msg === "stream half-closed")).toMatchObject([
        { inFlight: 20 },
      ]),
    );
    // ...and still answers every one before it ends the stream: a stream ended on the half-close
    // would have dropped them.
    gate.releaseAll();
    const ended = await s.ended;
    expect(ended.code).toBe(status.OK);
    expect(gate.maxRunning).toBe(20);
    expect(answeredIds(s.answers)).toEqual(oneTo(20));
    expect(s.answers.every((a) => a.spend !== undefined)).toBe(true);
    expect(await getWallet(harness, walletId)).toMatchObject({ spent: 100n, available: 900n });
  });

  it(`runs at most ${maxInFlightOps} operations at once; the next starts when one ends`, async () => {
    const { harness, gate } = await startGated();
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);
    // 256 spends, then a probe that needs no store (nothing set: refused at once), then 43 more.
    for (let i = 1; i <= maxInFlightOps; i += 1) {
      s.stream.write({ correlationId: i, spend: spendOp(walletId, 1n, `g${i}`) });
    }
    const probe = maxInFlightOps + 1;
    s.stream.write({ correlationId: probe });
    for (let i = probe + 1; i <= 300; i += 1) {
      s.stream.write({ correlationId: i, spend: spendOp(walletId, 1n, `g${i}`) });
    }
    s.stream.end();
    await gate.started(maxInFlightOps);
    expect(gate.running).toBe(maxInFlightOps);

    // The probe is only read once a running operation ends: its answer comes after that one's.
    const released = gate.releaseOldest();
    const probeAnswer = await s.answerTo(probe);
    expect(probeAnswer.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(s.answers.map((a) => a.correlationId)).toEqual([Number(released.slice(1)), probe]);
    expect(gate.maxRunning).toBe(maxInFlightOps);

    gate.releaseAll();
    expect((await s.ended).code).toBe(status.OK);
    expect(gate.calls).toBe(299);
    expect(gate.maxRunning).toBe(maxInFlightOps);
    expect(answeredIds(s.answers)).toEqual(oneTo(300));
    expect(await getWallet(harness, walletId)).toMatchObject({ spent: 299n, available: 701n });
  });

  it("answers 1000 pipelined spends, reading no more while its answers wait for drain", async () => {
    const { harness, gate } = await startGated({ logLevel: "debug", answerAtGate: true });
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);
    for (let i = 1; i <= 1000; i += 1) {
      s.stream.write({ correlationId: i, spend: spendOp(walletId, 1n, `p${i}`) });
    }
    s.stream.end();
    // 256 spends committed and waiting to answer; released together, their answers come faster
    // than the stream can send them, so write() refuses and the server waits for 'drain'.
    await gate.started(maxInFlightOps);
    gate.releaseAll();
    expect((await s.ended).code).toBe(status.OK);
    expect(harness.logs.filter((l) => l.msg === "stream waiting for drain").length).toBeGreaterThan(
      0,
    );

    expect(gate.calls).toBe(1000);
    expect(gate.maxRunning).toBe(maxInFlightOps);
    expect(answeredIds(s.answers)).toEqual(oneTo(1000));
    expect(s.answers.every((a) => a.spend !== undefined)).toBe(true);
    expect(new Set(s.answers.map((a) => a.spend?.charge?.id)).size).toBe(1000);
    expect(s.answers.map((a) => a.spend?.remaining).sort((a, b) => Number(a) - Number(b))[0]).toBe(
      0n,
    );
    expect(await getWallet(harness, walletId)).toMatchObject({ spent: 1000n, available: 0n });
  });

  it("stays healthy after a client cancels mid-stream", async () => {
    const { harness, gate } = await startGated();
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);
    for (let i = 1; i <= 30; i += 1) {
      s.stream.write({ correlationId: i, spend: spendOp(walletId, 1n, `c${i}`) });
    }
    await gate.started(30);
    s.stream.cancel();
    expect((await s.ended).code).toBe(status.CANCELLED);
    await eventually(async () => {
      expect(harness.logs.filter((l) => l.msg === "stream closed")).toMatchObject([
        { level: 30, code: "CANCELLED", project: "alpha" },
      ]);
    });
    // The cancelled operations still complete in the ledger; their answers are dropped quietly.
    gate.releaseAll();
    await eventually(async () => expect(gate.running).toBe(0));
    expect(s.answers).toEqual([]);

    // Unary and a new stream still work, and whatever ran was charged exactly once.
    expect((await getWallet(harness, walletId)).spent).toBe(30n);
    const fresh = openStream(harness);
    const answer = await fresh.send({ correlationId: 1, spend: spendOp(walletId, 1n, "after") });
    expect(answer.spend?.remaining).toBe(969n);
    fresh.stream.end();
    expect((await fresh.ended).code).toBe(status.OK);
    expect(harness.logs.filter((l) => l.level === 50)).toEqual([]);
  });

  it("ends a stream whose message does not decode INVALID_ARGUMENT MALFORMED_REQUEST, logs it at warn, serves on", async () => {
    const harness = await start();
    const walletId = await createRoot(harness, 100n);
    const raw = openRawStream(harness);
    const first = new Promise<Buffer>((resolve) => raw.stream.once("data", resolve));
    const spend = { correlationId: 1, spend: spendOp(walletId, 10n, "before-garbage") };
    raw.stream.write(Buffer.from(SpendStreamRequest.encode(spend).finish()));
    expect(SpendStreamResponse.decode(await first).spend?.remaining).toBe(90n);
    // Field 1 with wire type 7: no protobuf decoder accepts it.
    raw.stream.write(Buffer.from([0x0f]));
    const ended = await raw.ended;
    expect(ended.code).toBe(status.INVALID_ARGUMENT);
    expect(ended.details).toMatch(
      /^a SpendStream message does not decode as its protobuf message \(.*wire type 7.*\)$/,
    );
    const { status: details, errorInfo, badRequest } = statusDetails(ended as ServiceError);
    expect(details?.code).toBe(status.INVALID_ARGUMENT);
    expect(errorInfo).toEqual({
      reason: "MALFORMED_REQUEST",
      domain: "tollgate.dev",
      metadata: {},
    });
    expect(badRequest).toBeUndefined();

    const closes = harness.logs.filter((l) => l.msg === "stream closed");
    expect(closes).toMatchObject([
      { level: 40, method: "SpendStream", project: "alpha", code: "INVALID_ARGUMENT", ops: 1 },
    ]);
    expect(String((closes[0]?.err as { message?: unknown })?.message)).toMatch(/wire type 7/);

    const s = openStream(harness);
    const after = await s.send({ correlationId: 2, spend: spendOp(walletId, 5n, "after") });
    expect(after.spend?.remaining).toBe(85n);
    s.stream.end();
    expect((await s.ended).code).toBe(status.OK);
    expect(await getWallet(harness, walletId)).toMatchObject({ spent: 15n, available: 85n });
  });
});
