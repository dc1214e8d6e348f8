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
import { budgetTool } from "../../middleware/openai-agents.js";
import {
  type Fixture,
  figures,
  fingerprints as fp,
  lines,
  startFixture,
  stores,
} from "./fixture.js";

/** A Model that answers each turn from a script: function calls, then a final message. No network. */
class ScriptedModel implements Model {
  readonly requests: ModelRequest[] = [];
  constructor(private readonly turns: AgentOutputItem[][]) {}

  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(request);
    return { usage: new Usage(), output: this.turns.shift() ?? [say("out of script")] };
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

  const search = (w: Wallet, extra: { fail?: boolean; hang?: boolean; timeoutMs?: number } = {}) =>
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
      { wallet: w, price: 5, metadata: { agent: "researcher" } },
    );

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
