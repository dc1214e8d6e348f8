import {
  type Hold,
  HoldExpiredError,
  InsufficientCreditsError,
  UnavailableError,
  type Wallet,
} from "../client/index.js";
import { type CallSlot, claimCallSlot } from "./call-slots.js";
import { warnReplayedCharge, warnVoidFailed } from "./charge-warnings.js";
import type { OpenCharge } from "./open-charge.js";
import { type ResolvedBudget, toCredits } from "./options.js";
import { requestIdFor } from "./request-ids.js";

/**
 * Attempts of one tool call id that may have been voided before a new one starts. A framework
 * that retries the same call this often is broken; fail instead of probing the ledger forever.
 */
const maxAttempts = 32;

/**
 * Extra rounds of a capture that failed UNAVAILABLE (each round is itself the client's retries
 * under the same request id), and the pause before each. The tool's work is done and a capture
 * is idempotent, so riding over a store failover of a few seconds beats throwing the result
 * away; the client's default (about 0.35 s of retries) is tuned for failing a spend fast instead.
 */
const captureRetryPausesMs = [250, 1000, 3000];

/**
 * How long the clean-up of an authorize that went unanswered may take: it runs while the
 * caller waits for its error.
 */
const unansweredCleanupMs = 5000;

/** How often a run re-asks about a hold an earlier run of its call still uses past its expiry. */
const staleHoldPollMs = 1000;

const nothing = async () => {};

type AuthorizeBase = { service: string; metadata: Record<string, string> };

/**
 * Authorizes `amount` under `<base>:authorize`, at most one in-process run per call at a time
 * ({@link claimCallSlot}). The ledger answers a repeated request id with the hold as it is now,
 * which tells what became of an earlier run of the same tool call:
 * - OPEN: a fresh hold, or one an earlier run left open (it crashed, or its capture failed): use it.
 * - CAPTURED: an earlier run succeeded and paid. Run again without charging (charged once), and
 *   warn `TOLLGATE_REPLAYED_CHARGE`.
 * - VOIDED/EXPIRED: an earlier run failed and was released. Replaying its ids would settle
 *   nothing, so start attempt n+1 under `<base>#<n+1>:...` and look again.
 * One extra round trip per earlier failed attempt, none on the common first run.
 *
 * `signal` (the call's cancellation) ends a wait for an earlier run at once with its reason; the
 * wait authorizes nothing, and a hold it was answered with belongs to the earlier run.
 */
export async function openHold<I, R>(
  budget: ResolvedBudget<I, R, unknown>,
  input: I,
  amount: bigint,
  base: string,
  options: AuthorizeBase,
  signal?: AbortSignal,
): Promise<OpenCharge<R>> {
  const { wallet } = budget;
  const slot = await claimCallSlot(wallet.rootId, base, signal);
  try {
    const ttl = budget.holdTtlSeconds === undefined ? {} : { ttlSeconds: budget.holdTtlSeconds };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const requestId = requestIdFor(base, attempt, "authorize");
      const request = { ...options, requestId, ...ttl };
      const ids = (op: "capture" | "void") => requestIdFor(base, attempt, op);
      let granted = await authorize(wallet, amount, request, slot, ids("void"));
      while (granted.hold.status === "OPEN" && slot.heldByEarlier(granted.hold.id)) {
        await slot.waitForEarlier(staleHoldPollMs);
        granted = await authorize(wallet, amount, request, slot, ids("void"));
      }
      const held = granted.hold;
      const charge = {
        walletId: held.walletId,
        credential: granted.credential,
        holdId: held.id,
        requestId,
      };
      if (held.status === "CAPTURED") {
        slot.finish();
        warnReplayedCharge(
          budget.toolName,
          requestId,
          `hold ${held.id}, captured by an earlier run`,
        );
        return { kind: "open", charge, settle: nothing, release: nothing };
      }
      if (held.status === "OPEN") {
        slot.holding(held);
        return {
          kind: "open",
          charge,
          settle: (result) => finishing(slot, capture(budget, held, input, result, ids)),
          release: () => finishing(slot, release(wallet, held, ids("void"))),
        };
      }
    }
  } catch (error) {
    slot.finish();
    throw error;
  }
  slot.finish();
  throw new Error(
    `withBudget: tool call ${base} was attempted and voided ${maxAttempts} times; refusing to try again`,
  );
}

async function finishing(slot: CallSlot, settling: Promise<void>): Promise<void> {
  try {
    await settling;
  } finally {
    slot.finish();
  }
}

/**
 * Authorize; when it fails UNAVAILABLE it may still have been applied, holding credits until the
 * hold expires (and with a random base nothing would ever settle it). So ask once more under the
 * same request id, which returns that hold if there is one, and void it; the caller still gets
 * the original error. Best effort and bounded: a clean-up that fails only warns. If the first
 * authorize was not applied, this creates the hold and voids it at once (a VOID line, no cost).
 */
async function authorize(
  wallet: Wallet,
  amount: bigint,
  request: AuthorizeBase & { requestId: string; ttlSeconds?: number },
  slot: CallSlot,
  voidRequestId: string,
) {
  try {
    return await wallet.authorize(amount, request);
  } catch (error) {
    if (!(error instanceof UnavailableError)) throw error;
    const signal = AbortSignal.timeout(unansweredCleanupMs);
    let holdId = `(authorize ${request.requestId})`;
    try {
      const again = await wallet.authorize(amount, { ...request, signal });
      holdId = again.hold.id;
      if (again.hold.status === "OPEN" && !slot.heldByEarlier(holdId)) {
        await wallet.void(holdId, { requestId: voidRequestId, signal });
      }
    } catch (cleanup) {
      // Refused: the first authorize was not applied (a refusal is not remembered).
      if (!(cleanup instanceof InsufficientCreditsError)) warnVoidFailed(holdId, cleanup);
    }
    throw error;
  }
}

/** Posts the price, or the actual cost clamped to the hold (a cost of 0 voids it). */
async function capture<I, R>(
  budget: ResolvedBudget<I, R, unknown>,
  held: Hold,
  input: I,
  result: R,
  ids: (op: "capture" | "void") => string,
): Promise<void> {
  const { wallet } = budget;
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
      // Nothing to post; a void that fails only warns, like any other release: the call succeeded.
      await release(wallet, held, ids("void"));
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
  const options = { requestId: ids("capture"), ...(metadata ? { metadata } : {}) };
  for (const pauseMs of [...captureRetryPausesMs, undefined]) {
    try {
      await wallet.capture(held.id, amount, options);
      return;
    } catch (error) {
      if (!(error instanceof UnavailableError) || pauseMs === undefined) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}

/**
 * Voids a hold after a failed call. Never throws: the tool's own error is what the caller needs,
 * and a hold that cannot be voided now is released by the ledger when it expires. Only the run
 * that owns the hold calls this ({@link claimCallSlot}), so it never voids another run's hold.
 */
async function release(wallet: Wallet, held: Hold, requestId: string): Promise<void> {
  try {
    await wallet.void(held.id, { requestId });
  } catch (error) {
    // Expired: the ledger has released it already, which is all a void would do.
    if (error instanceof HoldExpiredError) return;
    warnVoidFailed(held.id, error, held.expiresAt);
  }
}
