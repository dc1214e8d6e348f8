import { generateText, stepCountIs, tool } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Wallet } from "../../client/index.js";
import { budgetTool, walletExhausted } from "../../middleware/ai.js";
import { currentCharge } from "../../middleware/index.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
} from "./fixture.js";

/** The provider-spec result types, read off the mock (`@ai-sdk/provider` is not a direct dependency). */
type LanguageModelV3GenerateResult = Awaited<ReturnType<MockLanguageModelV3["doGenerate"]>>;
type LanguageModelV3Content = LanguageModelV3GenerateResult["content"][number];

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

function step(content: LanguageModelV3Content[]): LanguageModelV3GenerateResult {
  const calls = content.some((c) => c.type === "tool-call");
  return {
    content,
    finishReason: { unified: calls ? "tool-calls" : "stop", raw: undefined },
    usage,
    warnings: [],
  };
}

const callSearch = (id: string, query = "tollgate"): LanguageModelV3Content => ({
  type: "tool-call",
  toolCallId: id,
  toolName: "search",
  input: JSON.stringify({ query }),
});

/** A model that calls `search` on every step, forever: only a stop condition ends its run. */
function searchForever() {
  let n = 0;
  return new MockLanguageModelV3({
    doGenerate: async () => {
      n += 1;
      return step([callSearch(`call-${n}`)]);
    },
  });
}

