import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  InsufficientCreditsError,
  type Mode,
  type TollgateClient,
  UnauthenticatedError,
  type Wallet,
} from "../../client/index.js";
import { StreamChannel } from "../../client/spend-stream.js";
import { eventually } from "../support/eventually.js";
import { type CallLog, callLog, collect, rejection, type Served, serve } from "./support.js";

/** A fixed mixed workload; returns what a caller could observe, ids and times left out. */
async function workload(tg: TollgateClient) {
  const outcomes: string[] = [];
  const root = await tg.wallets.create({ name: "parity", budget: 500, metadata: { run: "p" } });
  const child = await root.createChild({ name: "agent", budget: 120 });
  for (const [wallet, amount, agent] of [
    [root, 7, "planner"],
    [child, 30, "writer"],
    [child, 45n, "writer"],
    [root, 13n, "critic"],
  ] as const) {
    const r = await wallet.spend(amount, { service: "llm", metadata: { agent } });
    outcomes.push(`spend ${r.charge.amount} -> ${r.remaining}`);
  }
  const refused = await rejection(child.spend(100, { service: "llm" }));
  outcomes.push(
    `refused ${(refused as Error).name} ${(refused as InsufficientCreditsError).available}`,
  );
  const hold = await child.authorize(20, { service: "scrape" });
  const captured = await hold.capture(12);
  outcomes.push(
    `capture ${captured.charge.amount} ${captured.hold.status} -> ${captured.remaining}`,
  );
  const other = await root.authorize(50, { service: "scrape" });
  const voided = await other.void();
  outcomes.push(`void ${voided.hold.status} -> ${voided.remaining}`);
  const replay = await root.spend(2, { service: "s", requestId: "parity-replay" });
  const again = await root.spend(2, { service: "s", requestId: "parity-replay" });
  outcomes.push(`replay ${again.charge.id === replay.charge.id} -> ${again.remaining}`);
  outcomes.push(`closed child returned ${(await child.close()).returned}`);
  await root.refresh();
  const balances = (({
    budget,
    spent,
    held,
    available,
    totalSpent,
    allocated,
    settled,
    exhausted,
  }) => ({
    budget,
    spent,
    held,
    available,
    totalSpent,
    allocated,
    settled,
    exhausted,
  }))(root);
  const { walletId: _w, children, ...receipt } = await root.getReceipt();
  const lines = (await collect(root.listCharges({ includeDescendants: true }))).items.map(
    (l) => `${l.kind} ${l.amount} ${l.service} ${JSON.stringify(l.metadata)} ${l.overBudget}`,
  );
  return {
    outcomes,
    balances,
    receipt,
    children: children.map(({ walletId: _c, ...rest }) => rest),
    lines,
  };
}

