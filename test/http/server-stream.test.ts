import { request as httpRequest, type IncomingMessage } from "node:http";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { credentials as grpcCredentials } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/es/google/rpc/error_details_pb.js";
import { EventKind, type WatchEventsResponse } from "../../gen/es/tollgate/v1/event_service_pb.js";
import { CreateWalletRequestSchema } from "../../gen/es/tollgate/v1/wallet_service_pb.js";
import { WalletServiceClient } from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { hashApiKey } from "../../server/auth/api-keys.js";
import { bearer, call } from "../rpc/harness.js";
import { type StoreUnderTest, stores } from "../rpc/stores.js";
import { type HttpHarness, type Protocol, protocols, startHttpHarness, until } from "./harness.js";

const key = "watch-key-0123456789";

/** Reads a server stream in the background into `messages`, until it ends (`done`). */
function collect(stream: AsyncIterable<WatchEventsResponse>) {
  const messages: WatchEventsResponse[] = [];
  const done = (async () => {
    for await (const message of stream) messages.push(message);
  })().then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
  return { messages, done };
}

describe.each(stores)("WatchEvents and ListEvents over the HTTP face ($name store)", ({ open }) => {
  let h: HttpHarness | undefined;
  let opened: StoreUnderTest | undefined;
  afterEach(async () => {
    await h?.close();
    await opened?.cleanup();
    h = undefined;
    opened = undefined;
  });
  const start = async () => {
    opened = open();
    h = await startHttpHarness({
      store: opened.store,
      apiKeys: [{ project: "watchers", keySha256: hashApiKey(key) }],
    });
    return h;
  };
  const createRoot = async (harness: HttpHarness, budget: bigint) => {
    const { wallet } = await harness.wallets("connect+json", key).createWallet(
      create(CreateWalletRequestSchema, {
        requestId: "root",
        name: "task",
        budget,
        hardCap: true,
      }),
    );
    return wallet?.id ?? "";
  };

  it.each(protocols)(
    "streams a wallet's events as they commit, and ends when the client cancels (%s)",
    async (protocol: Protocol) => {
      const harness = await start();
      const walletId = await createRoot(harness, 100n);
      const abort = new AbortController();
      const watch = collect(
        harness.events(protocol, key).watchEvents({ walletId }, { signal: abort.signal }),
      );
      // The first message is the checkpoint the watch starts at.
      await until(() => watch.messages.length === 1, "the checkpoint");
      expect(watch.messages[0]?.event).toBeUndefined();
      expect(watch.messages[0]?.checkpoint).not.toBe("");

      const wallets = harness.wallets(protocol, key);
      for (const [i, amount] of [10n, 20n].entries()) {
        await wallets.spend({
          walletId,
          amount,
          service: "llm",
          metadata: {},
          requestId: `s-${i}`,
        });
      }
      await until(() => watch.messages.length === 3, "two spend events");
      expect(
        watch.messages
          .slice(1)
          .map((m) => [m.event?.kind, m.event?.charge?.amount, m.event?.balances?.spent]),
      ).toEqual([
        [EventKind.SPEND, 10n, 10n],
        [EventKind.SPEND, 20n, 30n],
      ]);

      abort.abort();
      expect((await watch.done)?.code).toBe(Code.Canceled);
      await until(
        () => harness.logs.some((l) => l.method === "WatchEvents" && l.code === "CANCELLED"),
        "the watch's line",
      );
      const line = harness.logs.find((l) => l.method === "WatchEvents");
      expect(line).toMatchObject({
        transport: protocol === "grpc-web" ? "grpc-web" : "connect",
        project: "watchers",
        walletId,
        code: "CANCELLED",
        messages: 3,
      });
      // The watcher is no longer counted as open.
      expect(await harness.metrics()).toMatch(
        /tollgate_open_server_streams\{method="WatchEvents",transport="(connect|grpc-web)"\} 0/,
      );

      // ListEvents reads the same log, oldest first.
      const listed = await harness.events(protocol, key).listEvents({ walletId });
      expect(listed.events.map((e) => e.kind)).toEqual([
        EventKind.WALLET_CREATED,
        EventKind.SPEND,
        EventKind.SPEND,
      ]);
    },
  );

  it.each(protocols)(
    "refuses a watch without a key with UNAUTHENTICATED (%s)",
    async (protocol) => {
      const harness = await start();
      const watch = collect(harness.events(protocol).watchEvents({}));
      const error = await watch.done;
      expect(error?.code).toBe(Code.Unauthenticated);
      expect(error?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("UNAUTHENTICATED");
      expect(watch.messages).toEqual([]);
    },
  );

  it("ends open watches with UNAVAILABLE at shutdown, at once, so their clients resume elsewhere", async () => {
    const harness = await start();
    const walletId = await createRoot(harness, 100n);
    const watches = protocols.map((protocol) =>
      collect(harness.events(protocol, key).watchEvents({ walletId })),
    );
    await until(() => watches.every((w) => w.messages.length === 1), "every checkpoint");
    const startedMs = Date.now();
    await harness.close();
    h = undefined;
    expect(Date.now() - startedMs).toBeLessThan(5_000);
    for (const watch of watches) {
      const error = await watch.done;
      expect(error?.code).toBe(Code.Unavailable);
      expect(error?.rawMessage).toBe("server shutting down; resume by cursor");
    }
  });
});

describe("a WatchEvents reader that stops reading, over the HTTP face", () => {
  let h: HttpHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("ends a watcher that stops reading with ABORTED WATCHER_TOO_SLOW and a cursor that loses nothing", async () => {
    const harness = await startHttpHarness({
      apiKeys: [{ project: "watchers", keySha256: hashApiKey(key) }],
      watchStallMs: 1000,
    });
    h = harness;
    const { wallet } = await harness.wallets("connect+json", key).createWallet(
      create(CreateWalletRequestSchema, {
        requestId: "root",
        name: "task",
        budget: 1_000_000n,
        hardCap: true,
      }),
    );
    const walletId = wallet?.id ?? "";
    // A raw HTTP/1.1 Connect stream whose reader pauses after the first bytes: the kernel's
    // buffers fill, Connect's writes stop completing, and the stall limit ends the watch.
    const body = Buffer.from(JSON.stringify({ walletId }));
    const envelope = Buffer.alloc(5);
    envelope.writeUInt32BE(body.length, 1);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${harness.baseUrl}/tollgate.v1.EventService/WatchEvents`, {
        method: "POST",
        headers: {
          "content-type": "application/connect+json",
          authorization: `Bearer ${key}`,
        },
      });
      req.on("response", resolve);
      req.on("error", reject);
      req.end(Buffer.concat([envelope, body]));
    });
    const chunks: Buffer[] = [];
    response.once("data", (chunk: Buffer) => {
      chunks.push(chunk);
      response.pause();
    });
    const ended = new Promise<void>((resolve) => response.on("end", resolve));
    // Spends over gRPC: the cheapest way to commit ~7 MB of events (the loopback's buffers
    // hold about 4 MB before the writes stop completing).
    const grpc = new WalletServiceClient(harness.server.address, grpcCredentials.createInsecure());
    const metadata = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`note${i}`, "x".repeat(250)]),
    );
    let spent = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = 0; i < 200; i++) {
          await call(
            grpc,
            grpc.spend,
            { walletId, amount: 1n, service: "llm", metadata, requestId: `w${worker}-${i}` },
            bearer(key),
          );
          spent += 1;
        }
      }),
    );
    grpc.close();
    expect(spent).toBe(1600);
    await until(
      () => harness.logs.some((l) => l.method === "WatchEvents" && l.code === "ABORTED"),
      "the watch to end",
    );
    // Reading again drains what was sent, then the end of stream with the error.
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.resume();
    await ended;
    const frames = envelopes(Buffer.concat(chunks));
    const end = frames.at(-1);
    expect(end?.flags).toBe(2);
    const endJson = JSON.parse(end?.data.toString("utf8") ?? "{}") as {
      error?: {
        code: string;
        details?: {
          type: string;
          debug?: { reason?: string; metadata?: Record<string, string> };
        }[];
      };
    };
    expect(endJson.error?.code).toBe("aborted");
    const info = endJson.error?.details?.find((d) => d.type === "google.rpc.ErrorInfo")?.debug;
    expect(info?.reason).toBe("WATCHER_TOO_SLOW");
    const cursor = info?.metadata?.cursor ?? "";
    expect(cursor).not.toBe("");

    // What was delivered, then everything after the cursor: every event once, in order.
    const delivered = frames
      .slice(0, -1)
      .map((f) => JSON.parse(f.data.toString("utf8")) as { event?: { sequence: string } })
      .flatMap((m) => (m.event ? [BigInt(m.event.sequence)] : []));
    const rest: bigint[] = [];
    const events = harness.events("connect+proto", key);
    for (let after = cursor; ; ) {
      const page = await events.listEvents({ walletId, after, pageSize: 1000 });
      rest.push(...page.events.map((e) => e.sequence));
      if (page.events.length === 0) break;
      after = page.nextCursor;
    }
    const all = [...delivered, ...rest];
    const first = all[0] ?? 0n;
    expect(all).toEqual(all.map((_, i) => first + BigInt(i)));
    expect(all.at(-1)).toBe(1601n);
    expect(delivered.length).toBeLessThan(1600);
  }, 60_000);
});

/** Splits a Connect stream body into its envelopes. */
function envelopes(bytes: Buffer): { flags: number; data: Buffer }[] {
  const frames: { flags: number; data: Buffer }[] = [];
  for (let at = 0; at + 5 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at + 1);
    frames.push({ flags: bytes[at] ?? 0, data: bytes.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return frames;
}
