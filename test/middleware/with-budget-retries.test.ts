import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Wallet } from "../../client/index.js";
import { currentCharge, withBudget } from "../../middleware/index.js";
import { eventually } from "../support/eventually.js";
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
      // The rerun is free, and says so.
      expect(
        await warningCodes(async () =>
          expect(await search("q", { toolCallId: "call-9" })).toBe("ok"),
        ),
      ).toEqual(["TOLLGATE_REPLAYED_CHARGE"]);
      expect(runs).toBe(2);
      expect((await figures(wallet)).available).toBe(95n);
      expect((await figures(wallet)).callCount).toBe(1n);
      expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
        ["CAPTURE", 5n, `search:call-9:${fp.q}:capture`],
      ]);
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
        ["VOID", 5n, `flaky:call-3:${fp.q}:void`],
        ["VOID", 5n, `flaky:call-3:${fp.q}#2:void`],
        ["CAPTURE", 5n, `flaky:call-3:${fp.q}#3:capture`],
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
  describe("a call id reused with another input is a new call", () => {
    const recorder = (upfront: boolean) => {
      const inputs: string[] = [];
      const search = withBudget(
        async (q: string, _ctx?: Ctx) => {
          inputs.push(q);
          return `results for ${q}`;
        },
        { wallet, price: 10, toolName: "search", upfront },
      );
      return { search, inputs };
    };

    it("hold: both inputs run and each is charged, no replay", async () => {
      const { search, inputs } = recorder(false);
      const codes = await warningCodes(async () => {
        expect(await search("cats", { toolCallId: "call_0" })).toBe("results for cats");
        // The next turn: the provider numbers its calls from call_0 again.
        expect(await search("dogs", { toolCallId: "call_0" })).toBe("results for dogs");
      });
      expect(codes).toEqual([]);
      expect(inputs).toEqual(["cats", "dogs"]);
      expect(await figures(wallet)).toEqual({
        available: 80n,
        totalCredits: 20n,
        callCount: 2n,
        voidedHoldCredits: 0n,
        voidedHoldCount: 0n,
      });
      expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
        ["CAPTURE", 10n, `search:call_0:${fp.cats}:capture`],
        ["CAPTURE", 10n, `search:call_0:${fp.dogs}:capture`],
      ]);
    });

    it("upfront: both inputs are charged; a genuine retry replays its SPEND and warns", async () => {
      const { search, inputs } = recorder(true);
      await search("cats", { toolCallId: "call_0" });
      await search("dogs", { toolCallId: "call_0" });
      const codes = await warningCodes(() => search("dogs", { toolCallId: "call_0" }));
      expect(codes).toEqual(["TOLLGATE_REPLAYED_CHARGE"]);
      expect(inputs).toEqual(["cats", "dogs", "dogs"]);
      expect(await figures(wallet)).toMatchObject({ available: 80n, totalCredits: 20n });
      expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
        ["SPEND", 10n, `search:call_0:${fp.cats}:spend`],
        ["SPEND", 10n, `search:call_0:${fp.dogs}:spend`],
      ]);
    });

    it("the fingerprint ignores key order; an over-long base is hashed within 128 characters", async () => {
      const search = withBudget(async (_q: { query: string; limit: number }, _ctx?: Ctx) => "ok", {
        wallet,
        price: 1,
        toolName: "search",
      });
      await search({ query: "cats", limit: 3 }, { toolCallId: "c1" });
      await search({ limit: 3, query: "cats" }, { toolCallId: "c1" }); // a retry, re-serialised
      await search({ query: "cats", limit: 3 }, { toolCallId: "x".repeat(100) });
      const ids = (await lines(wallet)).map((l) => l.requestId);
      expect(ids[0]).toBe(`search:c1:${fp.catsLimit3}:capture`);
      expect(ids[1]).toMatch(/^sha256:[0-9a-f]{64}:capture$/);
      expect(ids).toHaveLength(2);
    });
  });

  describe("concurrent runs of one call id and input run one at a time", () => {
    /** A tool whose first run waits for `open()` and whose runs succeed or fail as `outcomes` say. */
    const gated = (outcomes: ("ok" | "fail")[], options: { holdTtlSeconds?: number } = {}) => {
      let runs = 0;
      let open = () => {};
      const gate = new Promise<void>((resolve) => {
        open = resolve;
      });
      const search = withBudget(
        async (_q: string, _ctx?: Ctx) => {
          runs += 1;
          const outcome = outcomes[runs - 1];
          if (runs === 1) await gate;
          if (outcome === "fail") throw new Error(`run ${runs} failed`);
          return `run ${runs} paid`;
        },
        { wallet, price: 10, toolName: "search", ...options },
      );
      return { search, open, runs: () => runs };
    };
    const settled = (promise: Promise<unknown>) =>
      promise.then(
        (value) => ({ value }),
        (error: unknown) => ({ error: (error as Error).message }),
      );

    it("the first succeeds while a duplicate fails: the first is charged and keeps its result", async () => {
      const { search, open, runs } = gated(["ok", "fail"]);
      const first = settled(search("q", { toolCallId: "call-1" }));
      await eventually(async () => expect((await wallet.refresh()).held).toBe(10n));
      let second: Promise<unknown> = Promise.resolve();
      const codes = await warningCodes(async () => {
        second = settled(search("q", { toolCallId: "call-1" }));
        await new Promise((resolve) => setTimeout(resolve, 100));
        // The duplicate waits for the first run instead of running on (and voiding) its hold.
        expect(runs()).toBe(1);
        open();
        await first;
        await second;
      });
      expect(await first).toEqual({ value: "run 1 paid" });
      // It then runs as a retry of a paid call would: free, and warned about.
      expect(await second).toEqual({ error: "run 2 failed" });
      expect(codes).toEqual(["TOLLGATE_REPLAYED_CHARGE"]);
      expect(runs()).toBe(2);
      expect(await figures(wallet)).toEqual({
        available: 90n,
        totalCredits: 10n,
        callCount: 1n,
        voidedHoldCredits: 0n,
        voidedHoldCount: 0n,
      });
      expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
        ["CAPTURE", 10n, `search:call-1:${fp.q}:capture`],
      ]);
    });

    it("the first fails while a duplicate waits: the duplicate runs as attempt #2 and is charged", async () => {
      const { search, open, runs } = gated(["fail", "ok"]);
      const first = settled(search("q", { toolCallId: "call-2" }));
      await eventually(async () => expect((await wallet.refresh()).held).toBe(10n));
      const second = settled(search("q", { toolCallId: "call-2" }));
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(runs()).toBe(1);
      open();
      expect(await first).toEqual({ error: "run 1 failed" });
      expect(await second).toEqual({ value: "run 2 paid" });
      expect(await figures(wallet)).toEqual({
        available: 90n,
        totalCredits: 10n,
        callCount: 1n,
        voidedHoldCredits: 10n,
        voidedHoldCount: 1n,
      });
      expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
        ["VOID", 10n, `search:call-2:${fp.q}:void`],
        ["CAPTURE", 10n, `search:call-2:${fp.q}#2:capture`],
      ]);
    });

    it("a duplicate waits at most until the first run's hold expires", async () => {
      const { search, open, runs } = gated(["ok", "ok"], { holdTtlSeconds: 1 });
      const first = settled(search("q", { toolCallId: "call-3" }));
      await eventually(async () => expect((await wallet.refresh()).held).toBe(10n));
      // The first run hangs past its hold; the duplicate goes ahead as a new attempt.
      expect(await search("q", { toolCallId: "call-3" })).toBe("run 2 paid");
      open();
      const late = await first;
      expect(late).toMatchObject({ error: expect.stringMatching(/expired/i) });
      expect(runs()).toBe(2);
      expect(await figures(wallet)).toMatchObject({ available: 90n, totalCredits: 10n });
      expect(
        (await lines(wallet)).filter((l) => l.kind !== "EXPIRE").map((l) => [l.kind, l.requestId]),
      ).toEqual([["CAPTURE", `search:call-3:${fp.q}#2:capture`]]);
    });

    it("runs waiting on one that outlived its hold go one at a time, each under its own hold", async () => {
      // A hangs past its hold; B and C, both waiting on it, must not both take it as their
      // earlier run and share one hold (B's void would then fail C's capture).
      let openGate = () => {};
      const gate = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      let active = 0;
      let maxActive = 0;
      const holds: Record<string, string | undefined> = {};
      const search = withBudget(
        async (_q: string, ctx: Ctx & { who: string }) => {
          holds[ctx.who] = currentCharge()?.holdId;
          active += 1;
          maxActive = Math.max(maxActive, active);
          try {
            if (ctx.who === "A") await gate;
            else await new Promise((resolve) => setTimeout(resolve, 50));
            if (ctx.who === "B") throw new Error("B failed");
            return `${ctx.who} paid`;
          } finally {
            active -= 1;
          }
        },
        { wallet, price: 10, toolName: "search", holdTtlSeconds: 1 },
      );
      const a = settled(search("q", { toolCallId: "call-4", who: "A" }));
      await eventually(async () => expect((await wallet.refresh()).held).toBe(10n));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const b = settled(search("q", { toolCallId: "call-4", who: "B" }));
      const c = settled(search("q", { toolCallId: "call-4", who: "C" }));
      expect(await b).toEqual({ error: "B failed" });
      expect(await c).toEqual({ value: "C paid" });
      openGate();
      expect(await a).toMatchObject({ error: expect.stringMatching(/expired/i) });
      // A (hanging) and one of B, C; never B and C together.
      expect(maxActive).toBe(2);
      expect(holds).toEqual({
        A: `${wallet.id}.h1`,
        B: `${wallet.id}.h3`,
        C: `${wallet.id}.h5`,
      });
      expect(await figures(wallet)).toEqual({
        available: 90n,
        totalCredits: 10n,
        callCount: 1n,
        // A's hold expired, B's was voided.
        voidedHoldCredits: 20n,
        voidedHoldCount: 2n,
      });
      expect(
        (await lines(wallet)).filter((l) => l.kind !== "EXPIRE").map((l) => [l.kind, l.requestId]),
      ).toEqual([
        ["VOID", `search:call-4:${fp.q}#2:void`],
        ["CAPTURE", `search:call-4:${fp.q}#3:capture`],
      ]);
    });

    it("an aborted duplicate stops waiting at once: it rejects with the reason and authorizes nothing", async () => {
      const { search, open, runs } = gated(["ok", "ok"]);
      let firstSettled = false;
      const first = settled(search("q", { toolCallId: "call-5" })).finally(() => {
        firstSettled = true;
      });
      await eventually(async () => expect((await wallet.refresh()).held).toBe(10n));
      const controller = new AbortController();
      const second = search("q", { toolCallId: "call-5", abortSignal: controller.signal });
      second.catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(runs()).toBe(1);
      const reason = new Error("the user cancelled");
      controller.abort(reason);
      await expect(second).rejects.toBe(reason);
      // It did not wait for the first run, which still hangs.
      expect(firstSettled).toBe(false);
      expect(runs()).toBe(1);
      open();
      expect(await first).toEqual({ value: "run 1 paid" });
      expect(runs()).toBe(1);
      expect(f.methods.filter((method) => method === "Authorize")).toHaveLength(1);
      expect(await figures(wallet)).toEqual({
        available: 90n,
        totalCredits: 10n,
        callCount: 1n,
        voidedHoldCredits: 0n,
        voidedHoldCount: 0n,
      });
      expect((await lines(wallet)).map((l) => [l.kind, l.requestId])).toEqual([
        ["CAPTURE", `search:call-5:${fp.q}:capture`],
      ]);
    });
  });
});
