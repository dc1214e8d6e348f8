import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Wallet } from "../../client/index.js";
import { type ActiveCharge, currentCharge, withBudget } from "../../middleware/index.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
  warningCodes,
} from "./fixture.js";

type Ctx = { toolCallId?: string; abortSignal?: AbortSignal };

describe.each(stores)("withBudget: settle policies ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;

  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(100, "research");
  });
  afterEach(() => f.close());
  it("holds the price, runs the tool, captures it: one CAPTURE line", async () => {
    let runs = 0;
    const search = withBudget(
      async (query: string, _ctx?: Ctx) => {
        runs += 1;
        return `results for ${query}`;
      },
      { wallet, price: 5, toolName: "search" },
    );
    expect(await search("cats", { toolCallId: "call-1" })).toBe("results for cats");
    expect(runs).toBe(1);
    expect(await figures(wallet)).toEqual({
      available: 95n,
      totalCredits: 5n,
      callCount: 1n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
    expect(await lines(wallet)).toEqual([
      {
        kind: "CAPTURE",
        amount: 5n,
        service: "search",
        requestId: `search:call-1:${fp.cats}:capture`,
        metadata: {},
      },
    ]);
  });

  it("does not charge a tool that throws: the hold is voided and the error propagates", async () => {
    const boom = new Error("scraper down");
    const scrape = withBudget(
      async (_url: string, _ctx?: Ctx) => {
        throw boom;
      },
      { wallet, price: 7, toolName: "scrape" },
    );
    await expect(scrape("https://example.com", { toolCallId: "c1" })).rejects.toBe(boom);
    expect(await figures(wallet)).toEqual({
      available: 100n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 7n,
      voidedHoldCount: 1n,
    });
    expect(await lines(wallet)).toEqual([
      {
        kind: "VOID",
        amount: 7n,
        service: "scrape",
        requestId: `scrape:c1:${fp.exampleCom}:void`,
        metadata: {},
      },
    ]);
  });

  it("refuses a plain function that hands back an AsyncIterable: the hold is voided, nothing charged", async () => {
    let read = false;
    const stream = withBudget(
      (_query: string, _ctx?: Ctx) =>
        (async function* () {
          read = true;
          yield "chunk";
        })(),
      { wallet, price: 6, toolName: "stream" },
    );
    await expect(
      stream("cats", { toolCallId: "s1" }) as unknown as Promise<unknown>,
    ).rejects.toThrow(/stream returned an AsyncIterable from a plain function/);
    expect(read).toBe(false);
    expect(await figures(wallet)).toEqual({
      available: 100n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 6n,
      voidedHoldCount: 1n,
    });
  });

  describe("maxPrice and cost (billed after the fact)", () => {
    const llm = (cost: (tokens: number) => number) =>
      withBudget(async (tokens: number, _ctx?: Ctx) => ({ tokens }), {
        wallet,
        maxPrice: 50,
        cost: (result) => cost(result.tokens),
        toolName: "llm",
      });

    it("authorizes the maximum and captures the actual cost", async () => {
      expect(await llm((t) => t)(12, { toolCallId: "l1" })).toEqual({ tokens: 12 });
      expect(await figures(wallet)).toEqual({
        available: 88n,
        totalCredits: 12n,
        callCount: 1n,
        voidedHoldCredits: 0n,
        voidedHoldCount: 0n,
      });
      expect((await lines(wallet)).map((l) => [l.kind, l.amount])).toEqual([["CAPTURE", 12n]]);
    });

    it("voids the hold when the actual cost is 0", async () => {
      await llm(() => 0)(0, { toolCallId: "l2" });
      expect(await figures(wallet)).toEqual({
        available: 100n,
        totalCredits: 0n,
        callCount: 0n,
        voidedHoldCredits: 50n,
        voidedHoldCount: 1n,
      });
    });

    it("clamps a cost above maxPrice to the hold, records the real cost, and warns", async () => {
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on("warning", onWarning);
      try {
        await llm((t) => t)(80, { toolCallId: "l3" });
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off("warning", onWarning);
      }
      expect(await lines(wallet)).toEqual([
        {
          kind: "CAPTURE",
          amount: 50n,
          service: "llm",
          requestId: `llm:l3:${fp.n80}:capture`,
          metadata: { cost_over_max_price: "80" },
        },
      ]);
      expect(warnings.map((w) => (w as Error & { code?: string }).code)).toEqual([
        "TOLLGATE_COST_OVER_MAX_PRICE",
      ]);
    });

    it("a cost function that throws voids the hold and rejects the call", async () => {
      const broken = withBudget(async (_q: string, _ctx?: Ctx) => "x", {
        wallet,
        maxPrice: 50,
        cost: () => {
          throw new Error("no usage in response");
        },
        toolName: "llm",
      });
      await expect(broken("q", { toolCallId: "l4" })).rejects.toThrow("no usage in response");
      expect(await figures(wallet)).toMatchObject({ available: 100n, voidedHoldCount: 1n });
    });

    it("is refused on the maximum, not the actual cost", async () => {
      const small = await f.wallet(40, "small");
      const fn = withBudget(async (_q: string) => "x", {
        wallet: small,
        maxPrice: 50,
        cost: () => 1,
        toolName: "llm",
      });
      expect(await fn("q")).toBe("PAYMENT_LIMIT_REACHED: small has 40 credits left; llm costs 50");
    });
  });

  it("prices from the input, labels lines with metadata (by-agent breakdown)", async () => {
    const fetchPages = withBudget(async (pages: number, _ctx?: Ctx) => pages, {
      wallet,
      price: (pages) => pages * 3,
      metadata: { agent: "researcher" },
      service: "scraper",
      toolName: "fetch_pages",
    });
    await fetchPages(4, { toolCallId: "p1" });
    await fetchPages(2, { toolCallId: "p2" });
    const receipt = await wallet.getReceipt();
    expect(receipt.available).toBe(82n);
    expect(receipt.byAgent).toEqual([{ key: "researcher", credits: 18n, callCount: 2n }]);
    expect(receipt.byService).toEqual([{ key: "scraper", credits: 18n, callCount: 2n }]);
  });

  it("runs a tool priced 0 without charging or a credential", async () => {
    const free = withBudget(async (_q: string) => currentCharge(), {
      wallet,
      price: () => 0,
      toolName: "cache",
    });
    expect(await free("q")).toBeUndefined();
    expect(await figures(wallet)).toMatchObject({ available: 100n, callCount: 0n });
  });

  it("upfront: one SPEND before the tool; a failure stays charged, its retry is not charged again", async () => {
    let runs = 0;
    const paid = withBudget(
      async (_q: string, _ctx?: Ctx) => {
        runs += 1;
        if (runs === 1) throw new Error("vendor 500");
        return currentCharge();
      },
      { wallet, price: 9, upfront: true, toolName: "vendor" },
    );
    await expect(paid("q", { toolCallId: "u1" })).rejects.toThrow("vendor 500");
    let charge: ActiveCharge | undefined;
    const codes = await warningCodes(async () => {
      charge = (await paid("q", { toolCallId: "u1" })) as ActiveCharge | undefined;
    });
    // The retry runs on the first SPEND, free, and says so.
    expect(codes).toEqual(["TOLLGATE_REPLAYED_CHARGE"]);
    expect(runs).toBe(2);
    expect(charge).toMatchObject({ walletId: wallet.id, requestId: `vendor:u1:${fp.q}:spend` });
    expect(charge?.chargeId).toMatch(/\./);
    expect(charge?.credential.length).toBeGreaterThan(20);
    expect(await figures(wallet)).toEqual({
      available: 91n,
      totalCredits: 9n,
      callCount: 1n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
    expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
      ["SPEND", 9n, `vendor:u1:${fp.q}:spend`],
    ]);
  });

  it("gives the tool its charge through currentCharge()", async () => {
    const seen = withBudget(async (_q: string, _ctx?: Ctx) => currentCharge(), {
      wallet,
      price: 5,
      toolName: "search",
    });
    const charge = (await seen("q", { toolCallId: "cc1" })) as ActiveCharge | undefined;
    expect(charge).toMatchObject({
      walletId: wallet.id,
      requestId: `search:cc1:${fp.q}:authorize`,
    });
    expect(charge?.holdId).toMatch(/\.h\d+$/);
    expect(charge?.credential.split(".")).toHaveLength(3);
    expect(currentCharge()).toBeUndefined();
  });

  it("an isFailure that throws voids the hold and rejects with its error", async () => {
    const odd = withBudget(
      async (_q: string, _ctx?: Ctx) => undefined as unknown as { ok: boolean },
      {
        wallet,
        price: 5,
        toolName: "odd",
        isFailure: (result) => !result.ok,
      },
    );
    await expect(odd("q", { toolCallId: "f1" })).rejects.toBeInstanceOf(TypeError);
    expect(await wallet.refresh()).toMatchObject({ held: 0n, available: 100n });
    expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
      ["VOID", 5n, `odd:f1:${fp.q}:void`],
    ]);
  });

  it("rejects contradictory options when wrapping", () => {
    const fn = async (_q: string) => "x";
    expect(() => withBudget(fn, { wallet })).toThrow(TypeError);
    expect(() => withBudget(fn, { wallet, price: 1, maxPrice: 2, cost: () => 1 })).toThrow(
      TypeError,
    );
    expect(() => withBudget(fn, { wallet, maxPrice: 2 })).toThrow(TypeError);
    expect(() => withBudget(fn, { wallet, maxPrice: 2, cost: () => 1, upfront: true })).toThrow(
      TypeError,
    );
    expect(() => withBudget(async (_q: string) => 1, { wallet, price: 1, toolName: "" })).toThrow(
      TypeError,
    );
  });
});
