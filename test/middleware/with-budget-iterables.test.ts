import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Wallet } from "../../client/index.js";
import { currentCharge, withBudget } from "../../middleware/index.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
} from "./fixture.js";

type Ctx = { toolCallId?: string; abortSignal?: AbortSignal };

describe.each(stores)("withBudget: async-iterable tools ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;

  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(100, "research");
  });
  afterEach(() => f.close());
  const progress = (fail = false) =>
    withBudget(
      async function* (steps: number, _ctx?: Ctx) {
        for (let i = 1; i <= steps; i++) {
          if (fail && i === 2) throw new Error("stream broke");
          yield { done: i, credential: currentCharge()?.credential };
        }
      },
      { wallet, maxPrice: 20, cost: (last) => last.done * 4, toolName: "crawl" },
    );

  it("captures when the iterator finishes, the cost from its last value", async () => {
    const seen: number[] = [];
    for await (const update of progress()(3, { toolCallId: "i1" })) {
      if (typeof update === "string") throw new Error(update);
      seen.push(update.done);
      expect(update.credential).toBeTruthy();
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(await figures(wallet)).toMatchObject({
      available: 88n,
      totalCredits: 12n,
      callCount: 1n,
    });
    expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
      ["CAPTURE", 12n, `crawl:i1:${fp.n3}:capture`],
    ]);
  });

  it("voids when the consumer abandons it (break)", async () => {
    for await (const update of progress()(5, { toolCallId: "i2" })) {
      if (typeof update !== "string" && update.done === 2) break;
    }
    expect(await figures(wallet)).toEqual({
      available: 100n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 20n,
      voidedHoldCount: 1n,
    });
  });

  it("voids when the tool throws mid-stream", async () => {
    const consume = async () => {
      for await (const _ of progress(true)(5, { toolCallId: "i3" })) {
        // drain
      }
    };
    await expect(consume()).rejects.toThrow("stream broke");
    expect(await figures(wallet)).toMatchObject({ available: 100n, voidedHoldCount: 1n });
  });

  it("a refused iterable tool yields (and returns) the refusal and never starts", async () => {
    let started = false;
    const tiny = await f.wallet(3, "tiny");
    const crawl = withBudget(
      async function* (_pages: number, _ctx?: Ctx) {
        started = true;
        yield 1;
      },
      { wallet: tiny, price: 5, toolName: "crawl" },
    );
    const iterator = crawl(2, { toolCallId: "i5" });
    const message = "PAYMENT_LIMIT_REACHED: tiny has 3 credits left; crawl costs 5";
    expect(await iterator.next()).toEqual({ done: false, value: message });
    expect(await iterator.next()).toEqual({ done: true, value: message });
    expect(started).toBe(false);
  });

  it("an abort while the tool is between values voids the hold and rethrows the reason", async () => {
    const controller = new AbortController();
    const stalled = withBudget(
      async function* (_q: string, _ctx?: Ctx) {
        yield "first";
        await new Promise(() => {});
      },
      { wallet, price: 5, toolName: "stalled" },
    );
    const iterator = stalled("q", { toolCallId: "i6", abortSignal: controller.signal });
    expect(await iterator.next()).toEqual({ done: false, value: "first" });
    const second = iterator.next();
    const reason = new Error("cancelled mid-stream");
    controller.abort(reason);
    await expect(second).rejects.toBe(reason);
    expect(await figures(wallet)).toMatchObject({ available: 100n, voidedHoldCount: 1n });
    expect((await lines(wallet)).map((l) => l.requestId)).toEqual([`stalled:i6:${fp.q}:void`]);
  });

  it("charges nothing until the first next()", async () => {
    progress()(3, { toolCallId: "i4" });
    expect(await lines(wallet)).toEqual([]);
  });
});
