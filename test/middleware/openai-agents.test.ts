import {
  Agent,
  type AgentOutputItem,
  type Model,
  type ModelRequest,
  type ModelResponse,
  Runner,
  run,
  setTracingDisabled,
  Usage,
} from "@openai/agents";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { Wallet } from "../../client/index.js";
import { currentCharge } from "../../middleware/index.js";
import { budgetTool, stopOnWalletExhausted } from "../../middleware/openai-agents.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
} from "./fixture.js";

/**
 * A Model that answers each turn from a script: function calls, then a final message; or from a
 * function of the request and the turn's number (from 1). No network.
 */
class ScriptedModel implements Model {
  readonly requests: ModelRequest[] = [];
  constructor(
    private readonly turns:
      | AgentOutputItem[][]
      | ((request: ModelRequest, turn: number) => AgentOutputItem[]),
  ) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(request);
    const output =
      typeof this.turns === "function"
        ? this.turns(request, this.requests.length)
        : (this.turns.shift() ?? [say("out of script")]);
    return { usage: new Usage(), output };
  }

  // biome-ignore lint/correctness/useYield: the scripted runs never stream.
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error("ScriptedModel does not stream");
  }
}

const callTool = (callId: string, name: string, args: unknown): AgentOutputItem => ({
  type: "function_call",
  callId,
  name,
  arguments: JSON.stringify(args),
  status: "completed",
});

const say = (text: string): AgentOutputItem => ({
  type: "message",
  role: "assistant",
  status: "completed",
  content: [{ type: "output_text", text }],
});

/** What the model was sent back for `callId` in a later turn (the tool's output, as the model sees it). */
function outputSentFor(model: ScriptedModel, callId: string): unknown {
  for (const request of model.requests) {
    if (typeof request.input === "string") continue;
    for (const item of request.input) {
      if (item.type === "function_call_result" && item.callId === callId) return item.output;
    }
  }
  return undefined;
}