describe("stream mode", () => {
  let served: Served;
  let log: CallLog;
  beforeEach(async () => {
    served = await serve();
    log = callLog();
  });
  afterEach(async () => {
    await served.dispose();
  });

  it("gives exactly the results of unary mode for the same workload", async () => {
    const unary = await workload(served.client({ mode: "unary" }));
    const stream = await workload(
      served.client({ mode: "stream", interceptors: [log.interceptor] }),
    );
    expect(stream).toEqual(unary);
    expect(unary.balances).toEqual({
      budget: 500n,
      spent: 22n,
      held: 0n,
      available: 391n,
      totalSpent: 109n,
      allocated: 0n,
      settled: 87n,
      exhausted: false,
    });
    expect(unary.receipt).toMatchObject({ totalCredits: 109n, callCount: 6n, voidedHoldCount: 1n });
    // The stream mode really went over the stream (one, kept open between operations).
    expect(log.count("SpendStream")).toBe(1);
    expect(log.count("Spend")).toBe(0);
    expect(log.count("Capture")).toBe(0);
  });

  it("never overspends a hard cap under many concurrent operations", async () => {
    const tg = served.client({ mode: "stream", interceptors: [log.interceptor] });
    const wallet = await tg.wallets.create({ budget: 500 });
    const amounts = Array.from({ length: 400 }, (_, i) => (i % 5) + 1);
    // 400 in flight: past the stream's write buffer (back-pressure) and the server's 256.
    const settled = await Promise.allSettled(
      amounts.map((amount) => wallet.spend(amount, { service: "burst" })),
    );
    const granted = settled.flatMap((s) =>
      s.status === "fulfilled" ? [s.value.charge.amount] : [],
    );
    const refused = settled.flatMap((s) => (s.status === "rejected" ? [s.reason] : []));
    expect(granted.length + refused.length).toBe(400);
    expect(refused.every((e) => e instanceof InsufficientCreditsError)).toBe(true);
    const total = granted.reduce((a, b) => a + b, 0n);
    expect(total).toBeLessThanOrEqual(500n);
    // Refusals happen only when fewer credits remain than the amount asked.
    expect(500n - total).toBeLessThan(5n);
    await wallet.refresh();
    expect(wallet).toMatchObject({ spent: total, available: 500n - total });
    expect(await (await collect(wallet.listCharges({ pageSize: 1000 }))).items.length).toBe(
      granted.length,
    );
    expect(log.count("SpendStream")).toBe(1);
  });

  it("answers a refused operation with its error and keeps serving the stream", async () => {
    const tg = served.client({ mode: "stream", interceptors: [log.interceptor] });
    const wallet = await tg.wallets.create({ budget: 10 });
    await wallet.spend(4, { service: "s" });
    const refused = await rejection(wallet.spend(7, { service: "s" }));
    expect(refused).toBeInstanceOf(InsufficientCreditsError);
    expect(refused).toMatchObject({ walletId: wallet.id, requested: 7n, available: 6n });
    expect((await wallet.spend(6, { service: "s" })).remaining).toBe(0n);
    expect(log.count("SpendStream")).toBe(1);
  });

  it("rejects every pending operation on UNAUTHENTICATED and does not loop", async () => {
    const owner = await served.tg.wallets.create({ budget: 10 });
    const stranger = served.client({
      mode: "stream",
      apiKey: "not-the-key-0123456789",
      // No backoff: a reconnect, if the client wrongly tried one, would start at once.
      retry: { initialBackoffMs: 0, maxBackoffMs: 0 },
      interceptors: [log.interceptor],
    });
    const stream = stranger.stream();
    const errors = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => rejection(stream.spend(owner.id, n, { service: "s" }))),
    );
    // Rejected with the ending's error (a resend loop would have kept them pending).
    for (const error of errors) expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(log.calls.map((c) => [c.method.split("/").pop(), c.status])).toEqual([
      ["SpendStream", status.UNAUTHENTICATED],
    ]);
    // A round trip to the server later (ample time for a zero-backoff reconnect to start),
    // still the one stream.
    expect((await owner.refresh()).spent).toBe(0n);
    expect(log.count("SpendStream")).toBe(1);
  });

  it("closes an idle stream and reopens it for the next operation", async () => {
    const tg = served.client({ mode: "stream", streamIdleMs: 50, interceptors: [log.interceptor] });
    const wallet = await tg.wallets.create({ budget: 10 });
    await wallet.spend(1, { service: "s" });
    await wallet.spend(1, { service: "s" });
    expect(log.count("SpendStream")).toBe(1);
    const first = log.calls.find((c) => c.method.endsWith("/SpendStream"));
    // The idle close is a half-close the server answers with OK (not a cancellation).
    await eventually(async () => expect(first?.status).toBe(status.OK));
    expect((await wallet.spend(1, { service: "s" })).remaining).toBe(7n);
    expect(log.count("SpendStream")).toBe(2);
  });

  it("wraps correlation ids past 2^32-1", async () => {
    const tg = served.client({ mode: "stream" });
    const wallet = await tg.wallets.create({ budget: 10 });
    const ids = (tg.stream() as unknown as { pending: { lastId: number } }).pending;
    ids.lastId = 0xffff_fffe;
    const results = await Promise.all([1, 2, 3].map(() => wallet.spend(1, { service: "s" })));
    expect(results.map((r) => r.remaining).sort()).toEqual([7n, 8n, 9n]);
    expect(ids.lastId).toBe(2);
  });

  it.each<Mode>(["unary", "stream"])(
    "using(%s) switches a handle's mode on one client",
    async (mode) => {
      const tg = served.client({ interceptors: [log.interceptor] });
      const wallet: Wallet = (await tg.wallets.create({ budget: 10 })).using(mode);
      expect(wallet.mode).toBe(mode);
      await wallet.spend(2, { service: "s" });
      expect(log.count("SpendStream")).toBe(mode === "stream" ? 1 : 0);
      expect(log.count("Spend")).toBe(mode === "stream" ? 0 : 1);
      expect(wallet.available).toBe(8n);
    },
  );

  it("close() of a client that never streamed makes no stream; one asked for later is closed", async () => {
    const closes = vi.spyOn(StreamChannel.prototype, "close");
    try {
      const tg = served.client({ mode: "unary", interceptors: [log.interceptor] });
      const wallet = await tg.wallets.create({ budget: 10 });
      tg.close();
      expect(closes).toHaveBeenCalledTimes(0);
      const error = await rejection(tg.stream().spend(wallet.id, 1, { service: "s" }));
      expect(error).toMatchObject({ reason: "CLIENT_CLOSED" });
      expect(log.count("SpendStream")).toBe(0);
    } finally {
      closes.mockRestore();
    }
  });
});
