import {
  type FunctionTool,
  type ToolExecuteArgument,
  type ToolInputParameters,
  type ToolOptions,
  type ToolOutputSchema,
  type ToolToFinalOutputFunction,
  tool,
} from "@openai/agents";
import type { Wallet } from "../client/index.js";
import { budgetedCall } from "./budgeted-call.js";
import { type BudgetOptions, resolveBudget } from "./options.js";
import { markTool } from "./wallet-bindings.js";
import { type WalletStop, type WalletStopOptions, walletStop } from "./wallet-stop.js";

export type { WalletStop };

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
 *
 * The model reads a refusal and may keep trying; end the run when the wallet cannot pay any
 * more with {@link stopOnWalletExhausted} as the agent's `toolUseBehavior`.
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
  const created = tool({ ...options, execute: budgeted } as never) as FunctionTool<
    Context,
    TParameters,
    unknown
  >;
  return markTool(created, resolved.binding);
}

/** Options of {@link stopOnWalletExhausted}. */
export interface StopOnWalletExhaustedOptions extends WalletStopOptions {
  /**
   * The run's final output when the wallet stops it. Default: the stop's message,
   * `PAYMENT_LIMIT_REACHED: <wallet> has <n> credits left; <tool> costs <price>`. An agent with
   * a structured `outputType` needs one that returns JSON of that type: the SDK parses it.
   */
  finalOutput?: (stop: WalletStop) => string;
}

/**
 * An Agent `toolUseBehavior` that ends the run once `wallet` cannot pay for the cheapest
 * {@link budgetTool} bound to it: `new Agent({ tools, toolUseBehavior:
 * stopOnWalletExhausted(wallet) })`. After each turn that ran tools it checks the wallet; while
 * it can pay, the model runs again with the tool results (the SDK's default, `run_llm_again`),
 * and when it cannot, the run ends with a final output (the stop message by default) instead
 * of calling the model to read refusals until `maxTurns` throws. With a budget of 100 and a
 * 30-credit tool the run ends after the third paid turn.
 *
 * A tool's price is its fixed `price` or `maxPrice`; one priced from its input counts as 1
 * credit; a tool priced 0 is left out; with no priced tool bound to the wallet, the run ends when
 * the server reports it exhausted. `tools` (e.g. the agent's `tools`) makes only those count;
 * `below` stops under a fixed number of credits instead. No round trip while the balance the
 * last charge was answered with covers the cheapest tool; a stop is confirmed with one GetWallet.
 */
export function stopOnWalletExhausted(
  wallet: Wallet,
  options: StopOnWalletExhaustedOptions = {},
): ToolToFinalOutputFunction {
  const { finalOutput, ...stopOptions } = options;
  const check = walletStop(wallet, stopOptions);
  return async () => {
    const stop = await check();
    if (stop === undefined) return { isFinalOutput: false, isInterrupted: undefined };
    return {
      isFinalOutput: true,
      isInterrupted: undefined,
      finalOutput: finalOutput === undefined ? stop.message : finalOutput(stop),
    };
  };
}
