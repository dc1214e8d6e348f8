import { AsyncLocalStorage } from "node:async_hooks";
import { InsufficientCreditsError, WalletClosedError } from "../client/index.js";
import { raceAbort } from "./abort.js";
import type { ToolInvocation } from "./budgeted-call.js";
import type { ResolvedBudget } from "./options.js";
import { refusalOf, refusedResult } from "./refusal.js";
import { requestIdBase } from "./request-ids.js";
import { hear } from "./wallet-bindings.js";

/**
 * Tools budgeted with `gateway`: the middleware charges nothing itself. The tool's code calls
 * {@link paidFetch}, which goes through tollgate's gateway with the tool's wallet; the gateway
 * charges the catalog price per call and refuses (402) a call the wallet cannot pay, and that
 * refusal is answered to the model like the middleware's own (`onRefusal`).
 */

/** The tool call a {@link paidFetch} belongs to. */
interface Route {
  budget: ResolvedBudget<unknown, unknown, unknown>;
  /** The call's request-id base; each paidFetch appends its own suffix. */
  base: string;
  metadata: Record<string, string>;
  signal: AbortSignal | undefined;
  /** paidFetch calls made so far by this tool call. */
  calls: number;
  /** The refusal paidFetch threw, to tell it from an error the tool made itself. */
  refusal: InsufficientCreditsError | undefined;
  /** A paidFetch was answered: the wallet was charged, and its balance is not known here. */
  charged: boolean;
}

const routes = new AsyncLocalStorage<Route>();

/** Options of one {@link paidFetch}. */
export interface PaidFetchOptions {
  /** Another catalog service than the tool's `gateway` (a tool that calls two paid APIs). */
  service?: string;
}

/**
 * A paid call from inside a tool budgeted with `gateway`: `fetch` through tollgate's gateway to
 * the tool's catalog service, charged to the tool's wallet with the labels of its `metadata`:
 *
 * ```ts
 * execute: async ({ q }) => (await paidFetch(`/search?q=${encodeURIComponent(q)}`)).json()
 * ```
 *
 * Resolves with the upstream's answer (any status); the call's abort signal aborts it unless
 * `init.signal` is given. The n-th paidFetch of a tool call has request id
 * `<call's base>:gateway` (`:gateway.<n>` after the first), so a framework retry of the call with
 * the same id and input is charged once. A refusal for want of credits (402) ends the tool call
 * with the middleware's refusal; other refusals reject as the client's typed errors.
 *
 * @throws Error when called outside a gateway tool's call (there is no wallet to pay from).
 */
export async function paidFetch(
  path: string,
  init?: RequestInit,
  options: PaidFetchOptions = {},
): Promise<Response> {
  const route = routes.getStore();
  if (route === undefined) {
    throw new Error(
      "paidFetch: call it inside a tool budgeted with `gateway` (the tool's wallet pays for it)",
    );
  }
  route.calls += 1;
  const suffix = route.calls === 1 ? ":gateway" : `:gateway.${route.calls}`;
  const { budget } = route;
  const service = options.service ?? budget.gateway ?? "";
  try {
    const response = await budget.wallet.gatewayFetch(
      service,
      path,
      { ...init, signal: init?.signal ?? route.signal },
      { requestId: `${route.base}${suffix}`, metadata: route.metadata },
    );
    route.charged = true;
    return response;
  } catch (error) {
    if (error instanceof InsufficientCreditsError) {
      route.refusal = error;
      // A refusal about another wallet (a parent) says nothing about this one's balance.
      if (error.walletId === budget.wallet.id) hear(budget.binding, error.available);
    } else if (error instanceof WalletClosedError) {
      hear(budget.binding, budget.wallet.available, true);
    }
    throw error;
  }
}

function routeOf<I, R, X>(budget: ResolvedBudget<I, R, X>, call: ToolInvocation<I>) {
  return async (): Promise<Route> => ({
    // Only the parts that do not depend on the tool's types are read through the route.
    budget: budget as unknown as ResolvedBudget<unknown, unknown, unknown>,
    base: requestIdBase(budget.toolName, call.input, call.toolCallId, budget.requestId),
    metadata: await budget.metadata(call.input),
    signal: call.signal,
    calls: 0,
    refusal: undefined,
    charged: false,
  });
}

/**
 * After a call the gateway charged: re-reads the wallet (one GetWallet) so a stop condition knows
 * the balance, as it does from the answers of the middleware's own charges (the gateway's answer
 * does not carry it). Without it, a loop would learn of an empty wallet only from a refused call.
 * A failed re-read changes nothing: the tool's result stands, and the stop condition re-reads.
 */
async function hearBalance(route: Route): Promise<void> {
  if (!route.charged) return;
  const { budget } = route;
  try {
    await budget.wallet.refresh();
    hear(budget.binding, budget.wallet.available, budget.wallet.closed);
  } catch {
    // Left to the stop condition's own re-read.
  }
}

/** The refusal answer when `error` is the one paidFetch threw for want of credits. */
async function refusedBy<I, R, X>(
  budget: ResolvedBudget<I, R, X>,
  route: Route,
  input: I,
  error: unknown,
): Promise<{ refused: X | string } | undefined> {
  if (error === undefined || error !== route.refusal) return undefined;
  const refusal = route.refusal;
  return {
    refused: await refusedResult(budget, refusalOf(budget, input, refusal.requested, refusal)),
  };
}

/**
 * Runs a gateway tool that returns one result, with its route as the context of its
 * {@link paidFetch} calls. An abort wins the race with the tool, as for charged tools.
 */
export async function gatewayCall<I, R, X>(
  budget: ResolvedBudget<I, R, X>,
  call: ToolInvocation<I>,
  run: () => R | PromiseLike<R>,
): Promise<R | X | string> {
  call.signal?.throwIfAborted();
  const route = await routeOf(budget, call)();
  try {
    return await raceAbort(Promise.resolve(routes.run(route, run)), call.signal);
  } catch (error) {
    const answer = await refusedBy(budget, route, call.input, error);
    if (answer === undefined) throw error;
    return answer.refused;
  } finally {
    await hearBalance(route);
  }
}

/**
 * Runs a gateway tool that yields results. A refusal before the first value is yielded and
 * returned, as for charged tools; after one, the tool has already answered in part, so the error
 * propagates. A consumer that stops reading stops the tool.
 */
export async function* gatewayIterable<I, T, X>(
  budget: ResolvedBudget<I, T, X>,
  call: ToolInvocation<I>,
  start: () => AsyncIterable<T>,
): AsyncGenerator<T | X | string, T | X | string | undefined, undefined> {
  call.signal?.throwIfAborted();
  const route = await routeOf(budget, call)();
  let iterator: AsyncIterator<T, T | undefined> | undefined;
  let last: T | undefined;
  let yielded = false;
  let done = false;
  try {
    iterator = routes.run(route, () => start()[Symbol.asyncIterator]());
    const source = iterator;
    for (;;) {
      const step = await raceAbort(
        Promise.resolve(routes.run(route, () => source.next())),
        call.signal,
      );
      if (step.done) {
        done = true;
        return step.value === undefined ? last : step.value;
      }
      last = step.value;
      yielded = true;
      yield step.value;
    }
  } catch (error) {
    done = true;
    iterator?.return?.()?.then(undefined, () => {});
    const answer = yielded ? undefined : await refusedBy(budget, route, call.input, error);
    if (answer === undefined) throw error;
    yield answer.refused;
    return answer.refused;
  } finally {
    // Abandoned at a `yield`: the consumer stopped reading. Stop the tool.
    if (!done) await iterator?.return?.();
    await hearBalance(route);
  }
}
