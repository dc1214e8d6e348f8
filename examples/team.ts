/**
 * `npm run example:team` (also `npm run demo`): a researcher / writer / critic team under one
 * 1000-credit task wallet (the reference article's second pattern, in TypeScript with the Vercel
 * AI SDK).
 *
 * The task wallet carves out 400 / 300 / 150 for the three roles and keeps 150 unallocated, which
 * the lead spends on planning. The team works in rounds until its budgets stop it: each role's
 * agent loop ends when its own wallet cannot pay its tool, a refused call tells the model
 * `PAYMENT_LIMIT_REACHED: ...`, and the run ends cleanly once the task wallet is exhausted (the
 * reference's `task_wallet.is_exhausted()` termination condition). Then it prints the per-role
 * breakdown from the task's receipt.
 *
 * Each role's paid tool is a call to a paid API through tollgate's gateway, on the role's own
 * agent key: bound to the role's wallet and its one service, so the agents hold no upstream key
 * and none can spend beyond its wallet (examples/support/connect.ts). The gateway charges the
 * catalog's price per call and refuses one the wallet cannot pay, which the model is told as
 * `PAYMENT_LIMIT_REACHED: ...`.
 *
 * Models are scripted, so this runs offline. Env: TOLLGATE_ADDRESS (default: an embedded
 * in-memory server with its gateway, a catalog and a local paid API), TOLLGATE_API_KEY,
 * TOLLGATE_GATEWAY_URL (an external server's gateway; without it, an external server's tools
 * charge their wallets directly), TOLLGATE_MODE=stream to charge over the SpendStream.
 */
import { generateText, stepCountIs, tool } from "ai";
import { z } from "zod";
import type { Wallet } from "../client/index.js";
import { budgetTool, walletExhausted } from "../middleware/ai.js";
import { paidFetch } from "../middleware/index.js";
import { describeRun, type ExampleContext, runExample } from "./support/connect.js";
import { scriptedModel, toolResultTexts } from "./support/scripted-model.js";

/** One agent role: its wallet's budget (0 = the task wallet itself), its paid tool and price. */
interface Role {
  name: string;
  budget: number;
  tool: string;
  price: number;
  /** Tool calls the role's model makes per round, in parallel. */
  callsPerRound: number;
}

const roles: Role[] = [
  { name: "researcher", budget: 400, tool: "web_search", price: 40, callsPerRound: 3 },
  { name: "writer", budget: 300, tool: "draft", price: 50, callsPerRound: 1 },
  { name: "critic", budget: 150, tool: "review", price: 25, callsPerRound: 1 },
];
const lead = { name: "lead", tool: "plan", price: 25, callsPerRound: 1 };
const taskBudget = 1000;
const maxRounds = 20;

/** The paid API's answer to one call of `tool` (through the gateway: the API's key is added there). */
async function callPaidApi(tool: string, topic: string): Promise<string> {
  const response = await paidFetch(`/${tool}?topic=${encodeURIComponent(topic)}`);
  if (!response.ok) throw new Error(`${tool} failed: HTTP ${response.status}`);
  return ((await response.json()) as { result: string }).result;
}

/**
 * One round of one role: a short agent loop whose tool is paid from `wallet`, through the gateway
 * (`viaGateway`: the catalog sets the price, which `price` repeats for the stop condition) or
 * charged directly.
 */
async function runRole(
  role: Omit<Role, "budget">,
  wallet: Wallet,
  round: number,
  viaGateway: boolean,
): Promise<string[]> {
  const paidTool = budgetTool(
    tool({
      description: `${role.tool} for the ${role.name}`,
      inputSchema: z.object({ topic: z.string() }),
      execute: viaGateway
        ? ({ topic }) => callPaidApi(role.tool, topic)
        : async ({ topic }) => `${role.tool} done on ${topic}`,
    }),
    {
      wallet,
      price: role.price,
      toolName: role.tool,
      metadata: { agent: role.name },
      gateway: viaGateway ? role.tool : undefined,
    },
  );
  const model = scriptedModel((prompt) => {
    const results = toolResultTexts(prompt);
    if (results.length > 0) return { text: results.join(" | ") };
    const toolCalls = Array.from({ length: role.callsPerRound }, (_, i) => ({
      toolCallId: `${role.name}-r${round}-${i + 1}`,
      toolName: role.tool,
      input: { topic: `round ${round}` },
    }));
    return { toolCalls };
  });
  const result = await generateText({
    model,
    tools: { [role.tool]: paidTool },
    prompt: `Round ${round}: do your part as the ${role.name}.`,
    stopWhen: [stepCountIs(2), walletExhausted(wallet)],
  });
  return result.steps.flatMap((step) =>
    step.toolResults.map((r) => (typeof r.output === "string" ? r.output : "ok")),
  );
}

