import {
  budgetedCall,
  budgetedIterable,
  isAsyncGeneratorFunction,
  type ToolInvocation,
} from "./budgeted-call.js";
import { type BudgetOptions, resolveBudget } from "./options.js";
import { markTool } from "./wallet-bindings.js";

/**
 * What one call of a tool settles with (what `cost` and `isFailure` get): for an async generator
 * its return value when it has one, else its last yielded value; for a plain function its
 * awaited result.
 */
export type Settled<R> =
  R extends AsyncGenerator<infer T, infer TReturn, unknown>
    ? // biome-ignore lint/suspicious/noConfusingVoidType: a generator without `return` has TReturn void.
      T | Exclude<TReturn, undefined | void>
    : R extends AsyncIterable<infer T>
      ? T
      : Awaited<R>;

/** The budgeted function's result: the tool's result or what a refusal returns instead. */
export type Budgeted<R, X> =
  R extends AsyncIterable<infer T>
    ? AsyncGenerator<T | X | string, Settled<R> | X | string | undefined, undefined>
    : Promise<Awaited<R> | X | string>;

/** Options of {@link withBudget}: {@link BudgetOptions} plus how to read a call's framework facts. */
export interface WithBudgetOptions<A extends unknown[], R, X> extends BudgetOptions<A[0], R, X> {
  /**
   * Reads the tool-call id and abort signal of a call from the tool's arguments. Default: from a
   * second argument shaped `{ toolCallId?: string; abortSignal?: AbortSignal }` (what the Vercel
   * AI SDK passes to `execute`); without it every call gets a random request id.
   */
  callContext?: (...args: A) => Omit<ToolInvocation<A[0]>, "input">;
}

/**
 * Wraps a tool function so every call is paid from `options.wallet` (see {@link BudgetOptions}):
 *
 * 1. the price (or `maxPrice`) is held, or spent when `upfront`; a refusal returns
 *    `onRefusal`'s result and the tool does not run;
 * 2. the tool runs with the charge as `currentCharge()`;
 * 3. success captures the price (or the actual `cost`); a throw or an abort voids the hold.
 *    A capture that fails UNAVAILABLE is retried under the same request id for a few more
 *    seconds than the client's own retries (it is idempotent and the work is done). If it still
 *    fails (or fails HOLD_EXPIRED for a tool that outlived `holdTtlSeconds`), the call rejects
 *    with that error rather than hand over a result nobody paid for, and the result is lost. A
 *    framework retry under the same call id and input then **runs the tool again**: on the hold
 *    left open it runs and captures once; if the lost capture had in fact been applied it runs
 *    without a charge (warning `TOLLGATE_REPLAYED_CHARGE`); after the hold expired it runs as a
 *    new attempt under a new hold.
 * 4. concurrent calls with the same call id and input run one at a time (the second waits for
 *    the first, then behaves as a retry; an abort ends its wait at once), so two runs never
 *    share one hold.
 *
 * An `async function*` tool is wrapped as one: the charge happens on its first `next()`, capture
 * when it finishes, void when it throws or is abandoned. The first argument is the tool's input.
 */
export function withBudget<A extends [unknown, ...unknown[]], R, X = string>(
  fn: (...args: A) => R,
  options: WithBudgetOptions<A, Settled<R>, X>,
): (...args: A) => Budgeted<R, X> {
  const budget = resolveBudget<A[0], Settled<R>, X>(options, fn.name);
  const context = options.callContext ?? defaultCallContext;
  if (isAsyncGeneratorFunction(fn)) {
    return markTool(
      (...args: A) =>
        budgetedIterable(budget, { ...context(...args), input: args[0] }, () =>
          (fn as unknown as (...a: A) => AsyncIterable<Settled<R>>)(...args),
        ) as Budgeted<R, X>,
      budget.binding,
    );
  }
  return markTool(
    (...args: A) =>
      budgetedCall(budget, { ...context(...args), input: args[0] }, () =>
        (fn as unknown as (...a: A) => Settled<R> | PromiseLike<Settled<R>>)(...args),
      ) as Budgeted<R, X>,
    budget.binding,
  );
}

function defaultCallContext(...args: unknown[]): Omit<ToolInvocation<unknown>, "input"> {
  const second = args[1];
  if (typeof second !== "object" || second === null) return {};
  const { toolCallId, abortSignal } = second as { toolCallId?: unknown; abortSignal?: unknown };
  return {
    toolCallId: typeof toolCallId === "string" ? toolCallId : undefined,
    signal: abortSignal instanceof AbortSignal ? abortSignal : undefined,
  };
}
