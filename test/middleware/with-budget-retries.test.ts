import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Wallet } from "../../client/index.js";
import { withBudget } from "../../middleware/index.js";
import { type Fixture, figures, lines, startFixture, stores } from "./fixture.js";

type Ctx = { toolCallId?: string; abortSignal?: AbortSignal };

describe.each(stores)("withBudget: retries and request ids ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;

  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(100, "research");
  });
  afterEach(() => f.close());
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
});
