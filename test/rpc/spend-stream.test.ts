import { type ClientDuplexStream, Metadata, type StatusObject, status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { BadRequest, ErrorInfo } from "../../gen/ts-proto/google/rpc/error_details.js";
import type { Status } from "../../gen/ts-proto/google/rpc/status.js";
import type {
  SpendRequest,
  SpendStreamRequest,
  SpendStreamResponse,
} from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { maxInFlightOps } from "../../server/rpc/spend-stream.js";
import type { TollgateServerOptions } from "../../server/server.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import { eventually } from "../support/eventually.js";
import { defined } from "../support/grpc.js";
import {
  bearer,
  call,
  createRequest,
  failure,
  type Harness,
  startHarness,
  statusDetails,
} from "./harness.js";
import { type StoreUnderTest, stores } from "./stores.js";

const apiKey = "stream-key-0123456789";

/**
 * A store whose spends wait `delayMs`, or (with `gated`) until `release()`, counting how many run
 * at once.
 */
function slowSpends(inner: LedgerStore, options: { delayMs?: number; gated?: boolean }) {
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const watch = { running: 0, maxRunning: 0, calls: 0, release: () => release() };
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (key !== "spend") return value.bind(target);
      return async (...args: Parameters<LedgerStore["spend"]>) => {
        watch.calls += 1;
        watch.running += 1;
        watch.maxRunning = Math.max(watch.maxRunning, watch.running);
        try {
          if (options.gated) await released;
          else await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 0));
          return await target.spend(...args);
        } finally {
          watch.running -= 1;
        }
      };
    },
  });
  return { store, watch };
}

type Watch = ReturnType<typeof slowSpends>["watch"];

/** A client side of SpendStream that collects answers by correlation id. */
interface StreamUnderTest {
  stream: ClientDuplexStream<SpendStreamRequest, SpendStreamResponse>;
  /** Sends one operation and resolves with its answer. */
  send(message: SpendStreamRequest): Promise<SpendStreamResponse>;
  /** Every answer received, in arrival order. */
  answers: SpendStreamResponse[];
  /** The stream's final status (OK included). */
  ended: Promise<StatusObject>;
}

function openStream(h: Harness, metadata: Metadata = bearer(apiKey)): StreamUnderTest {
  const stream = h.wallets.spendStream(metadata);
  const answers: SpendStreamResponse[] = [];
  const waiting = new Map<number, (answer: SpendStreamResponse) => void>();
  stream.on("data", (answer: SpendStreamResponse) => {
    answers.push(answer);
    waiting.get(answer.correlationId)?.(answer);
    waiting.delete(answer.correlationId);
  });
  const ended = new Promise<StatusObject>((resolve) => stream.on("status", resolve));
  // A failed stream also emits 'error'; the status above is what the tests look at.
  stream.on("error", () => {});
  return {
    stream,
    answers,
    ended,
    send(message) {
      const answered = new Promise<SpendStreamResponse>((resolve) =>
        waiting.set(message.correlationId, resolve),
      );
      stream.write(message);
      return answered;
    },
  };
}

function spendOp(walletId: string, amount: bigint, requestId: string): SpendRequest {
  return { walletId, amount, service: "search", metadata: { agent: "a" }, requestId };
}

/** The ErrorInfo and BadRequest packed in a per-operation google.rpc.Status. */
function unpack(error: Status | undefined) {
  const find = (type: string) =>
    error?.details.find((d) => d.typeUrl === `type.googleapis.com/${type}`);
  const info = find("google.rpc.ErrorInfo");
  const bad = find("google.rpc.BadRequest");
  return {
    errorInfo: info && ErrorInfo.decode(info.value),
    badRequest: bad && BadRequest.decode(bad.value),
  };
}

