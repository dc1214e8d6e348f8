/**
 * `npm run example:assistant`: one assistant agent with a paid web-search tool, capped at 200
 * credits (the reference article's first pattern, in TypeScript with the Vercel AI SDK).
 *
 * The model is scripted (it would search on every step, forever), so this runs offline; swap in
 * a real provider model and nothing else changes. Each search costs 30 credits: six fit in 200,
 * and `walletExhausted(wallet)` ends the run there, since the 20 credits left cannot pay a
 * seventh: no refused call, and not 20 steps.
 *
 * Env: TOLLGATE_ADDRESS (default: an embedded in-memory server), TOLLGATE_API_KEY,
 * TOLLGATE_MODE=stream to charge over the multiplexed SpendStream instead of unary calls.
 */
import { generateText, stepCountIs, tool } from "ai";
import { z } from "zod";
import { budgetTool, walletExhausted } from "../middleware/ai.js";
import { currentCharge } from "../middleware/index.js";
import { type ExampleContext, runExample } from "./support/connect.js";
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

/** A pretend paid search API: it would bill the credential's bearer. */
async function searchTheWeb(query: string): Promise<string[]> {
  const charge = currentCharge();
  if (charge === undefined) throw new Error("web_search ran without a charge");
  return [`https://example.com/search?q=${encodeURIComponent(query)}`];
}

async function main({ tg, where, mode }: ExampleContext): Promise<void> {
  console.log(`assistant example: ${where}, ${mode} mode`);
  const wallet = await tg.wallets.create({
    name: "assistant",
    budget: 200,
    hardCap: true,
    metadata: { example: "assistant" },
  });
  console.log(`wallet ${wallet.name}: budget ${wallet.budget}, hard cap`);

  const webSearch = budgetTool(
    tool({
      description: "Search the web; returns result links",
      inputSchema: z.object({ query: z.string() }),
      execute: async ({ query }) => ({ links: await searchTheWeb(query) }),
    }),
    { wallet, price: searchPrice, toolName: "web_search", metadata: { agent: "assistant" } },
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

await runExample(main);