async function main(context: ExampleContext): Promise<void> {
  const { tg, gateway } = context;
  console.log(`team example: ${describeRun(context)}`);
  const task = await tg.wallets.create({ name: "task", budget: taskBudget, hardCap: true });
  const members: { role: Omit<Role, "budget">; wallet: Wallet }[] = [];
  for (const role of roles) {
    const metadata = { agent: role.name };
    members.push({
      role,
      wallet: await task.createChild({ name: role.name, budget: role.budget, metadata }),
    });
  }
  members.push({ role: lead, wallet: task });
  if (gateway !== undefined) {
    // Each agent runs on its own key: its wallet's subtree and its tool's service, nothing else.
    for (const member of members) {
      member.wallet = await gateway.agentWallet(member.wallet, member.role.tool, member.role.name);
    }
  }
  await task.refresh();
  console.log(
    `task wallet: budget ${task.budget}, ${task.allocated} allocated to ${roles.length} roles, ${task.available} unallocated`,
  );

  let round = 0;
  let exhausted = await task.isExhausted();
  while (!exhausted && round < maxRounds) {
    round += 1;
    const outcomes: string[] = [];
    for (const { role, wallet } of members) {
      // The lead pays from the task wallet, which reports exhausted only when the whole
      // tree is; its own credits running out is a refusal like anyone's.
      if (role !== lead && (await wallet.isExhausted())) continue;
      const results = await runRole(role, wallet, round, gateway !== undefined);
      const paid = results.filter((r) => !r.startsWith("PAYMENT_LIMIT_REACHED")).length;
      outcomes.push(`${role.name} ${paid}/${results.length}`);
      for (const refusal of results.filter((r) => r.startsWith("PAYMENT_LIMIT_REACHED"))) {
        console.log(`  round ${round}: ${refusal}`);
      }
    }
    console.log(`round ${round}: paid calls ${outcomes.join(", ")}`);
    exhausted = await task.isExhausted();
  }
  console.log(
    exhausted
      ? `task wallet exhausted after round ${round}: run ended`
      : `stopped after ${maxRounds} rounds with credits left`,
  );

  const receipt = await task.getReceipt();
  console.log("role         budget  spent  calls  left");
  for (const child of receipt.children) {
    console.log(
      row(child.name, child.budget, child.totalCredits, child.callCount, child.available),
    );
  }
  console.log(
    row(
      "lead (task)",
      BigInt(taskBudget) - sum(receipt.children.map((c) => c.budget)),
      receipt.ownCredits,
      receipt.ownCallCount,
      receipt.available,
    ),
  );
  console.log(
    row("task total", receipt.budget, receipt.totalCredits, receipt.callCount, receipt.available),
  );
  const byRole = receipt.byAgent.map((a) => `${a.key} ${a.credits}`).join(", ");
  console.log(`by agent: ${byRole}`);
}

function row(name: string, budget: bigint, spent: bigint, calls: bigint, left: bigint): string {
  const cells = [budget, spent, calls, left].map((n, i) => String(n).padStart(i === 0 ? 6 : 7));
  return `${name.padEnd(11)}${cells.join("")}`;
}

function sum(values: bigint[]): bigint {
  return values.reduce((a, b) => a + b, 0n);
}

await runExample(
  main,
  [...roles, lead].map((r) => ({ name: r.tool, price: r.price })),
);
