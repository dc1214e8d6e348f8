import {
  type DynamicStructuredTool,
  type StructuredToolInterface,
  type ToolRunnableConfig,
  type ToolWrapperParams,
  tool,
} from "@langchain/core/tools";
import type {
  InferInteropZodInput,
  InferInteropZodOutput,
  InteropZodObject,
} from "@langchain/core/utils/types";
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
import type { Settled } from "./with-budget.js";

/**
 * LangChain.js `tool(func, fields)` with every call paid from a wallet. Request ids derive from
 * the ToolCall id (`tool.invoke({ id, name, args, type: "tool_call" })`, which is how agent
 * executors and ToolNode call tools); `config.signal` voids the hold. An `async function*` func
 * (tool events) captures when it finishes, its return value being the result. A refusal is the
 * tool's output (by default the `PAYMENT_LIMIT_REACHED: ...` text in the ToolMessage); end the
 * tool-calling loop when the wallet cannot pay any more with {@link walletExhausted}.
 *
 * Zod object schemas only (the common case); for a JSON-schema tool wrap `func` with
 * `withBudget` from `tollgate/middleware` and pass a `callContext` reading `config.toolCall?.id`.
 */
export function budgetTool<SchemaT extends InteropZodObject, O, X = string>(
  func: (input: InferInteropZodOutput<SchemaT>, config: ToolRunnableConfig) => O,
  fields: ToolWrapperParams<SchemaT> & { name: string; schema: SchemaT },
  options: BudgetOptions<InferInteropZodOutput<SchemaT>, Settled<O>, X>,
): DynamicStructuredTool<
  SchemaT,
  InferInteropZodOutput<SchemaT>,
  InferInteropZodInput<SchemaT>,
  Settled<O> | X | string
> {
  type I = InferInteropZodOutput<SchemaT>;
  const budget = resolveBudget<I, Settled<O>, X>(options, fields.name);
  const call = (input: I, config: ToolRunnableConfig | undefined): ToolInvocation<I> => ({
    input,
    toolCallId: config?.toolCall?.id,
    signal: config?.signal,
  });
  const budgeted = isAsyncGeneratorFunction(func)
    ? (input: I, config: ToolRunnableConfig) =>
        budgetedIterable(
          budget,
          call(input, config),
          () => func(input, config) as AsyncIterable<Settled<O>>,
        )
    : (input: I, config: ToolRunnableConfig) =>
        budgetedCall(budget, call(input, config), () => func(input, config) as Settled<O>);
  // tool()'s overloads cannot follow a generic schema; the runtime shape is exactly theirs.
  const created = tool(budgeted as never, fields as never) as unknown as DynamicStructuredTool<
    SchemaT,
    InferInteropZodOutput<SchemaT>,
    InferInteropZodInput<SchemaT>,
    Settled<O> | X | string
  >;
  return markTool(created, budget.binding);
}

/**
 * The condition of a LangChain.js tool-calling loop (a chat model's `bindTools(tools)`, each
 * ToolCall run with `tool.invoke(call)`): true once `wallet` cannot pay for the cheapest
 * {@link budgetTool} among `tools`, so the loop ends instead of asking the model again to read
 * refusals. Check it after the step's ToolMessages are in:
 *
 * ```ts
 * const llm = chatModel.bindTools([search]);
 * const exhausted = walletExhausted(wallet, { tools: [search] });
 * for (let step = 0; step < 20; step++) {
 *   const reply = await llm.invoke(messages);
 *   messages.push(reply);
 *   if (!reply.tool_calls?.length) break;
 *   for (const call of reply.tool_calls) messages.push(await search.invoke(call));
 *   if (await exhausted()) break;
 * }
 * ```
 *
 * With a budget of 100 and a 30-credit tool the loop ends after the third paid step; with a
 * 10-credit tool among `tools` too, it goes on while that one can be paid. A tool's price is its
 * fixed `price` or `maxPrice`; one priced from its input counts as 1 credit; a tool priced 0 is
 * left out; with no priced tool of `wallet` among them, the loop ends when the server reports
 * the wallet exhausted. Without `tools`, every budgeted tool of this process bound to the
 * wallet counts; `below` stops under a fixed number of credits instead. No round trip while the
 * balance the last charge was answered with covers the cheapest tool; a stop is confirmed with
 * one GetWallet.
 */
export function walletExhausted(
  wallet: Wallet,
  options: { tools?: readonly StructuredToolInterface[]; below?: Amount } = {},
): () => Promise<boolean> {
  return exhaustedCheck(wallet, options);
}
