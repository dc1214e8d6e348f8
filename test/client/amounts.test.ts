import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Amount,
  InvalidArgumentError,
  type TollgateClient,
  type Wallet,
} from "../../client/index.js";
import { type CallLog, callLog, rejection, type Served, serve } from "./support.js";

/**
 * Amounts: a safe-integer number or a bigint in, always a bigint out. Anything else is refused by
 * the client itself with an InvalidArgumentError naming the field, before any RPC: the call log
 * shows that nothing was sent.
 */
describe("amounts", () => {
  let served: Served;
  let log: CallLog;
  let wallet: Wallet;
  let tg: TollgateClient;
  beforeAll(async () => {
    served = await serve();
    log = callLog();
    tg = served.client({ interceptors: [log.interceptor] });
    wallet = await tg.wallets.create({ name: "amounts", budget: 1_000_000, hardCap: false });
  });
  afterAll(async () => {
    await served.dispose();
  });

  const refused: [string, unknown][] = [
    ["a fraction", 1.5],
    ["a negative number", -1],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["an unsafe integer", 2 ** 53],
    ["a negative bigint", -1n],
    ["a bigint past 2^53-1", 2n ** 53n],
    ["a string", "5"],
  ];

  it.each(refused)("refuses %s for every amount field, before any RPC", async (_what, value) => {
    const amount = value as Amount;
    const before = log.calls.length;
    const cases: [string, Promise<unknown>][] = [
      ["amount", wallet.spend(amount, { service: "s" })],
      ["amount", wallet.using("stream").spend(amount, { service: "s" })],
      ["amount", wallet.authorize(amount, { service: "s" })],
      ["amount", wallet.capture(`${wallet.id}.h1`, amount)],
      ["amount", wallet.addCredits(amount)],
      ["budget", wallet.createChild({ budget: amount })],
      ["budget", tg.wallets.create({ budget: amount })],
      ["amount", tg.stream().capture(`${wallet.id}.h1`, amount)],
    ];
    for (const [field, call] of cases) {
      const error = await rejection(call);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({
        code: status.INVALID_ARGUMENT,
        reason: "INVALID_ARGUMENT",
        field,
        metadata: { field },
      });
      expect((error as Error).message.startsWith(`${field}: `)).toBe(true);
    }
    expect(log.calls.length).toBe(before);
  });

  it("refuses fractional counts and deadlines the same way", async () => {
    const before = log.calls.length;
    expect(await rejection(wallet.authorize(1, { service: "s", ttlSeconds: 1.5 }))).toMatchObject({
      field: "ttl_seconds",
    });
    expect(() => wallet.listCharges({ pageSize: 2.5 })).toThrow(InvalidArgumentError);
    expect(await rejection(wallet.spend(1, { service: "s", deadlineMs: 0 }))).toMatchObject({
      field: "deadline_ms",
    });
    expect(log.calls.length).toBe(before);
  });

  it("accepts numbers and bigints alike and answers in bigints", async () => {
    const asNumber = await wallet.spend(3, { service: "s" });
    const asBigint = await wallet.spend(3n, { service: "s" });
    expect(asNumber.charge.amount).toBe(3n);
    expect(asBigint.charge.amount).toBe(3n);
    expect(asNumber.remaining - asBigint.remaining).toBe(3n);
    expect(typeof asBigint.remaining).toBe("bigint");
  });

  it("carries 2^53-1, the largest amount, exactly", async () => {
    const big = await tg.wallets.create({ budget: Number.MAX_SAFE_INTEGER });
    expect(big.budget).toBe(9_007_199_254_740_991n);
    const spent = await big.spend(9_007_199_254_740_990n, { service: "s" });
    expect(spent.remaining).toBe(1n);
  });
});
