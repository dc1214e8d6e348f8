/**
 * `npm run example:assistant`: one assistant agent with a paid web-search tool, capped at 200
 * credits (the reference article's first pattern, in TypeScript with the Vercel AI SDK).
 *
 * The model is scripted (it would search on every step, forever), so this runs offline; swap in
 * a real provider model and nothing else changes. Each search costs 30 credits: six fit in 200,
 * and `walletExhausted(wallet)` ends the run there, since the 20 credits left cannot pay a
 * seventh: no refused call, and not 20 steps.
 *
 * The search is a paid API called through tollgate's gateway on the assistant's own agent key
 * (bound to its wallet and the `web_search` service): the assistant never holds the API's key,
 * and the gateway charges the catalog's 30 credits per call (examples/support/connect.ts).
 *
 * Env: TOLLGATE_ADDRESS (default: an embedded in-memory server with its gateway, a catalog and a
 * local paid API), TOLLGATE_API_KEY, TOLLGATE_GATEWAY_URL (an external server's gateway; without
 * it, an external server's search charges the wallet directly), TOLLGATE_MODE=stream to charge
 * over the multiplexed SpendStream instead of unary calls.
 */
import { generateText, stepCountIs, tool } from "ai";
import { z } from "zod";
import { budgetTool, walletExhausted } from "../middleware/ai.js";
import { currentCharge, paidFetch } from "../middleware/index.js";
import { describeRun, type ExampleContext, runExample } from "./support/connect.js";
import { scriptedModel } from "./support/scripted-model.js";

const searchPrice = 30;
const questions = [
  "grpc-js bidi streaming back-pressure",
  "redis lua atomic debit",
  "hard budget caps for llm agents",
  "idempotency keys payment apis",
  "ed25519 jws short-lived credentials",
  "redis cluster hash tags",
  "receipts per agent attribution",
  "soft caps vs hard caps",
];

/** The paid search API through the gateway, which adds the API's key and charges the wallet. */
async function searchThroughGateway(query: string): Promise<string[]> {
  const response = await paidFetch(`/web_search?topic=${encodeURIComponent(query)}`);
  if (!response.ok) throw new Error(`web_search failed: HTTP ${response.status}`);
  const { result } = (await response.json()) as { result: string };
  return [result];
}

/** A pretend paid search API, charged directly: it would bill the credential's bearer. */
async function searchTheWeb(query: string): Promise<string[]> {
  const charge = currentCharge();
  if (charge === undefined) throw new Error("web_search ran without a charge");
  return [`https://example.com/search?q=${encodeURIComponent(query)}`];
}

async function main(context: ExampleContext): Promise<void> {
  const { tg, gateway } = context;
  console.log(`assistant example: ${describeRun(context)}`);
  const owned = await tg.wallets.create({
    name: "assistant",
    budget: 200,
    hardCap: true,
    metadata: { example: "assistant" },
  });
  console.log(`wallet ${owned.name}: budget ${owned.budget}, hard cap`);
  // The assistant runs on its own agent key (through the gateway), or on the owner's handle.
  const wallet =
    gateway === undefined ? owned : await gateway.agentWallet(owned, "web_search", "assistant");
  const search = gateway === undefined ? searchTheWeb : searchThroughGateway;

  const webSearch = budgetTool(
    tool({
      description: "Search the web; returns result links",
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => ({ links: await search(query) }),
    }),
    {
      wallet,
      price: searchPrice,
      toolName: "web_search",
      metadata: { agent: "assistant" },
      gateway: gateway === undefined ? undefined : "web_search",
    },
  );

  let asked = 0;
  const model = scriptedModel(() => {
    const query = questions[asked % questions.length] ?? "tollgate";
    asked += 1;
    return {
      toolCalls: [{ toolCallId: `search-${asked}`, toolName: "web_search", input: { query } }],
    };
  });

  const result = await generateText({
    model,
    tools: { web_search: webSearch },
    prompt: "Research how to give AI agents hard spending limits.",
    stopWhen: [stepCountIs(20), walletExhausted(wallet)],
  });
  for (const [index, step] of result.steps.entries()) {
    for (const toolResult of step.toolResults) {
      const { query } = toolResult.input as { query: string };
      const output = toolResult.output;
      const shown = typeof output === "string" ? output : "paid, 1 result";
      console.log(`  step ${index + 1}: web_search("${query}") -> ${shown}`);
    }
  }
  // The model never stops searching by itself: the wallet's stop condition ended the run.
  console.log(
    `stopped after ${result.steps.length} steps: the wallet cannot pay another ${searchPrice}-credit search`,
  );

  const receipt = await wallet.getReceipt();
  console.log(`total spent: ${receipt.totalCredits} credits in ${receipt.callCount} calls`);
  console.log(`left: ${receipt.available} credits`);
}

await runExample(main, [{ name: "web_search", price: searchPrice }]);
