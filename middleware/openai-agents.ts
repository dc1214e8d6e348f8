import {
  type FunctionTool,
  type ToolExecuteArgument,
  type ToolInputParameters,
  type ToolOptions,
  type ToolOutputSchema,
  tool,
} from "@openai/agents";
import { budgetedCall } from "./budgeted-call.js";
import { type BudgetOptions, resolveBudget } from "./options.js";

/** The parts of the SDK's (unexported) `ToolCallDetails` the middleware reads. */
interface CallDetails {
  toolCall?: { callId?: string };
  signal?: AbortSignal;
}

type Execute = (input: unknown, context?: unknown, details?: CallDetails) => unknown;

/**
 * OpenAI Agents SDK `tool(options)` with every call paid from a wallet. Request ids derive from
 * the model's function-call id (`details.toolCall.callId`); `details.signal` (a run's
 * cancellation, or the tool's `timeoutMs`) voids the hold.
 *
 * A refusal returns the `PAYMENT_LIMIT_REACHED: ...` text as the tool output. With
 * `onRefusal: "throw"` the SDK's `errorFunction` turns the error into its generic message
 * unless you set your own. A tool with an `outputSchema` needs an `onRefusal` fallback that
 * returns a schema-valid value, since the text would fail the SDK's output validation.
 */
export function budgetTool<
  TParameters extends ToolInputParameters = undefined,
  Context = unknown,
  TOutputSchema extends ToolOutputSchema | undefined = undefined,
  X = string,
>(
  options: ToolOptions<TParameters, Context, TOutputSchema>,
  budget: BudgetOptions<ToolExecuteArgument<TParameters>, unknown, X>,
): FunctionTool<Context, TParameters, unknown> {
  const execute = options.execute as Execute;
  const resolved = resolveBudget<ToolExecuteArgument<TParameters>, unknown, X>(
    budget,
    options.name ?? execute.name,
  );
  const budgeted: Execute = (input, context, details) =>
    budgetedCall(
      resolved,
      {
        input: input as ToolExecuteArgument<TParameters>,
        toolCallId: details?.toolCall?.callId,
        signal: details?.signal,
      },
      () => execute(input, context, details),
    );
  // tool()'s option union (strict or not, output schema or not) cannot follow these generics;
  // only `execute` changes, with the same parameters and the result type widened.
  return tool({ ...options, execute: budgeted } as never) as FunctionTool<
    Context,
    TParameters,
    unknown
  >;
}
