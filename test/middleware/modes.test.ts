import { afterEach, describe, expect, it } from "vitest";
import type { Wallet } from "../../client/index.js";
import { withBudget } from "../../middleware/index.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
} from "./fixture.js";

type Mode = "unary" | "stream";
type Ctx = { toolCallId?: string };

/**
 * One workload touching every settle path, run through the middleware in one mode. Returns what
 * each call answered (a value, a refusal text, or the error message).
 */
async function workload(wallet: Wallet, mode: Mode): Promise<unknown[]> {
  let scrapeRuns = 0;
  const search = withBudget(async (q: string, _ctx?: Ctx) => `results:${q}`, {
    wallet,
    mode,
    price: 5,
    toolName: "search",
    metadata: { agent: "researcher" },
  });
  const scrape = withBudget(
    async (_url: string, _ctx?: Ctx) => {
      scrapeRuns += 1;
      if (scrapeRuns === 1) throw new Error("scrape failed");
      return "page";
    },
    { wallet, mode, price: 7, toolName: "scrape" },
  );
  const llm = withBudget(async (tokens: number, _ctx?: Ctx) => ({ tokens }), {
    wallet,
    mode,
    maxPrice: 50,
    cost: (r) => r.tokens,
    toolName: "llm",
    metadata: { agent: "writer" },
  });
  const vendor = withBudget(async (_q: string, _ctx?: Ctx) => "vendor data", {
    wallet,
    mode,
    price: 9,
    upfront: true,
    toolName: "vendor",
  });
  const crawl = withBudget(
    async function* (pages: number, _ctx?: Ctx) {
      for (let i = 1; i <= pages; i++) yield i;
    },
    { wallet, mode, maxPrice: 20, cost: (last) => last * 2, toolName: "crawl" },
  );
  const deep = withBudget(async (_q: string, _ctx?: Ctx) => "never", {
    wallet,
    mode,
    price: 1000,
    toolName: "deep_search",
  });

  const answers: unknown[] = [];
  const record = async (p: Promise<unknown>) => {
    try {
      answers.push(await p);
    } catch (error) {
      answers.push(`error: ${(error as Error).message}`);
    }
  };
  const drain = async (it: AsyncIterable<unknown>, stopAt?: number) => {
    const seen: unknown[] = [];
    for await (const v of it) {
      seen.push(v);
      if (v === stopAt) break;
    }
    return seen;
  };
  await record(search("cats", { toolCallId: "c1" }));
  await record(scrape("https://a", { toolCallId: "c2" }));
  await record(scrape("https://a", { toolCallId: "c2" }));
  await record(llm(12, { toolCallId: "c3" }));
  await record(llm(0, { toolCallId: "c4" }));
  await record(vendor("q", { toolCallId: "c5" }));
  await record(drain(crawl(3, { toolCallId: "c6" })));
  await record(drain(crawl(5, { toolCallId: "c7" }), 2));
  await record(deep("q", { toolCallId: "c8" }));
  await record(search("cats", { toolCallId: "c1" }));
  return answers;
}

describe.each(stores)("unary and streaming modes ($name store)", ({ open }) => {
  let fixtures: Fixture[] = [];
  afterEach(async () => {
    await Promise.all(fixtures.map((f) => f.close()));
    fixtures = [];
  });

  it("give identical answers, balances and receipt lines for the same workload", async () => {
    const runs: Record<Mode, { answers: unknown[]; figures: unknown; lines: unknown }> = {
      unary: { answers: [], figures: undefined, lines: undefined },
      stream: { answers: [], figures: undefined, lines: undefined },
    };
    const ledgerMethods: Record<Mode, string[]> = { unary: [], stream: [] };
    for (const mode of ["unary", "stream"] as const) {
      // A fresh server per mode: the same request ids land on a fresh ledger both times.
      const f = await startFixture(open());
      fixtures.push(f);
      const wallet = await f.wallet(100, "task");
      const answers = await workload(wallet, mode);
      ledgerMethods[mode] = f.methods.filter((m) => /(Spend|Authorize|Capture|Void)$/.test(m));
      const receipt = await wallet.getReceipt();
      runs[mode] = {
        answers,
        figures: {
          ...(await figures(wallet)),
          byAgent: receipt.byAgent,
          byService: receipt.byService,
        },
        lines: await lines(wallet),
      };
    }
    expect(runs.stream).toEqual(runs.unary);
    // The modes really differ on the wire: one RPC per operation, or operations on SpendStream.
    // search; scrape fails; its retry replays the voided hold, then holds attempt #2 and captures.
    const ops = ["Authorize", "Capture", "Authorize", "Void", "Authorize", "Authorize", "Capture"];
    expect(ledgerMethods.unary.slice(0, 7)).toEqual(ops);
    expect(ledgerMethods.stream.slice(0, 7)).toEqual(ops.map((op) => `SpendStream.${op}`));
    expect(ledgerMethods.stream).toHaveLength(ledgerMethods.unary.length);

    // And the figures are the ones the workload implies, not merely equal.
    expect(runs.unary.answers).toEqual([
      "results:cats",
      "error: scrape failed",
      "page",
      { tokens: 12 },
      { tokens: 0 },
      "vendor data",
      [1, 2, 3],
      [1, 2],
      "PAYMENT_LIMIT_REACHED: task has 61 credits left; deep_search costs 1000",
      "results:cats",
    ]);
    // 5 (search) + 7 (scrape retry) + 12 (llm) + 9 (vendor) + 6 (crawl 3 pages) = 39.
    expect(runs.unary.figures).toEqual({
      available: 61n,
      totalCredits: 39n,
      callCount: 5n,
      voidedHoldCredits: 7n + 50n + 20n,
      voidedHoldCount: 3n,
      // Lines without an agent label count under the wallet's name, its role.
      byAgent: [
        { key: "task", credits: 22n, callCount: 3n },
        { key: "writer", credits: 12n, callCount: 1n },
        { key: "researcher", credits: 5n, callCount: 1n },
      ],
      byService: expect.arrayContaining([
        { key: "search", credits: 5n, callCount: 1n },
        { key: "scrape", credits: 7n, callCount: 1n },
        { key: "llm", credits: 12n, callCount: 1n },
        { key: "vendor", credits: 9n, callCount: 1n },
        { key: "crawl", credits: 6n, callCount: 1n },
      ]),
    });
    expect(
      (runs.unary.lines as { kind: string; amount: bigint; requestId: string }[]).map((l) => [
        l.kind,
        l.amount,
        l.requestId,
      ]),
    ).toEqual([
      ["CAPTURE", 5n, `search:c1:${fp.cats}:capture`],
      ["VOID", 7n, `scrape:c2:${fp.httpsA}:void`],
      ["CAPTURE", 7n, `scrape:c2:${fp.httpsA}#2:capture`],
      ["CAPTURE", 12n, `llm:c3:${fp.n12}:capture`],
      ["VOID", 50n, `llm:c4:${fp.n0}:void`],
      ["SPEND", 9n, `vendor:c5:${fp.q}:spend`],
      ["CAPTURE", 6n, `crawl:c6:${fp.n3}:capture`],
      ["VOID", 20n, `crawl:c7:${fp.n5}:void`],
    ]);
  });
});
