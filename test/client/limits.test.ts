import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  InvalidArgumentError,
  type Mode,
  type TollgateClient,
  type Wallet,
} from "../../client/index.js";
import { ClientLimits } from "../../client/limits.js";
import { Limits } from "../../server/ledger/limits.js";
import { type CallLog, callLog, rejection, type Served, serve } from "./support.js";

const long = (n: number) => "x".repeat(n);
const manyKeys = (n: number) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));

/**
 * The ledger's length and count limits are checked by the client before any RPC, in both modes,
 * with the field named as the server names it: one bad call fails alone, and in stream mode it
 * can no longer end the stream the other calls share.
 */
describe("limits", () => {
  let served: Served;
  let log: CallLog;
  let tg: TollgateClient;
  let wallet: Wallet;
  beforeAll(async () => {
    served = await serve();
    log = callLog();
    tg = served.client({ interceptors: [log.interceptor] });
    wallet = await tg.wallets.create({ budget: 1_000_000 });
  });
  afterAll(async () => {
    await served.dispose();
  });

  it("mirrors the server's limits exactly", () => {
    const { nameMaxChars, serviceMaxChars, metadataMaxKeys, metadataKeyMaxChars } = Limits;
    expect(ClientLimits).toEqual({
      nameMaxChars,
      serviceMaxChars,
      metadataMaxKeys,
      metadataKeyMaxChars,
      metadataValueMaxChars: Limits.metadataValueMaxChars,
      requestIdMaxChars: Limits.requestIdMaxChars,
      holdTtlMinSeconds: Limits.holdTtlMinSeconds,
      holdTtlMaxSeconds: Limits.holdTtlMaxSeconds,
    });
  });

  const refused: [string, string, (w: Wallet) => Promise<unknown>][] = [
    ["service", "empty", (w) => w.spend(1, { service: "" })],
    ["service", "65 characters", (w) => w.spend(1, { service: long(65) })],
    ["service", "70 kB", (w) => w.authorize(1, { service: long(70_000) })],
    ["metadata", "17 keys", (w) => w.spend(1, { service: "s", metadata: manyKeys(17) })],
    ["metadata", "an empty key", (w) => w.spend(1, { service: "s", metadata: { "": "v" } })],
    [
      "metadata",
      "a 65-char key",
      (w) => w.authorize(1, { service: "s", metadata: { [long(65)]: "v" } }),
    ],
    [
      "metadata",
      "a 257-char value",
      (w) => w.capture(`${w.id}.h1`, 1, { metadata: { k: long(257) } }),
    ],
    [
      "metadata",
      "a number value",
      (w) => w.spend(1, { service: "s", metadata: { k: 1 as unknown as string } }),
    ],
    ["metadata", "on AddCredits", (w) => w.addCredits(1, { metadata: { k: long(257) } })],
    ["request_id", "empty", (w) => w.spend(1, { service: "s", requestId: "" })],
    ["request_id", "with a space", (w) => w.void(`${w.id}.h1`, { requestId: "a b" })],
    ["request_id", "129 characters", (w) => w.spend(1, { service: "s", requestId: long(129) })],
    ["request_id", "non-ASCII", (w) => w.close({ requestId: "café" })],
    ["ttl_seconds", "86401", (w) => w.authorize(1, { service: "s", ttlSeconds: 86_401 })],
    ["ttl_seconds", "negative", (w) => w.authorize(1, { service: "s", ttlSeconds: -1 })],
    ["name", "129 characters", (w) => w.createChild({ budget: 1, name: long(129) })],
    ["request", "a 70 kB hold id", (w) => w.void(long(70_000))],
    ["request", "a 70 kB wallet id", (w) => w.using(w.mode).capture(long(70_000), 1)],
  ];

  it.each<Mode>(["unary", "stream"])("%s: refuses each limit before any RPC", async (mode) => {
    const handle = wallet.using(mode);
    const before = log.calls.length;
    for (const [field, what, call] of refused) {
      const error = await rejection(call(handle));
      expect(error, `${field} ${what}`).toBeInstanceOf(InvalidArgumentError);
      expect(error, `${field} ${what}`).toMatchObject({
        code: status.INVALID_ARGUMENT,
        reason: "INVALID_ARGUMENT",
        field,
      });
      expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
    }
    const name = await rejection(tg.wallets.create({ budget: 1, name: long(129) }));
    expect(name).toMatchObject({ field: "name" });
    expect(log.calls.length).toBe(before);
  });

  it.each<Mode>(["unary", "stream"])(
    "%s: accepts every limit at its bound, counted in code points as the server does",
    async (mode) => {
      const handle = wallet.using(mode);
      // 64 emoji: 64 code points but 128 UTF-16 units, so length-based counting would refuse.
      const service = "😀".repeat(ClientLimits.serviceMaxChars);
      const metadata = Object.fromEntries(
        Array.from({ length: 16 }, (_, i) => [`k${i}`.padEnd(64, "k"), "é".repeat(256)]),
      );
      const requestId = `~${mode}`.padEnd(128, "!");
      const spent = await handle.spend(1, { service, metadata, requestId });
      expect(spent.charge).toMatchObject({ service, metadata, requestId });
      const hold = await handle.authorize(1, { service: "s", ttlSeconds: 86_400 });
      expect(hold.hold.expiresAt.getTime() - hold.hold.createdAt.getTime()).toBe(86_400_000);
      expect((await hold.void()).hold.status).toBe("VOIDED");
      const child = await wallet.createChild({ budget: 1, name: "n".repeat(128) });
      expect(child.name).toHaveLength(128);
    },
  );
});

describe("one oversized operation in stream mode", () => {
  let served: Served;
  beforeAll(async () => {
    served = await serve();
  });
  afterAll(async () => {
    await served.dispose();
  });

  const oversized: [string, string, (tg: TollgateClient, w: Wallet) => Promise<unknown>][] = [
    ["a 70 kB service", "service", (_tg, w) => w.spend(1, { service: long(70_000) })],
    [
      "70 kB of metadata",
      "metadata",
      (_tg, w) => w.spend(1, { service: "s", metadata: { k: long(70_000) } }),
    ],
    // Ids are not length-checked: the encoded-size guard catches them.
    ["a 70 kB wallet id", "request", (tg) => tg.stream().spend(long(70_000), 1, { service: "s" })],
  ];

  it.each(oversized)("fails alone: %s", async (_what, field, bad) => {
    const log = callLog();
    const tg = served.client({ mode: "stream", interceptors: [log.interceptor] });
    const wallet = await tg.wallets.create({ budget: 100_000 });
    const spend = (i: number) => wallet.spend(1, { service: "search", requestId: `good-${i}` });
    const good = Array.from({ length: 100 }, (_, i) => spend(i));
    const refused = rejection(bad(tg, wallet));
    good.push(...Array.from({ length: 100 }, (_, i) => spend(100 + i)));
    const results = await Promise.allSettled(good);
    expect(await refused).toMatchObject({ name: "InvalidArgumentError", field });
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect((await wallet.refresh()).spent).toBe(200n);
    // The one stream carried the 200 and never ended.
    expect(log.count("SpendStream")).toBe(1);
  });
});
