import { afterEach, describe, expect, it } from "vitest";
import { UnavailableError, type Wallet } from "../../client/index.js";
import { withBudget } from "../../middleware/index.js";
import type { LedgerStore } from "../../server/store/ledger-store.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
  warningCodes,
} from "./fixture.js";
import { type FaultedOperation, type FaultWatch, failing } from "./store-faults.js";

type Ctx = { toolCallId?: string; abortSignal?: AbortSignal };

/** Client retries kept short (2 attempts, 1 ms backoff) so every exhausted retry is counted fast. */
const quickRetries = { retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1 } };

describe.each(stores)("withBudget: ledger faults ($name store)", ({ open }) => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  /** A fixture whose store fails `operation` `failures` times; a 100-credit wallet on it. */
  const faulty = async (
    operation: FaultedOperation,
    failures: number,
    applied: boolean,
    mode: "unary" | "stream" = "unary",
    client = {},
  ): Promise<{ wallet: Wallet; watch: FaultWatch }> => {
    let watch: FaultWatch = { calls: 0 };
    f = await startFixture(open(), mode, {
      client,
      wrapStore: (store: LedgerStore) => {
        const faulted = failing(store, operation, failures, applied);
        watch = faulted.watch;
        return faulted.store;
      },
    });
    return { wallet: await f.wallet(100, "research"), watch };
  };

  const searchOn = (wallet: Wallet, runs: string[]) =>
    withBudget(
      async (q: string, _ctx?: Ctx) => {
        runs.push(q);
        return `results for ${q}`;
      },
      { wallet, price: 5, toolName: "search" },
    );

  describe.each(["unary", "stream"] as const)(
    "an authorize applied but unanswered (%s)",
    (mode) => {
      it("is voided under the call's own ids, the error propagates, and a retry is charged once", async () => {
        // Every attempt of the client's (default 4) is applied, none answered.
        const { wallet, watch } = await faulty("authorize", 4, true, mode);
        const runs: string[] = [];
        const search = searchOn(wallet, runs);
        await expect(search("q", { toolCallId: "a1" })).rejects.toBeInstanceOf(UnavailableError);
        expect(runs).toEqual([]);
        // 4 unanswered attempts, then one more under the same request id to learn the hold.
        expect(watch.calls).toBe(5);
        expect(await figures(wallet)).toEqual({
          available: 100n,
          totalCredits: 0n,
          callCount: 0n,
          voidedHoldCredits: 5n,
          voidedHoldCount: 1n,
        });
        expect((await wallet.refresh()).held).toBe(0n);
        // The framework's retry of the call: attempt #2, run and charged once.
        expect(await search("q", { toolCallId: "a1" })).toBe("results for q");
        expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
          ["VOID", 5n, `search:a1:${fp.q}:void`],
          ["CAPTURE", 5n, `search:a1:${fp.q}#2:capture`],
        ]);
      });

      it("without a call id (random base) it is voided too", async () => {
        const { wallet } = await faulty("authorize", 4, true, mode);
        const runs: string[] = [];
        await expect(searchOn(wallet, runs)("q")).rejects.toBeInstanceOf(UnavailableError);
        expect(runs).toEqual([]);
        const voided = await lines(wallet);
        expect(voided.map((l) => [l.kind, l.amount])).toEqual([["VOID", 5n]]);
        expect(voided[0]?.requestId).toMatch(/^[0-9a-f-]{36}:void$/);
        expect((await wallet.refresh()).held).toBe(0n);
      });
    },
  );

  it("an authorize never applied: the clean-up holds and voids at once, nothing charged", async () => {
    const { wallet, watch } = await faulty("authorize", 4, false);
    await expect(searchOn(wallet, [])("q", { toolCallId: "a2" })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(watch.calls).toBe(5);
    expect(await figures(wallet)).toMatchObject({ available: 100n, voidedHoldCount: 1n });
    expect((await lines(wallet)).map((l) => l.requestId)).toEqual([`search:a2:${fp.q}:void`]);
  });

  it("a capture unanswered past the client's retries is retried: the result is kept and paid", async () => {
    // Applied but unanswered 5 times: the client's 2 attempts, then 2 more rounds and one more.
    const { wallet, watch } = await faulty("capture", 5, true, "unary", quickRetries);
    const runs: string[] = [];
    expect(await searchOn(wallet, runs)("q", { toolCallId: "c1" })).toBe("results for q");
    expect(runs).toEqual(["q"]);
    expect(watch.calls).toBe(6);
    expect(await figures(wallet)).toEqual({
      available: 95n,
      totalCredits: 5n,
      callCount: 1n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
    expect((await lines(wallet)).map((l) => [l.kind, l.requestId])).toEqual([
      ["CAPTURE", `search:c1:${fp.q}:capture`],
    ]);
  });

  it("a capture that stays unavailable gives up after 4 rounds; the hold stays for a retry", async () => {
    const { wallet, watch } = await faulty("capture", 1000, false, "unary", quickRetries);
    const runs: string[] = [];
    await expect(searchOn(wallet, runs)("q", { toolCallId: "c2" })).rejects.toBeInstanceOf(
      UnavailableError,
    );
    expect(runs).toEqual(["q"]);
    // 4 rounds of the client's 2 attempts, all under one request id.
    expect(watch.calls).toBe(8);
    expect(await wallet.refresh()).toMatchObject({ held: 5n, available: 95n, spent: 0n });
    expect(await lines(wallet)).toEqual([]);
  });

  it("a cost of 0 whose void fails still returns the result, with a warning", async () => {
    const { wallet } = await faulty("void", 1000, false, "unary", quickRetries);
    const llm = withBudget(async (_p: string, _ctx?: Ctx) => ({ tokens: 0 }), {
      wallet,
      maxPrice: 50,
      cost: (r) => r.tokens,
      toolName: "llm",
    });
    let result: unknown;
    const codes = await warningCodes(async () => {
      result = await llm("p", { toolCallId: "l0" });
    });
    expect(result).toEqual({ tokens: 0 });
    expect(codes).toEqual(["TOLLGATE_VOID_FAILED"]);
    // Left to expire: reserved, never charged.
    expect(await wallet.refresh()).toMatchObject({ held: 50n, available: 50n, spent: 0n });
  });
});
