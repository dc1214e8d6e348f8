import {
  type DynamicStructuredTool,
  type ToolRunnableConfig,
  type ToolWrapperParams,
  tool,
} from "@langchain/core/tools";
import type {
  InferInteropZodInput,
  InferInteropZodOutput,
  InteropZodObject,
} from "@langchain/core/utils/types";
import {
  budgetedCall,
  budgetedIterable,
  isAsyncGeneratorFunction,
  type ToolInvocation,
} from "./budgeted-call.js";
import { type BudgetOptions, resolveBudget } from "./options.js";
import type { Settled } from "./with-budget.js";

/**
 * LangChain.js `tool(func, fields)` with every call paid from a wallet. Request ids derive from
 * the ToolCall id (`tool.invoke({ id, name, args, type: "tool_call" })`, which is how agent
 * executors and ToolNode call tools); `config.signal` voids the hold. An `async function*` func
 * (tool events) captures when it finishes, its return value being the result. A refusal is the
 * tool's output (by default the `PAYMENT_LIMIT_REACHED: ...` text in the ToolMessage).
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
  return tool(budgeted as never, fields as never) as unknown as DynamicStructuredTool<
    SchemaT,
    InferInteropZodOutput<SchemaT>,
    InferInteropZodInput<SchemaT>,
    Settled<O> | X | string
  >;
}
