import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { gatedSpends, type SpendGate } from "./gated-spends.js";
import { stores } from "./stores.js";
import { answeredIds, oneTo, openStream, spendOp, streamServers } from "./stream-harness.js";

/**
 * Far beyond the test timeout: a shutdown that waited for the grace deadline instead of winding
 * the streams down fails the test by hanging, never by a measured duration.
 */
const shutdownGraceMs = 600_000;

/** Operations running on the stream when shutdown begins. */
const inFlight = 8;

describe.each(stores)("SpendStream during server shutdown ($name store)", ({ open }) => {
  const { start, createRoot } = streamServers(open);

  const startGated = async () => {
    let gate: SpendGate | undefined;
    const harness = await start({
      logLevel: "debug",
      shutdownGraceMs,
      wrap: (inner) => {
        const gated = gatedSpends(inner);
        gate = gated.gate;
        return gated.store;
      },
    });
    if (gate === undefined) throw new Error("the store was not wrapped");
    return { harness, gate };
  };

  it("answers the running operations, reads no new ones, ends UNAVAILABLE, and shutdown resolves", async () => {
    const { harness, gate } = await startGated();
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);
    for (let i = 1; i <= inFlight; i += 1) {
      s.stream.write({ correlationId: i, spend: spendOp(walletId, BigInt(i), `sd${i}`) });
    }
    await gate.started(inFlight);

    let shutDown = false;
    const stopping = harness.server.shutdown().then(() => {
      shutDown = true;
    });
    // Sent after shutdown began: never run here, so the client may resend it elsewhere.
    s.stream.write({ correlationId: 99, spend: spendOp(walletId, 100n, "sd99") });
    await eventually(async () =>
      expect(harness.logs.filter((l) => l.msg === "stream winding down")).toMatchObject([
        { inFlight },
      ]),
    );
    // The stream holds the shutdown while its operations run.
    expect(shutDown).toBe(false);
    expect(s.answers).toEqual([]);

    gate.releaseAll();
    const ended = await s.ended;
    expect(ended.code).toBe(status.UNAVAILABLE);
    expect(ended.details).toMatch(/server shutting down/);
    await stopping;

    // Every running operation was answered with its result, in full, before the stream ended.
    expect(answeredIds(s.answers)).toEqual(oneTo(inFlight));
    expect(s.answers.every((a) => a.error === undefined)).toBe(true);
    expect(
      s.answers.map((a) => a.spend?.charge?.amount ?? 0n).sort((a, b) => Number(a - b)),
    ).toEqual(oneTo(inFlight).map(BigInt));
    // The last debit left 1000 - (1 + 2 + ... + 8).
    const remaining = s.answers.map((a) => a.spend?.remaining ?? -1n).sort((a, b) => Number(a - b));
    expect(remaining[0]).toBe(1000n - 36n);
    // The late operation never reached the store.
    expect(gate.calls).toBe(inFlight);
    expect(harness.logs.filter((l) => l.msg === "stream closed")).toMatchObject([
      { code: "UNAVAILABLE", shuttingDown: true, ops: inFlight },
    ]);
    expect(
      harness.logs.some((l) => l.msg === "shutdown grace period over: cancelling in-flight calls"),
    ).toBe(false);
  });

  it("ends OK when the client had half-closed and every operation was read", async () => {
    const { harness, gate } = await startGated();
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);
    for (let i = 1; i <= 3; i += 1) {
      s.stream.write({ correlationId: i, spend: spendOp(walletId, 5n, `hc${i}`) });
    }
    s.stream.end();
    await gate.started(3);
    await eventually(async () =>
      expect(harness.logs.some((l) => l.msg === "stream half-closed")).toBe(true),
    );

    const stopping = harness.server.shutdown();
    gate.releaseAll();
    expect((await s.ended).code).toBe(status.OK);
    await stopping;
    expect(answeredIds(s.answers)).toEqual([1, 2, 3]);
    expect(s.answers.every((a) => a.spend?.charge?.amount === 5n)).toBe(true);
  });

  it("ends an idle stream at once, so shutdown does not wait for its client", async () => {
    const { harness, gate } = await startGated();
    gate.releaseAll();
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);
    expect(
      (await s.send({ correlationId: 1, spend: spendOp(walletId, 7n, "idle1") })).spend?.remaining,
    ).toBe(993n);

    await harness.server.shutdown();
    const ended = await s.ended;
    expect(ended.code).toBe(status.UNAVAILABLE);
    expect(s.answers).toHaveLength(1);
    expect(
      harness.logs.some((l) => l.msg === "shutdown grace period over: cancelling in-flight calls"),
    ).toBe(false);
  });
});
