import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import {
  AIMessage,
  AIMessageChunk,
  type BaseMessage,
  HumanMessage,
  ToolMessage,
} from "@langchain/core/messages";
import type { ToolCall } from "@langchain/core/messages/tool";
import type { ChatResult } from "@langchain/core/outputs";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { FakeStreamingChatModel } from "@langchain/core/utils/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { InsufficientCreditsError, type Wallet } from "../../client/index.js";
import { currentCharge } from "../../middleware/index.js";
import { budgetTool, walletExhausted } from "../../middleware/langchain.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
} from "./fixture.js";

const toolCall = (id: string, query: string, name = "search"): ToolCall => ({
  id,
  name,
  args: { query },
  type: "tool_call",
});

/**
 * A chat model that answers every call with the tool calls a function of the conversation picks
 * (new ids each time, as a real model's). No network; `bindTools` only records the tools.
 */
class ScriptedChatModel extends BaseChatModel {
  calls = 0;
  bound: string[] = [];
  constructor(private readonly next: (messages: BaseMessage[], call: number) => ToolCall[]) {
    super({});
  }

  _llmType(): string {
    return "scripted";
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    this.calls += 1;
    const message = new AIMessage({ content: "", tool_calls: this.next(messages, this.calls) });
    return { generations: [{ text: "", message }] };
  }

  override bindTools(tools: StructuredToolInterface[]) {
    this.bound = tools.map((t) => t.name);
    return this;
  }
}

/**
 * The tool-calling loop of the LangChain.js docs: invoke the model with the tools bound, run each
 * ToolCall, feed the ToolMessages back; end when the model calls no tool, `stop()` says so after
 * a step, or at `maxSteps`. Returns the contents of each step's ToolMessages.
 */
async function toolLoop(
  model: ScriptedChatModel,
  tools: StructuredToolInterface[],
  stop: () => Promise<boolean>,
  maxSteps = 20,
): Promise<string[][]> {
  const llm = model.bindTools(tools);
  const byName = new Map(tools.map((t) => [t.name, t]));
  const messages: BaseMessage[] = [new HumanMessage("research tollgate")];
  const steps: string[][] = [];
  while (steps.length < maxSteps) {
    const reply = await llm.invoke(messages);
    messages.push(reply);
    if (!reply.tool_calls?.length) break;
    const outputs: string[] = [];
    for (const call of reply.tool_calls) {
      const message = (await byName.get(call.name)?.invoke(call)) as ToolMessage;
      messages.push(message);
      outputs.push(String(message.content));
    }
    steps.push(outputs);
    if (await stop()) break;
  }
  return steps;
}

const refusedBefore = (messages: BaseMessage[]) =>
  messages.some((m) => ToolMessage.isInstance(m) && String(m.content).includes("PAYMENT_LIMIT"));

