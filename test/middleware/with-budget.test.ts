import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InsufficientCreditsError, type Wallet, WalletClosedError } from "../../client/index.js";
import {
  type ActiveCharge,
  type BudgetRefusal,
  currentCharge,
  withBudget,
} from "../../middleware/index.js";
import { eventually } from "../support/eventually.js";
import { type Fixture, figures, lines, startFixture, stores } from "./fixture.js";

type Ctx = { toolCallId?: string; abortSignal?: AbortSignal };

describe.each(stores)("withBudget ($name store)", ({ open }) => {
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
        requestId: "search:call-1:capture",
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
      { kind: "VOID", amount: 7n, service: "scrape", requestId: "scrape:c1:void", metadata: {} },
    ]);
  });

  describe("a retried tool call is charged once", () => {
    it("success retried under the same call id: the tool runs again, the wallet pays once", async () => {
      let runs = 0;
      const search = withBudget(
        async (_q: string, _ctx?: Ctx) => {
          runs += 1;
          return "ok";
        },
        { wallet, price: 5, toolName: "search" },
      );
      expect(await search("q", { toolCallId: "call-9" })).toBe("ok");
      expect(await search("q", { toolCallId: "call-9" })).toBe("ok");
      expect(runs).toBe(2);
      expect((await figures(wallet)).available).toBe(95n);
      expect((await figures(wallet)).callCount).toBe(1n);
      expect(await lines(wallet)).toHaveLength(1);
    });

    it("failure then success: the first hold is voided, the retry is a fresh attempt, charged once", async () => {
      let runs = 0;
      const flaky = withBudget(
        async (_q: string, _ctx?: Ctx) => {
          runs += 1;
          if (runs <= 2) throw new Error(`attempt ${runs} failed`);
          return "ok";
        },
        { wallet, price: 5, toolName: "flaky" },
      );
      await expect(flaky("q", { toolCallId: "call-3" })).rejects.toThrow("attempt 1 failed");
      await expect(flaky("q", { toolCallId: "call-3" })).rejects.toThrow("attempt 2 failed");
      expect(await flaky("q", { toolCallId: "call-3" })).toBe("ok");
      // And a framework that retries the successful call once more still pays once.
      expect(await flaky("q", { toolCallId: "call-3" })).toBe("ok");
      expect(runs).toBe(4);
      expect(await figures(wallet)).toEqual({
        available: 95n,
        totalCredits: 5n,
        callCount: 1n,
        voidedHoldCredits: 10n,
        voidedHoldCount: 2n,
      });
      expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
        ["VOID", 5n, "flaky:call-3:void"],
        ["VOID", 5n, "flaky:call-3#2:void"],
        ["CAPTURE", 5n, "flaky:call-3#3:capture"],
      ]);
    });

    it("a cost-billed call retried after success is not billed again, even at another cost", async () => {
      let tokens = 10;
      const llm = withBudget(async (_p: string, _ctx?: Ctx) => ({ tokens: tokens++ }), {
        wallet,
        maxPrice: 50,
        cost: (r) => r.tokens,
        toolName: "llm",
      });
      expect(await llm("p", { toolCallId: "l9" })).toEqual({ tokens: 10 });
      // The rerun costs 11; capturing it under the same id would be a reuse with other parameters.
      expect(await llm("p", { toolCallId: "l9" })).toEqual({ tokens: 11 });
      expect(await figures(wallet)).toMatchObject({
        available: 90n,
        totalCredits: 10n,
        callCount: 1n,
      });
      expect(await lines(wallet)).toHaveLength(1);
    });

    it("calls without a call id are independent calls (random request ids)", async () => {
      const search = withBudget(async (_q: string) => "ok", {
        wallet,
        price: 5,
        toolName: "search",
      });
      await search("q");
      await search("q");
      expect((await figures(wallet)).callCount).toBe(2n);
      expect((await figures(wallet)).available).toBe(90n);
    });
  });

  describe("refusal", () => {
    const costly = (
      w: Wallet,
      onRefusal?: "message" | "throw" | ((r: BudgetRefusal<string>) => unknown),
    ) => {
      let runs = 0;
      const fn = withBudget(
        async (_q: string, _ctx?: Ctx) => {
          runs += 1;
          return "ran";
        },
        { wallet: w, price: 30, toolName: "deep_search", ...(onRefusal ? { onRefusal } : {}) },
      );
      return { fn, runs: () => runs };
    };

    it("returns the reference message by default, naming the wallet; the tool does not run", async () => {
      const small = await f.wallet(12, "researcher");
      const { fn, runs } = costly(small);
      expect(await fn("q", { toolCallId: "r1" })).toBe(
        "PAYMENT_LIMIT_REACHED: researcher has 12 credits left; deep_search costs 30",
      );
      expect(runs()).toBe(0);
      expect(await figures(small)).toEqual({
        available: 12n,
        totalCredits: 0n,
        callCount: 0n,
        voidedHoldCredits: 0n,
        voidedHoldCount: 0n,
      });
      expect(await lines(small)).toEqual([]);
    });

    it("names a wallet without a name by its id", async () => {
      const anonymous = await f.wallet(4, "");
      const { fn } = costly(anonymous);
      expect(await fn("q")).toBe(
        `PAYMENT_LIMIT_REACHED: ${anonymous.id} has 4 credits left; deep_search costs 30`,
      );
    });

    it('throws InsufficientCreditsError with onRefusal: "throw"', async () => {
      const small = await f.wallet(12, "researcher");
      const { fn, runs } = costly(small, "throw");
      const error = await fn("q").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InsufficientCreditsError);
      expect((error as InsufficientCreditsError).available).toBe(12n);
      expect((error as InsufficientCreditsError).requested).toBe(30n);
      expect(runs()).toBe(0);
    });

    it("calls a fallback with the refusal and returns its result", async () => {
      const small = await f.wallet(12, "researcher");
      const seen: BudgetRefusal<string>[] = [];
      const { fn, runs } = costly(small, (refusal) => {
        seen.push(refusal);
        return "cached answer";
      });
      expect(await fn("cats", { toolCallId: "r2" })).toBe("cached answer");
      expect(runs()).toBe(0);
      expect(seen).toHaveLength(1);
      const [refusal] = seen;
      expect(refusal).toMatchObject({
        wallet: "researcher",
        walletId: small.id,
        available: 12n,
        price: 30n,
        tool: "deep_search",
        input: "cats",
        message: "PAYMENT_LIMIT_REACHED: researcher has 12 credits left; deep_search costs 30",
      });
      expect(refusal?.error).toBeInstanceOf(InsufficientCreditsError);
    });

    it("fails closed on every other error: a closed wallet throws and the tool does not run", async () => {
      const doomed = await f.wallet(50, "doomed");
      await doomed.close();
      const { fn, runs } = costly(doomed);
      await expect(fn("q")).rejects.toBeInstanceOf(WalletClosedError);
      expect(runs()).toBe(0);
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
          requestId: "llm:l3:capture",
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

  it("takes a custom request-id base, and hashes a base the ledger would refuse", async () => {
    const tool = (requestId: (q: string, id?: string) => string) =>
      withBudget(async (_q: string, _ctx?: Ctx) => "ok", {
        wallet,
        price: 1,
        toolName: "search",
        requestId,
      });
    await tool((_q, id) => `run-42/${id}`)("q", { toolCallId: "call-1" });
    await tool((q) => `query with spaces: ${q}`)("cats");
    const ids = (await lines(wallet)).map((l) => l.requestId);
    expect(ids[0]).toBe("run-42/call-1:capture");
    expect(ids[1]).toMatch(/^sha256:[0-9a-f]{64}:capture$/);
    // Deterministic: the same awkward base maps to the same id, so retries still deduplicate.
    await tool((q) => `query with spaces: ${q}`)("cats");
    expect(await lines(wallet)).toHaveLength(2);
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
    const charge = (await paid("q", { toolCallId: "u1" })) as ActiveCharge | undefined;
    expect(runs).toBe(2);
    expect(charge).toMatchObject({ walletId: wallet.id, requestId: "vendor:u1:spend" });
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
      ["SPEND", 9n, "vendor:u1:spend"],
    ]);
  });

  it("gives the tool its charge through currentCharge()", async () => {
    const seen = withBudget(async (_q: string, _ctx?: Ctx) => currentCharge(), {
      wallet,
      price: 5,
      toolName: "search",
    });
    const charge = (await seen("q", { toolCallId: "cc1" })) as ActiveCharge | undefined;
    expect(charge).toMatchObject({ walletId: wallet.id, requestId: "search:cc1:authorize" });
    expect(charge?.holdId).toMatch(/\.h\d+$/);
    expect(charge?.credential.split(".")).toHaveLength(3);
    expect(currentCharge()).toBeUndefined();
  });

  describe("abort", () => {
    it("voids the hold and rethrows the abort reason when the framework aborts a running call", async () => {
      const controller = new AbortController();
      let finish: (v: string) => void = () => {};
      const slow = withBudget(
        (_q: string, _ctx?: Ctx) =>
          new Promise<string>((resolve) => {
            finish = resolve;
          }),
        { wallet, price: 5, toolName: "slow" },
      );
      const pending = slow("q", { toolCallId: "a1", abortSignal: controller.signal });
      await eventually(async () => expect((await wallet.refresh()).held).toBe(5n));
      const reason = new Error("user cancelled");
      controller.abort(reason);
      await expect(pending).rejects.toBe(reason);
      finish("too late");
      expect(await figures(wallet)).toEqual({
        available: 100n,
        totalCredits: 0n,
        callCount: 0n,
        voidedHoldCredits: 5n,
        voidedHoldCount: 1n,
      });
    });

    it("an already aborted call touches nothing", async () => {
      const controller = new AbortController();
      controller.abort(new Error("gone"));
      let runs = 0;
      const tool = withBudget(
        async (_q: string, _ctx?: Ctx) => {
          runs += 1;
        },
        { wallet, price: 5, toolName: "t" },
      );
      await expect(tool("q", { abortSignal: controller.signal })).rejects.toThrow("gone");
      expect(runs).toBe(0);
      expect(await lines(wallet)).toEqual([]);
    });
  });

  describe("async-iterable tools", () => {
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
        ["CAPTURE", 12n, "crawl:i1:capture"],
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
      expect((await lines(wallet)).map((l) => l.requestId)).toEqual(["stalled:i6:void"]);
    });

    it("charges nothing until the first next()", async () => {
      progress()(3, { toolCallId: "i4" });
      expect(await lines(wallet)).toEqual([]);
    });
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
