import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InsufficientCreditsError, type Wallet, WalletClosedError } from "../../client/index.js";
import { type BudgetRefusal, withBudget } from "../../middleware/index.js";
import { eventually } from "../support/eventually.js";
import { type Fixture, figures, lines, startFixture, stores } from "./fixture.js";

type Ctx = { toolCallId?: string; abortSignal?: AbortSignal };

describe.each(stores)("withBudget: refusals and aborts ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;

  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(100, "research");
  });
  afterEach(() => f.close());
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
});
