import {
  type Hold,
  HoldExpiredError,
  InsufficientCreditsError,
  TollgateError,
  type Wallet,
} from "../client/index.js";
import type { ActiveCharge } from "./charge-context.js";
import { type BudgetRefusal, type ResolvedBudget, toCredits } from "./options.js";
import { refusalOf } from "./refusal.js";
import { requestIdBase, requestIdFor } from "./request-ids.js";

/** A granted call: the charge the tool runs under, and how to finish it. */
export interface OpenCharge<R> {
  kind: "open";
  /** Undefined for a call priced 0 (nothing was charged, no credential). */
  charge: ActiveCharge | undefined;
  /** The tool succeeded with `result`: post what it costs. Errors propagate. */
  settle(result: R): Promise<void>;
  /** The tool failed or was aborted: release what was held. Never throws. */
  release(): Promise<void>;
}

export type Opened<I, R> = OpenCharge<R> | { kind: "refused"; refusal: BudgetRefusal<I> };

/**
 * Attempts of one tool call id that may have been voided before a new one starts. A framework
 * that retries the same call this often is broken; fail instead of probing the ledger forever.
 */
const maxAttempts = 32;

const nothing = async () => {};

/**
 * Asks the ledger for the credits of one call before the tool runs: one Spend (upfront) or an
 * Authorize (hold). InsufficientCreditsError becomes a refusal; every other error propagates, so
 * the tool never runs without a committed debit or hold (fail closed).
 */
export async function openCharge<I, R>(
  budget: ResolvedBudget<I, R, unknown>,
  input: I,
  toolCallId: string | undefined,
): Promise<Opened<I, R>> {
  const amount = await budget.amount(input);
  if (amount === 0n) return { kind: "open", charge: undefined, settle: nothing, release: nothing };
  const base = requestIdBase(budget.toolName, input, toolCallId, budget.requestId);
  const options = {
    service: budget.service ?? budget.toolName,
    metadata: await budget.metadata(input),
  };
  const { wallet } = budget;
  try {
    if (budget.settle === "upfront") {
      const requestId = requestIdFor(base, 1, "spend");
      // A replay of the same call id returns the first SPEND: charged once however often it runs.
      const spent = await wallet.spend(amount, { ...options, requestId });
      const charge = {
        walletId: spent.charge.walletId,
        credential: spent.credential,
        chargeId: spent.charge.id,
        requestId,
      };
      return { kind: "open", charge, settle: nothing, release: nothing };
    }
    return await hold(budget, input, wallet, amount, base, options);
  } catch (error) {
    if (error instanceof InsufficientCreditsError) {
      return { kind: "refused", refusal: refusalOf(budget, input, amount, error) };
    }
    throw error;
  }
}

/**
 * Authorizes `amount` under `<base>:authorize`. The ledger answers a repeated request id with the
 * hold as it is now, which tells what became of an earlier run of the same tool call:
 * - OPEN: a fresh hold, or one an earlier run left open (it crashed, or still runs): use it.
 * - CAPTURED: an earlier run succeeded and paid. Run again without charging: charged once.
 * - VOIDED/EXPIRED: an earlier run failed and was released. Replaying its ids would settle
 *   nothing, so start attempt n+1 under `<base>#<n+1>:...` and look again.
 * One extra round trip per earlier failed attempt, none on the common first run.
 */
async function hold<I, R>(
  budget: ResolvedBudget<I, R, unknown>,
  input: I,
  wallet: Wallet,
  amount: bigint,
  base: string,
  options: { service: string; metadata: Record<string, string> },
): Promise<OpenCharge<R>> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const requestId = requestIdFor(base, attempt, "authorize");
    const granted = await wallet.authorize(amount, {
      ...options,
      requestId,
      ...(budget.holdTtlSeconds === undefined ? {} : { ttlSeconds: budget.holdTtlSeconds }),
    });
    const held = granted.hold;
    const charge = {
      walletId: held.walletId,
      credential: granted.credential,
      holdId: held.id,
      requestId,
    };
    if (held.status === "CAPTURED") {
      return { kind: "open", charge, settle: nothing, release: nothing };
    }
    if (held.status === "OPEN") {
      const ids = (op: "capture" | "void") => requestIdFor(base, attempt, op);
      return {
        kind: "open",
        charge,
        settle: (result) => capture(budget, wallet, held, input, result, ids),
        release: () => release(wallet, held, ids("void")),
      };
    }
  }
  throw new Error(
    `withBudget: tool call ${base} was attempted and voided ${maxAttempts} times; refusing to try again`,
  );
}

/** Posts the price, or the actual cost clamped to the hold (a cost of 0 voids it). */
async function capture<I, R>(
  budget: ResolvedBudget<I, R, unknown>,
  wallet: Wallet,
  held: Hold,
  input: I,
  result: R,
  ids: (op: "capture" | "void") => string,
): Promise<void> {
  let amount = held.amount;
  let metadata: Record<string, string> | undefined;
  if (budget.cost !== undefined) {
    let actual: bigint;
    try {
      actual = toCredits(await budget.cost(result, input), "cost");
    } catch (error) {
      // A broken cost function must not leave the maximum reserved until the hold expires.
      await release(wallet, held, ids("void"));
      throw error;
    }
    if (actual === 0n) {
      await wallet.void(held.id, { requestId: ids("void") });
      return;
    }
    if (actual > held.amount) {
      // The ledger refuses a capture above its hold (holds never overdraw a hard cap), and the
      // work is done: post the maximum, record what it really cost, and say so.
      metadata = { cost_over_max_price: actual.toString() };
      process.emitWarning(
        `${budget.toolName} cost ${actual} credits, over its maxPrice ${held.amount}; captured ${held.amount}`,
        { code: "TOLLGATE_COST_OVER_MAX_PRICE" },
      );
    } else {
      amount = actual;
    }
  }
  await wallet.capture(held.id, amount, {
    requestId: ids("capture"),
    ...(metadata ? { metadata } : {}),
  });
}

/**
 * Voids a hold after a failed call. Never throws: the tool's own error is what the caller needs,
 * and a hold that cannot be voided now is released by the ledger when it expires.
 */
async function release(wallet: Wallet, held: Hold, requestId: string): Promise<void> {
  try {
    await wallet.void(held.id, { requestId });
  } catch (error) {
    // Expired: the ledger has released it already, which is all a void would do.
    if (error instanceof HoldExpiredError) return;
    const reason = error instanceof TollgateError ? error.reason : String(error);
    process.emitWarning(
      `voiding hold ${held.id} failed (${reason}); it is released when it expires at ${held.expiresAt.toISOString()}`,
      { code: "TOLLGATE_VOID_FAILED" },
    );
  }
}
