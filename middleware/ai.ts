import type { StopCondition, Tool, ToolExecutionOptions, ToolSet } from "ai";
import type { Amount, Wallet } from "../client/index.js";
import {
  budgetedCall,
  budgetedIterable,
  isAsyncGeneratorFunction,
  type ToolInvocation,
} from "./budgeted-call.js";
import { type BudgetOptions, resolveBudget } from "./options.js";
import { markTool } from "./wallet-bindings.js";
import { walletExhausted as exhaustedCheck } from "./wallet-exhausted.js";

/**
 * {@link BudgetOptions} for a Vercel AI SDK tool. `toolName` is required: an ai@6 tool does not
 * know its own name (it is the key of the `tools` record), and the name goes into request ids,
 * the default `service` and the refusal message.
 */
export interface AiBudgetOptions<I, O, X> extends BudgetOptions<I, O, X> {
  toolName: string;
}

/**
 * An ai@6 `tool()` whose `execute` is paid from a wallet. Request ids derive from
 * `options.toolCallId`; `options.abortSignal` voids the hold. An `async *execute` (preliminary
 * results) captures when it finishes and voids when abandoned. A refusal becomes the tool's
 * output (by default the `PAYMENT_LIMIT_REACHED: ...` text), so the model reads it and the loop
 * goes on; end the loop when the wallet cannot pay any more with {@link walletExhausted} in
 * `stopWhen`, which knows this tool's price.
 *
 * Only `execute` changes; description, schemas and the rest are kept.
 */
export function budgetTool<I, O, X = string>(
  tool: Tool<I, O>,
  options: AiBudgetOptions<I, O, X>,
): Tool<I, O | X | string> {
  const execute = (tool as { execute?: (input: I, o: ToolExecutionOptions) => unknown }).execute;
  if (execute === undefined) {
    throw new TypeError(
      `budgetTool: ${options.toolName} has no execute (it runs on the client); nothing to charge`,
    );
  }
  const budget = resolveBudget<I, O, X>(options, undefined);
  const call = (input: I, o: ToolExecutionOptions): ToolInvocation<I> => ({
    input,
    toolCallId: o.toolCallId,
    signal: o.abortSignal,
  });
  const budgeted = isAsyncGeneratorFunction(execute)
    ? (input: I, o: ToolExecutionOptions) =>
        budgetedIterable(budget, call(input, o), () => execute(input, o) as AsyncIterable<O>)
    : (input: I, o: ToolExecutionOptions) =>
        budgetedCall(budget, call(input, o), () => execute(input, o) as O | PromiseLike<O>);
  return markTool({ ...tool, execute: budgeted }, budget.binding) as Tool<I, O | X | string>;
}

/**
 * An ai@6 stop condition that ends a `generateText`/`streamText` run once `wallet` cannot pay for
 * the cheapest {@link budgetTool} bound to it: `stopWhen: [stepCountIs(20),
 * walletExhausted(wallet)]`. With a budget of 100 and a 30-credit tool the run ends after the
 * third paid step (10 credits left), not at the step limit; with a 10-credit tool too, it goes on
 * while that one can still be paid.
 *
 * A tool's price is its fixed `price` or `maxPrice`; one priced from its input counts as 1
 * credit; a tool priced 0 is left out; with no priced tool bound to the wallet, the run ends when
 * the server reports it exhausted. `tools` (the `tools` of the run) makes only those count, for a
 * wallet whose other tools belong to other loops; `below` stops under a fixed number of credits
 * instead. Checked after each step, without a round trip while the balance the last charge was
 * answered with covers the cheapest tool; a stop is confirmed with one GetWallet.
 */
export function walletExhausted<TOOLS extends ToolSet = ToolSet>(
  wallet: Wallet,
  options: { tools?: TOOLS; below?: Amount } = {},
): StopCondition<TOOLS> {
  const { tools, below } = options;
  return exhaustedCheck(wallet, { tools: tools && Object.values(tools), below });
}