describe.each(stores)("OpenAI Agents SDK ($name store)", ({ open }) => {
  let f: Fixture;
  let wallet: Wallet;
  let ran: string[];

  beforeAll(() => setTracingDisabled(true));
  beforeEach(async () => {
    f = await startFixture(open());
    wallet = await f.wallet(7, "agents-run");
    ran = [];
  });
  afterEach(() => f.close());

  const search = (
    w: Wallet,
    extra: { fail?: boolean; hang?: boolean; timeoutMs?: number; price?: number } = {},
  ) =>
    budgetTool(
      {
        name: "search",
        description: "Search the web",
        parameters: z.object({ query: z.string() }),
        ...(extra.timeoutMs === undefined ? {} : { timeoutMs: extra.timeoutMs }),
        execute: async ({ query }) => {
          ran.push(query);
          if (extra.fail) throw new Error("backend down");
          if (extra.hang) await new Promise(() => {});
          return `hits for ${query} (credential ${currentCharge()?.credential ? "present" : "missing"})`;
        },
      },
      { wallet: w, price: extra.price ?? 5, metadata: { agent: "researcher" } },
    );

  const lookup = (w: Wallet) =>
    budgetTool(
      {
        name: "lookup",
        description: "Look a term up",
        parameters: z.object({ query: z.string() }),
        execute: async ({ query }) => {
          ran.push(`lookup ${query}`);
          return `${query}: defined`;
        },
      },
      { wallet: w, price: 10 },
    );

  it("toolUseBehavior: stopOnWalletExhausted(wallet): budget 100, a 30-credit tool ends the run after 3 paid turns", async () => {
    const hundred = await f.wallet(100, "agents-100");
    // A model that would search forever: only the budget (or maxTurns, which throws) ends it.
    const model = new ScriptedModel((_, turn) => [
      callTool(`fc-${turn}`, "search", { query: `q${turn}` }),
    ]);
    const agent = new Agent({
      name: "researcher",
      instructions: "search",
      model,
      tools: [search(hundred, { price: 30 })],
      toolUseBehavior: stopOnWalletExhausted(hundred),
    });
    const result = await run(agent, "research tollgate", { maxTurns: 20 });
    expect(result.finalOutput).toBe(
      "PAYMENT_LIMIT_REACHED: agents-100 has 10 credits left; search costs 30",
    );
    expect(model.requests).toHaveLength(3);
    expect(ran).toEqual(["q1", "q2", "q3"]);
    expect(await figures(hundred)).toEqual({
      available: 10n,
      totalCredits: 90n,
      callCount: 3n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
  });

  it("stopOnWalletExhausted: a cheaper second tool keeps the run going until neither can be paid", async () => {
    const w = await f.wallet(105, "two-tools");
    // Searches until a search is refused, then looks things up instead, forever.
    const model = new ScriptedModel((request, turn) => [
      JSON.stringify(request.input).includes("PAYMENT_LIMIT_REACHED")
        ? callTool(`fc-${turn}`, "lookup", { query: `t${turn}` })
        : callTool(`fc-${turn}`, "search", { query: `q${turn}` }),
    ]);
    const agent = new Agent({
      name: "researcher",
      instructions: "search",
      model,
      tools: [search(w, { price: 30 }), lookup(w)],
      toolUseBehavior: stopOnWalletExhausted(w, {
        finalOutput: (stop) => `out of budget: ${stop.available} credits left in ${stop.wallet}`,
      }),
    });
    const result = await run(agent, "research", { maxTurns: 20 });
    expect(result.finalOutput).toBe("out of budget: 5 credits left in two-tools");
    // 15 credits after three searches: the fourth is refused, a 10-credit lookup still fits.
    expect(ran).toEqual(["q1", "q2", "q3", "lookup t5"]);
    expect(outputSentFor(model, "fc-4")).toMatchObject({
      text: "PAYMENT_LIMIT_REACHED: two-tools has 15 credits left; search costs 30",
    });
    expect(model.requests).toHaveLength(5);
    expect(await figures(w)).toMatchObject({ available: 5n, totalCredits: 100n, callCount: 4n });
  });

  it("run(agent, input): each function call is charged under its callId", async () => {
    const big = await f.wallet(20, "big");
    const model = new ScriptedModel([
      [callTool("fc-1", "search", { query: "one" })],
      [callTool("fc-2", "search", { query: "two" })],
      [say("two searches done")],
    ]);
    const agent = new Agent({
      name: "researcher",
      instructions: "search",
      model,
      tools: [search(big)],
    });
    const result = await run(agent, "research tollgate");
    expect(result.finalOutput).toBe("two searches done");
    expect(ran).toEqual(["one", "two"]);
    expect(outputSentFor(model, "fc-1")).toMatchObject({
      text: "hits for one (credential present)",
    });
    expect(await figures(big)).toEqual({
      available: 10n,
      totalCredits: 10n,
      callCount: 2n,
      voidedHoldCredits: 0n,
      voidedHoldCount: 0n,
    });
    expect((await lines(big)).map((l) => [l.kind, l.requestId, l.metadata])).toEqual([
      ["CAPTURE", `search:fc-1:${fp.queryOne}:capture`, { agent: "researcher" }],
      ["CAPTURE", `search:fc-2:${fp.queryTwo}:capture`, { agent: "researcher" }],
    ]);
  });

  it("a Runner with the scripted model: the refused call's output is the reference message", async () => {
    const model = new ScriptedModel([
      [callTool("fc-1", "search", { query: "one" })],
      [callTool("fc-2", "search", { query: "two" })],
      [say("out of budget")],
    ]);
    const agent = new Agent({
      name: "researcher",
      instructions: "search",
      tools: [search(wallet)],
    });
    const result = await new Runner({ model, tracingDisabled: true }).run(agent, "research");
    expect(result.finalOutput).toBe("out of budget");
    expect(ran).toEqual(["one"]);
    expect(outputSentFor(model, "fc-2")).toMatchObject({
      text: "PAYMENT_LIMIT_REACHED: agents-run has 2 credits left; search costs 5",
    });
    expect(await figures(wallet)).toMatchObject({ available: 2n, callCount: 1n });
  });

  it("a tool that throws is reported to the model by the SDK and not charged", async () => {
    const model = new ScriptedModel([
      [callTool("fc-err", "search", { query: "x" })],
      [say("it failed")],
    ]);
    const agent = new Agent({
      name: "researcher",
      instructions: "search",
      model,
      tools: [search(wallet, { fail: true })],
    });
    const result = await run(agent, "research");
    expect(result.finalOutput).toBe("it failed");
    expect(ran).toEqual(["x"]);
    expect(await figures(wallet)).toEqual({
      available: 7n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 5n,
      voidedHoldCount: 1n,
    });
    expect((await lines(wallet)).map((l) => l.requestId)).toEqual([
      `search:fc-err:${fp.queryX}:void`,
    ]);
  });

  it("the tool's timeoutMs aborts details.signal: the hold is voided", async () => {
    const model = new ScriptedModel([
      [callTool("fc-slow", "search", { query: "slow" })],
      [say("timed out")],
    ]);
    const agent = new Agent({
      name: "researcher",
      instructions: "search",
      model,
      tools: [search(wallet, { hang: true, timeoutMs: 100 })],
    });
    const result = await run(agent, "research");
    expect(result.finalOutput).toBe("timed out");
    expect(await figures(wallet)).toEqual({
      available: 7n,
      totalCredits: 0n,
      callCount: 0n,
      voidedHoldCredits: 5n,
      voidedHoldCount: 1n,
    });
  });
});