describe.each(stores)("WalletService.SpendStream ($name store)", ({ open }) => {
  let h: Harness | undefined;
  let opened: StoreUnderTest | undefined;

  const start = async (
    options: Partial<TollgateServerOptions> & { wrap?: (s: LedgerStore) => LedgerStore } = {},
  ) => {
    opened = open();
    const { wrap, ...rest } = options;
    h = await startHarness({
      store: wrap ? wrap(opened.store) : opened.store,
      apiKeys: [{ project: "alpha", keySha256: hashApiKey(apiKey) }],
      ...rest,
    });
    return h;
  };
  afterEach(async () => {
    await h?.close();
    await opened?.cleanup();
    h = undefined;
    opened = undefined;
  });

  const createRoot = async (harness: Harness, budget: bigint, hardCap = true) => {
    const { wallet } = await call(
      harness.wallets,
      harness.wallets.createWallet,
      createRequest({ requestId: `root-${budget}`, budget, hardCap }),
      bearer(apiKey),
    );
    return defined(wallet, "wallet").id;
  };
  const getWallet = async (harness: Harness, walletId: string) =>
    defined(
      (await call(harness.wallets, harness.wallets.getWallet, { walletId }, bearer(apiKey))).wallet,
      "wallet",
    );

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
    expect(unpack(error).errorInfo).toEqual({
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
    expect(unpack(reused.error).errorInfo?.reason).toBe("IDEMPOTENCY_KEY_REUSED");
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
    expect(unpack(empty.error)).toEqual({
      errorInfo: {
        reason: "INVALID_ARGUMENT",
        domain: "tollgate.dev",
        metadata: { field: "operation" },
      },
      badRequest: {
        fieldViolations: [
          { field: "operation", description: "set one of spend, authorize, capture or void" },
        ],
      },
    });
    const bad = await s.send({ correlationId: 6, spend: spendOp(walletId, -1n, "neg") });
    expect(bad.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(unpack(bad.error).badRequest?.fieldViolations[0]?.field).toBe("amount");
    const ok = await s.send({ correlationId: 7, spend: spendOp(walletId, 1n, "fine") });
    expect(ok.spend?.remaining).toBe(9n);
    s.stream.end();
    expect((await s.ended).code).toBe(status.OK);
  });

  it("finishes the operations in flight when the client half-closes", async () => {
    let watch: Watch | undefined;
    const harness = await start({
      wrap: (inner) => {
        const slow = slowSpends(inner, { gated: true });
        watch = slow.watch;
        return slow.store;
      },
    });
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);
    for (let i = 1; i <= 20; i += 1) {
      s.stream.write({ correlationId: i, spend: spendOp(walletId, 5n, `h${i}`) });
    }
    s.stream.end();
    await eventually(async () => expect(watch?.running).toBe(20));
    let endedEarly = false;
    void s.ended.then(() => {
      endedEarly = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(endedEarly).toBe(false);
    watch?.release();
    const ended = await s.ended;
    expect(ended.code).toBe(status.OK);
    expect(watch?.maxRunning).toBe(20);
    expect(s.answers.map((a) => a.correlationId).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(s.answers.every((a) => a.spend !== undefined)).toBe(true);
    expect(await getWallet(harness, walletId)).toMatchObject({ spent: 100n, available: 900n });
  });

  it("answers 1000 pipelined spends, at most 256 at a time, through a slow reader", async () => {
    let watch: Watch | undefined;
    const harness = await start({
      wrap: (inner) => {
        // Long enough that every read message is still running when the next 256 arrive.
        const slow = slowSpends(inner, { delayMs: 200 });
        watch = slow.watch;
        return slow.store;
      },
    });
    const walletId = await createRoot(harness, 1000n);
    const stream = harness.wallets.spendStream(bearer(apiKey));
    const ended = new Promise<StatusObject>((resolve) => stream.on("status", resolve));
    for (let i = 0; i < 1000; i += 1) {
      stream.write({ correlationId: i, spend: spendOp(walletId, 1n, `p${i}`) });
    }
    stream.end();
    // Read nothing for a while: the answers (each with a credential) overflow HTTP/2's window, so
    // the server's write() returns false and it must wait for 'drain' before reading on.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const answers: SpendStreamResponse[] = [];
    stream.on("data", (answer: SpendStreamResponse) => answers.push(answer));
    expect((await ended).code).toBe(status.OK);

    expect(answers).toHaveLength(1000);
    expect(new Set(answers.map((a) => a.correlationId)).size).toBe(1000);
    expect(answers.every((a) => a.spend !== undefined)).toBe(true);
    expect(new Set(answers.map((a) => a.spend?.charge?.id)).size).toBe(1000);
    expect(answers.map((a) => a.spend?.remaining).sort((a, b) => Number(a) - Number(b))[0]).toBe(
      0n,
    );
    expect(watch?.calls).toBe(1000);
    expect(watch?.maxRunning).toBe(maxInFlightOps);
    expect(await getWallet(harness, walletId)).toMatchObject({ spent: 1000n, available: 0n });
  });

  it("stays healthy after a client cancels mid-stream", async () => {
    let watch: Watch | undefined;
    const harness = await start({
      wrap: (inner) => {
        const slow = slowSpends(inner, { gated: true });
        watch = slow.watch;
        return slow.store;
      },
    });
    const walletId = await createRoot(harness, 1000n);
    const s = openStream(harness);
    for (let i = 1; i <= 30; i += 1) {
      s.stream.write({ correlationId: i, spend: spendOp(walletId, 1n, `c${i}`) });
    }
    await eventually(async () => expect(watch?.running).toBe(30));
    s.stream.cancel();
    expect((await s.ended).code).toBe(status.CANCELLED);
    await eventually(async () => {
      expect(harness.logs.filter((l) => l.msg === "stream closed")).toMatchObject([
        { code: "CANCELLED", project: "alpha" },
      ]);
    });
    // The cancelled operations still complete in the ledger; their answers are dropped quietly.
    watch?.release();
    await eventually(async () => expect(watch?.running).toBe(0));
    expect(s.answers).toEqual([]);

    // Unary and a new stream still work, and whatever ran was charged exactly once.
    const spentSoFar = (await getWallet(harness, walletId)).spent;
    expect(spentSoFar).toBe(30n);
    const fresh = openStream(harness);
    const answer = await fresh.send({ correlationId: 1, spend: spendOp(walletId, 1n, "after") });
    expect(answer.spend?.remaining).toBe(1000n - spentSoFar - 1n);
    fresh.stream.end();
    expect((await fresh.ended).code).toBe(status.OK);
    expect(harness.logs.filter((l) => l.level === 50)).toEqual([]);
  });
});
