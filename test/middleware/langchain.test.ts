import { AIMessageChunk, HumanMessage, type ToolMessage } from "@langchain/core/messages";
import type { ToolCall } from "@langchain/core/messages/tool";
import { FakeStreamingChatModel } from "@langchain/core/utils/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { InsufficientCreditsError, type Wallet } from "../../client/index.js";
import { currentCharge } from "../../middleware/index.js";
import { budgetTool } from "../../middleware/langchain.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
} from "./fixture.js";

const toolCall = (id: string, query: string): ToolCall => ({
  id,
  name: "search",
  args: { query },
  type: "tool_call",
});

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
    behaviour: { failFirst?: boolean; hang?: boolean; onRefusal?: "throw" } = {},
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
        price: 5,
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
