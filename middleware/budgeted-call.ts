import { raceAbort } from "./abort.js";
import { runWithCharge } from "./charge-context.js";
import { gatewayCall, gatewayIterable } from "./gateway-route.js";
import { type OpenCharge, openCharge } from "./open-charge.js";
import type { ResolvedBudget } from "./options.js";
import { refusedResult } from "./refusal.js";

/** What a framework tells about one invocation of a tool. */
export interface ToolInvocation<I> {
  input: I;
  /** The framework's id of this tool call; its retries carry the same id. */
  toolCallId?: string | undefined;
  /** The framework's cancellation of this call. */
  signal?: AbortSignal | undefined;
}

/**
 * Runs a tool that returns one result: charge (or hold) first, run it with the charge as
 * `currentCharge()`, then capture on success or void on a throw, an abort or a failure result.
 * An abort wins the race with the tool: the hold is voided at once and the abort reason thrown;
 * what the tool does afterwards is ignored (the framework has given up on it too).
 */
export async function budgetedCall<I, R, X>(
  budget: ResolvedBudget<I, R, X>,
  call: ToolInvocation<I>,
  run: () => R | PromiseLike<R>,
): Promise<R | X | string> {
  if (budget.gateway !== undefined) return gatewayCall(budget, call, run);
  call.signal?.throwIfAborted();
  const opened = await openCharge(budget, call.input, call.toolCallId, call.signal);
  if (opened.kind === "refused") return refusedResult(budget, opened.refusal);
  let result: R;
  try {
    // Aborted while the ledger answered: the tool must not start.
    call.signal?.throwIfAborted();
    result = await raceAbort(Promise.resolve(runWithCharge(opened.charge, run)), call.signal);
    refuseIterable(result, budget.toolName);
  } catch (error) {
    await opened.release();
    throw error;
  }
  await finish(opened, result, () => budget.isFailure(result));
  return result;
}

/**
 * A plain function that hands back an AsyncIterable has not done its work yet: capturing now
 * would bill a stream nobody has read, and a failure while it is read could never be voided.
 * Only an `async function*` can be charged as a stream (its charge comes before its first value),
 * so anything else fails loudly here and its hold is voided.
 */
function refuseIterable(result: unknown, toolName: string): void {
  if (typeof result === "object" && result !== null && Symbol.asyncIterator in result) {
    throw new TypeError(
      `${toolName} returned an AsyncIterable from a plain function; write it as an async generator function (async function* / async *execute) so its charge settles when it finishes`,
    );
  }
}

/**
 * Runs a tool that yields results (an async generator: ai@6 streams its values as preliminary
 * results, LangChain.js as tool events). Charges on the first `next()`; captures when the tool's
 * iterator finishes, voids when it throws, is aborted, or is abandoned: a consumer that calls
 * `return()` (a `break` out of `for await`). An iterator dropped without `return()` cannot be
 * seen; its hold is released when it expires.
 *
 * The call's result (for `cost` and `isFailure`) is the iterator's return value when it has one
 * (LangChain's final result), else the last value it yielded (ai@6's final result); it is also
 * what this generator returns. A refusal is yielded and returned, so it is the result either way.
 */
export async function* budgetedIterable<I, T, X>(
  budget: ResolvedBudget<I, T, X>,
  call: ToolInvocation<I>,
  start: () => AsyncIterable<T>,
): AsyncGenerator<T | X | string, T | X | string | undefined, undefined> {
  if (budget.gateway !== undefined) return yield* gatewayIterable(budget, call, start);
  call.signal?.throwIfAborted();
  const opened = await openCharge(budget, call.input, call.toolCallId, call.signal);
  if (opened.kind === "refused") {
    const refused = await refusedResult(budget, opened.refusal);
    yield refused;
    return refused;
  }
  const { charge } = opened;
  let iterator: AsyncIterator<T, T | undefined> | undefined;
  let result: T | undefined;
  let state: "running" | "finished" | "failed" = "running";
  try {
    call.signal?.throwIfAborted();
    iterator = runWithCharge(charge, () => start()[Symbol.asyncIterator]());
    const source = iterator;
    for (;;) {
      const step = await raceAbort(
        Promise.resolve(runWithCharge(charge, () => source.next())),
        call.signal,
      );
      if (step.done) {
        if (step.value !== undefined) result = step.value;
        break;
      }
      result = step.value;
      yield step.value;
    }
    state = "finished";
  } catch (error) {
    state = "failed";
    // Tell the tool to stop (after an abort it may still be running); do not wait for it.
    iterator?.return?.()?.then(undefined, () => {});
    await opened.release();
    throw error;
  } finally {
    if (state === "running") {
      // Abandoned at a `yield`: the consumer stopped reading. Stop the tool, release the hold.
      try {
        await iterator?.return?.();
      } finally {
        await opened.release();
      }
    }
  }
  await finish(opened, result as T, () => result !== undefined && budget.isFailure(result));
  return result;
}

/**
 * Settles a call whose tool returned `result`, or releases it when `failed()` (the budget's
 * `isFailure`) says so. A `failed()` that throws (a result of an unexpected shape) releases the
 * hold too before the error propagates: a broken predicate must not leave the hold reserved
 * until it expires.
 */
async function finish<R>(opened: OpenCharge<R>, result: R, failed: () => boolean): Promise<void> {
  let failure: boolean;
  try {
    failure = failed();
  } catch (error) {
    await opened.release();
    throw error;
  }
  if (failure) await opened.release();
  else await opened.settle(result);
}

/** True for `async function*` (and async generator methods): calling one runs none of its code. */
export function isAsyncGeneratorFunction(fn: unknown): boolean {
  return Object.prototype.toString.call(fn) === "[object AsyncGeneratorFunction]";
}
