import type { StopCondition, Tool, ToolExecutionOptions, ToolSet } from "ai";
import type { Amount, Wallet } from "../client/index.js";
import {
  budgetedCall,
  budgetedIterable,
  isAsyncGeneratorFunction,
  type ToolInvocation,
} from "./budgeted-call.js";
import { type BudgetOptions, resolveBudget } from "./options.js";
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
 * goes on; end the loop with {@link walletExhausted} in `stopWhen`.
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
  return { ...tool, execute: budgeted } as Tool<I, O | X | string>;
}

/**
 * An ai@6 stop condition that ends a `generateText`/`streamText` run once `wallet` can pay for
 * nothing more (or has fewer than `below` credits): `stopWhen: [stepCountIs(20),
 * walletExhausted(wallet)]`. Checked after each step; one GetWallet round trip per check.
 */
export function walletExhausted<TOOLS extends ToolSet = ToolSet>(
  wallet: Wallet,
  options: { below?: Amount } = {},
): StopCondition<TOOLS> {
  return exhaustedCheck(wallet, options);
}