describe.each(stores)("LangChain.js @langchain/core ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;
  let ran: string[];

  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(12, "lc-run");
    ran = [];
  });
  afterEach(() => f.close());

  const search = (
    w: Wallet,
    behaviour: { failFirst?: boolean; hang?: boolean; onRefusal?: "throw"; price?: number } = {},
  ) =>
    budgetTool(
      async ({ query }: { query: string }) => {
        ran.push(query);
        if (behaviour.failFirst && ran.length === 1) throw new Error("rate limited");
        if (behaviour.hang) await new Promise(() => {});
        return `hits for ${query} (${currentCharge()?.holdId ? "held" : "no hold"})`;
      },
      { name: "search", description: "Search the web", schema: z.object({ query: z.string() }) },
      {
        wallet: w,
        price: behaviour.price ?? 5,
        metadata: { agent: "researcher" },
        ...(behaviour.onRefusal ? { onRefusal: behaviour.onRefusal } : {}),
      },
    );

  it("a scripted chat model's tool calls, run as an agent executor does: charged per ToolCall id", async () => {
    const tools = [search(wallet)];
    const model = new FakeStreamingChatModel({
      chunks: [
        new AIMessageChunk({
          content: "",
          tool_calls: [toolCall("tc-1", "one"), toolCall("tc-2", "two"), toolCall("tc-3", "three")],
        }),
      ],
    }).bindTools(tools);
    const ai = await model.invoke([new HumanMessage("research tollgate")]);
    expect(ai.tool_calls?.map((c) => c.id)).toEqual(["tc-1", "tc-2", "tc-3"]);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    const results: ToolMessage[] = [];
    for (const call of ai.tool_calls ?? []) {
      results.push((await byName[call.name]?.invoke(call as ToolCall)) as ToolMessage);
    }
    expect(results.map((m) => [m.tool_call_id, m.content])).toEqual([
      ["tc-1", "hits for one (held)"],
      ["tc-2", "hits for two (held)"],
      ["tc-3", "PAYMENT_LIMIT_REACHED: lc-run has 2 credits left; search costs 5"],
    ]);
    expect(ran).toEqual(["one", "two"]);
    expect(await figures(wallet)).toEqual({
      available: 2n,
      totalCredits: 10n,
      callCount: 2n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
    expect((await lines(wallet)).map((l) => [l.requestId, l.metadata])).toEqual([
      [`search:tc-1:${fp.queryOne}:capture`, { agent: "researcher" }],
      [`search:tc-2:${fp.queryTwo}:capture`, { agent: "researcher" }],
    ]);
  });

  it("walletExhausted(wallet, { tools }) ends a bindTools loop: budget 100, a 30-credit tool, 3 paid steps", async () => {
    const hundred = await f.wallet(100, "lc-100");
    const tools = [search(hundred, { price: 30 })];
    // A model that would search forever: only the loop's condition (or its step limit) ends it.
    const model = new ScriptedChatModel((_, n) => [toolCall(`tc-${n}`, `q${n}`)]);
    const steps = await toolLoop(model, tools, walletExhausted(hundred, { tools }));
    expect(steps).toEqual([["hits for q1 (held)"], ["hits for q2 (held)"], ["hits for q3 (held)"]]);
    expect(model.calls).toBe(3);
    expect(model.bound).toEqual(["search"]);
    expect(await figures(hundred)).toEqual({
      available: 10n,
      totalCredits: 90n,
      callCount: 3n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
  });

  it("walletExhausted(wallet): a cheaper second tool keeps the loop going until neither can be paid", async () => {
    const w = await f.wallet(105, "lc-two");
    const lookup = budgetTool(
      async ({ query }: { query: string }) => `${query}: defined`,
      { name: "lookup", schema: z.object({ query: z.string() }) },
      { wallet: w, price: 10 },
    );
    // Searches until a search is refused, then looks things up instead, forever.
    const model = new ScriptedChatModel((messages, n) => [
      refusedBefore(messages) ? toolCall(`tc-${n}`, "x", "lookup") : toolCall(`tc-${n}`, `q${n}`),
    ]);
    const steps = await toolLoop(model, [search(w, { price: 30 }), lookup], walletExhausted(w));
    expect(steps).toEqual([
      ["hits for q1 (held)"],
      ["hits for q2 (held)"],
      ["hits for q3 (held)"],
      ["PAYMENT_LIMIT_REACHED: lc-two has 15 credits left; search costs 30"],
      ["x: defined"],
    ]);
    expect(await figures(w)).toMatchObject({ available: 5n, totalCredits: 100n, callCount: 4n });
  });

  it("a retried ToolCall is charged once (failure then success; success again)", async () => {
    const flaky = search(wallet, { failFirst: true });
    await expect(flaky.invoke(toolCall("tc-r", "q"))).rejects.toThrow("rate limited");
    const retried = (await flaky.invoke(toolCall("tc-r", "q"))) as ToolMessage;
    expect(retried.content).toBe("hits for q (held)");
    await flaky.invoke(toolCall("tc-r", "q"));
    expect(ran).toEqual(["q", "q", "q"]);
    expect(await figures(wallet)).toEqual({
      available: 7n,
      totalCredits: 5n,
      callCount: 1n,
      voidedHoldCredits: 5n,
      voidedHoldCount: 1n,
    });
    expect((await lines(wallet)).map((l) => [l.kind, l.requestId])).toEqual([
      ["VOID", `search:tc-r:${fp.queryQ}:void`],
      ["CAPTURE", `search:tc-r:${fp.queryQ}#2:capture`],
    ]);
  });

  it('onRefusal: "throw" rejects the invoke with InsufficientCreditsError', async () => {
    const tiny = await f.wallet(3, "tiny");
    await expect(
      search(tiny, { onRefusal: "throw" }).invoke(toolCall("tc-t", "q")),
    ).rejects.toBeInstanceOf(InsufficientCreditsError);
    expect(ran).toEqual([]);
  });

  it("config.signal aborts the call: the hold is voided", async () => {
    const controller = new AbortController();
    const pending = search(wallet, { hang: true }).invoke(toolCall("tc-a", "q"), {
      signal: controller.signal,
    });
    await new Promise<void>((resolve) => {
      const poll = () => (ran.length > 0 ? resolve() : setTimeout(poll, 5));
      poll();
    });
    controller.abort(new Error("stop"));
    await expect(pending).rejects.toThrow();
    expect(await figures(wallet)).toEqual({
      available: 12n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 5n,
      voidedHoldCount: 1n,
    });
  });

  it("an async generator func streams tool events; its return value is the result and the cost", async () => {
    const crawl = budgetTool(
      async function* ({ pages }: { pages: number }) {
        for (let page = 1; page <= pages; page++) yield page;
        return pages * 2;
      },
      { name: "crawl", schema: z.object({ pages: z.number() }) },
      { wallet, maxPrice: 10, cost: (credits) => credits },
    );
    const message = (await crawl.invoke({
      id: "tc-g",
      name: "crawl",
      args: { pages: 4 },
      type: "tool_call",
    })) as ToolMessage;
    expect(message.content).toBe("8");
    expect((await lines(wallet)).map((l) => [l.kind, l.amount, l.requestId])).toEqual([
      ["CAPTURE", 8n, `crawl:tc-g:${fp.pages4}:capture`],
    ]);
  });
});