describe.each(stores)("Vercel AI SDK ai@6 ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;
  let searches: string[];

  const search = (w: Wallet, price = 5) =>
    budgetTool(
      tool({
        description: "Search the web",
        inputSchema: z.object({ query: z.string() }),
        execute: async ({ query }) => {
          searches.push(query);
          return { hits: [`${query} result`], credential: currentCharge()?.credential };
        },
      }),
      { wallet: w, price, toolName: "search", metadata: { agent: "researcher" } },
    );

  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(15, "research-run");
    searches = [];
  });
  afterEach(() => f.close());

  it("charges each tool call of a generateText run under its toolCallId", async () => {
    const model = new MockLanguageModelV3({
      doGenerate: [
        step([callSearch("call-a", "one"), callSearch("call-b", "two")]),
        step([{ type: "text", text: "done" }]),
      ],
    });
    const result = await generateText({
      model,
      tools: { search: search(wallet) },
      prompt: "research",
      stopWhen: stepCountIs(5),
    });
    expect(result.text).toBe("done");
    expect(searches.sort()).toEqual(["one", "two"]);
    const outputs = result.steps[0]?.toolResults.map((r) => r.output as { hits: string[] });
    expect(outputs?.map((o) => o.hits[0]).sort()).toEqual(["one result", "two result"]);
    expect(await figures(wallet)).toEqual({
      available: 5n,
      totalCredits: 10n,
      callCount: 2n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
    expect((await lines(wallet)).map((l) => l.requestId).sort()).toEqual([
      `search:call-a:${fp.queryOne}:capture`,
      `search:call-b:${fp.queryTwo}:capture`,
    ]);
    expect((await wallet.getReceipt()).byAgent).toEqual([
      { key: "researcher", credits: 10n, callCount: 2n },
    ]);
  });

  it("stopWhen: [stepCountIs(20), walletExhausted(wallet)] ends the run when the wallet is spent", async () => {
    const model = searchForever();
    const result = await generateText({
      model,
      tools: { search: search(wallet) },
      prompt: "research forever",
      stopWhen: [stepCountIs(20), walletExhausted(wallet)],
    });
    // 15 credits, 5 per search: three steps, then the wallet is exhausted and the run ends.
    expect(result.steps).toHaveLength(3);
    expect(model.doGenerateCalls).toHaveLength(3);
    expect(await figures(wallet)).toEqual({
      available: 0n,
      totalCredits: 15n,
      callCount: 3n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
  });

  it("README: budget 100, a 30-credit tool: the run ends after 3 paid steps, not at stepCountIs(20)", async () => {
    const hundred = await f.wallet(100, "readme");
    const model = searchForever();
    const gets = () => f.methods.filter((m) => m === "GetWallet").length;
    const result = await generateText({
      model,
      tools: { search: search(hundred, 30) },
      prompt: "research forever",
      stopWhen: [stepCountIs(20), walletExhausted(hundred)],
    });
    // 10 credits left is not exhausted, but it cannot pay a 30-credit search: no refused step.
    expect(result.steps).toHaveLength(3);
    expect(model.doGenerateCalls).toHaveLength(3);
    expect(searches).toHaveLength(3);
    // The charges' answers told the balance; only the stop itself was confirmed by a GetWallet.
    expect(gets()).toBe(1);
    expect(await figures(hundred)).toEqual({
      available: 10n,
      totalCredits: 90n,
      callCount: 3n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
  });

  it("walletExhausted(wallet): a cheaper second tool keeps the run going until neither can be paid", async () => {
    const w = await f.wallet(105, "two-tools");
    const lookup = budgetTool(
      tool({
        inputSchema: z.object({ query: z.string() }),
        execute: async ({ query }) => `looked up ${query}`,
      }),
      { wallet: w, price: 10, toolName: "lookup" },
    );
    // Searches until a search is refused, then looks things up instead, forever.
    let n = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async ({ prompt }) => {
        n += 1;
        const refused = JSON.stringify(prompt).includes("PAYMENT_LIMIT_REACHED");
        return step([
          refused
            ? {
                type: "tool-call",
                toolCallId: `l-${n}`,
                toolName: "lookup",
                input: '{"query":"x"}',
              }
            : callSearch(`s-${n}`),
        ]);
      },
    });
    const result = await generateText({
      model,
      tools: { search: search(w, 30), lookup },
      prompt: "research",
      stopWhen: [stepCountIs(20), walletExhausted(w)],
    });
    expect(result.steps.map((s) => [s.toolCalls[0]?.toolName, s.toolResults[0]?.output])).toEqual([
      ["search", { hits: ["tollgate result"], credential: expect.any(String) }],
      ["search", { hits: ["tollgate result"], credential: expect.any(String) }],
      ["search", { hits: ["tollgate result"], credential: expect.any(String) }],
      // 15 credits: not a search, but a lookup; the run goes on.
      ["search", "PAYMENT_LIMIT_REACHED: two-tools has 15 credits left; search costs 30"],
      ["lookup", "looked up x"],
    ]);
    expect(await figures(w)).toMatchObject({ available: 5n, totalCredits: 100n, callCount: 4n });
  });

  it("walletExhausted(wallet, { tools }) counts only the run's tools, not another loop's on the wallet", async () => {
    const shared = await f.wallet(100, "shared");
    const web = search(shared, 30);
    const otherLoops = budgetTool(
      tool({ inputSchema: z.object({ query: z.string() }), execute: async () => "looked up" }),
      { wallet: shared, price: 10, toolName: "lookup" },
    );
    const result = await generateText({
      model: searchForever(),
      tools: { search: web },
      prompt: "research",
      stopWhen: [stepCountIs(20), walletExhausted(shared, { tools: { search: web } })],
    });
    expect(result.steps).toHaveLength(3);
    // The other loop's 10-credit lookup could still be paid: only `tools` ended this run.
    const execute = otherLoops.execute as (i: { query: string }, o: object) => Promise<string>;
    expect(await execute({ query: "x" }, { toolCallId: "other-1", messages: [] })).toBe(
      "looked up",
    );
    expect((await figures(shared)).available).toBe(0n);
  });

  it("walletExhausted(wallet) stops a run whose tool charges over the SpendStream (a handle of its own)", async () => {
    const w = await f.wallet(100, "streamed");
    const streamed = budgetTool(
      tool({ inputSchema: z.object({ query: z.string() }), execute: async () => "found" }),
      { wallet: w, price: 30, toolName: "search", mode: "stream" },
    );
    const result = await generateText({
      model: searchForever(),
      tools: { search: streamed },
      prompt: "research",
      stopWhen: [stepCountIs(20), walletExhausted(w)],
    });
    expect(result.steps).toHaveLength(3);
    expect((await figures(w)).available).toBe(10n);
  });

  it("walletExhausted(wallet): credits spent elsewhere end the run after one refused step", async () => {
    const w = await f.wallet(100, "drained");
    const elsewhere = await f.client.wallets.get(w.id);
    let n = 0;
    const model = new MockLanguageModelV3({
      doGenerate: async () => {
        n += 1;
        // Another agent spends 60 behind this run's back before its second step.
        if (n === 2) await elsewhere.spend(60, { service: "elsewhere" });
        return step([callSearch(`call-${n}`)]);
      },
    });
    const result = await generateText({
      model,
      tools: { search: search(w, 30) },
      prompt: "research",
      stopWhen: [stepCountIs(20), walletExhausted(w)],
    });
    expect(result.steps.map((s) => s.toolResults[0]?.output)).toEqual([
      { hits: ["tollgate result"], credential: expect.any(String) },
      "PAYMENT_LIMIT_REACHED: drained has 10 credits left; search costs 30",
    ]);
  });

  it("walletExhausted(wallet, { below }) stops once the cheapest call no longer fits", async () => {
    const small = await f.wallet(12, "small");
    const result = await generateText({
      model: searchForever(),
      tools: { search: search(small) },
      prompt: "research",
      stopWhen: [stepCountIs(20), walletExhausted(small, { below: 5 })],
    });
    expect(result.steps).toHaveLength(2);
    expect((await figures(small)).available).toBe(2n);
  });

  it("without the stop condition the model reads the refusal and the run goes on to its step limit", async () => {
    const small = await f.wallet(7, "small");
    const model = searchForever();
    const result = await generateText({
      model,
      tools: { search: search(small) },
      prompt: "research",
      stopWhen: stepCountIs(3),
    });
    expect(result.steps).toHaveLength(3);
    expect(result.steps.map((s) => s.toolResults[0]?.output)).toEqual([
      { hits: ["tollgate result"], credential: expect.any(String) },
      "PAYMENT_LIMIT_REACHED: small has 2 credits left; search costs 5",
      "PAYMENT_LIMIT_REACHED: small has 2 credits left; search costs 5",
    ]);
    // The refusal went back to the model in the next prompt.
    expect(JSON.stringify(model.doGenerateCalls[2]?.prompt)).toContain(
      "PAYMENT_LIMIT_REACHED: small has 2 credits left; search costs 5",
    );
    expect(searches).toEqual(["tollgate"]);
    expect(await figures(small)).toMatchObject({ available: 2n, callCount: 1n });
  });

  it("a tool that throws becomes a tool error for the model and is not charged", async () => {
    const broken = budgetTool(
      tool({
        inputSchema: z.object({ query: z.string() }),
        execute: async (): Promise<string> => {
          throw new Error("search backend down");
        },
      }),
      { wallet, price: 5, toolName: "search" },
    );
    const result = await generateText({
      model: new MockLanguageModelV3({
        doGenerate: [step([callSearch("call-x")]), step([{ type: "text", text: "sorry" }])],
      }),
      tools: { search: broken },
      prompt: "q",
      stopWhen: stepCountIs(5),
    });
    expect(result.text).toBe("sorry");
    expect(result.steps[0]?.content.find((c) => c.type === "tool-error")).toMatchObject({
      toolCallId: "call-x",
    });
    expect(await figures(wallet)).toEqual({
      available: 15n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 5n,
      voidedHoldCount: 1n,
    });
    expect((await lines(wallet)).map((l) => l.requestId)).toEqual([
      `search:call-x:${fp.queryTollgate}:void`,
    ]);
  });

  it("an async *execute tool (preliminary results) captures its cost when it finishes", async () => {
    const crawl = budgetTool(
      tool({
        inputSchema: z.object({ pages: z.number() }),
        async *execute({ pages }) {
          for (let done = 1; done <= pages; done++) yield { done };
        },
      }),
      { wallet, maxPrice: 10, cost: (last) => last.done * 2, toolName: "crawl" },
    );
    const result = await generateText({
      model: new MockLanguageModelV3({
        doGenerate: [
          step([{ type: "tool-call", toolCallId: "c1", toolName: "crawl", input: '{"pages":3}' }]),
          step([{ type: "text", text: "crawled" }]),
        ],
      }),
      tools: { crawl },
      prompt: "crawl",
      stopWhen: stepCountIs(5),
    });
    expect(result.steps[0]?.toolResults[0]?.output).toEqual({ done: 3 });
    expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
      ["CAPTURE", 6n, `crawl:c1:${fp.pages3}:capture`],
    ]);
  });

  it("abortSignal: aborting the run while a tool runs voids its hold", async () => {
    const controller = new AbortController();
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const slow = budgetTool(
      tool({
        inputSchema: z.object({ query: z.string() }),
        execute: async () => {
          started();
          return new Promise<string>(() => {});
        },
      }),
      { wallet, price: 5, toolName: "search" },
    );
    const run = generateText({
      model: new MockLanguageModelV3({ doGenerate: [step([callSearch("call-slow")])] }),
      tools: { search: slow },
      prompt: "q",
      abortSignal: controller.signal,
    });
    await running;
    const reason = new Error("user left");
    controller.abort(reason);
    // ai@6 reports a tool that rejects (here with the abort reason) as a tool error of the step.
    const result = await run;
    expect(result.steps[0]?.content.find((c) => c.type === "tool-error")).toMatchObject({
      toolCallId: "call-slow",
      error: reason,
    });
    expect(await figures(wallet)).toEqual({
      available: 15n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 5n,
      voidedHoldCount: 1n,
    });
  });

  it("refuses to wrap a tool without execute", () => {
    const clientSide = tool({ inputSchema: z.object({ q: z.string() }) });
    expect(() => budgetTool(clientSide, { wallet, price: 1, toolName: "ask_user" })).toThrow(
      TypeError,
    );
  });
});
