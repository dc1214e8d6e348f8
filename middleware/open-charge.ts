import {
  InsufficientCreditsError,
  type SpendResult,
  type Wallet,
  WalletClosedError,
} from "../client/index.js";
import type { ActiveCharge } from "./charge-context.js";
import { warnReplayedCharge } from "./charge-warnings.js";
import { openHold } from "./hold-charge.js";
import type { BudgetRefusal, ResolvedBudget } from "./options.js";
import { refusalOf } from "./refusal.js";
import { requestIdBase, requestIdFor } from "./request-ids.js";
import { hear } from "./wallet-bindings.js";

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

/**
 * What {@link openCharge} decided before the tool runs: `open`, run the tool under the charge and
 * then settle or release it exactly once; or `refused`, the wallet lacked the credits, so the tool
 * must not run and the refusal is answered instead.
 */
export type Opened<I, R> = OpenCharge<R> | { kind: "refused"; refusal: BudgetRefusal<I> };

const nothing = async () => {};

/**
 * Asks the ledger for the credits of one call before the tool runs: one Spend (upfront) or an
 * Authorize (hold, see {@link openHold}). InsufficientCreditsError becomes a refusal; every other
 * error propagates, so the tool never runs without a committed debit or hold (fail closed).
 *
 * Every answer's balance (and a refusal's `available`, and WALLET_CLOSED) is recorded on the
 * tool's binding, so a stop condition knows the wallet's balance without asking the server.
 */
export async function openCharge<I, R>(
  budget: ResolvedBudget<I, R, unknown>,
  input: I,
  toolCallId: string | undefined,
  signal?: AbortSignal,
): Promise<Opened<I, R>> {
  const amount = await budget.amount(input);
  if (amount === 0n) return { kind: "open", charge: undefined, settle: nothing, release: nothing };
  const base = requestIdBase(budget.toolName, input, toolCallId, budget.requestId);
  const options = {
    service: budget.service ?? budget.toolName,
    metadata: await budget.metadata(input),
  };
  try {
    if (budget.upfront) {
      const requestId = requestIdFor(base, 1, "spend");
      // A replay of the same call id returns the first SPEND: charged once however often it
      // runs, and however its runs interleave, so upfront runs need no call slot.
      const spent = await budget.wallet.spend(amount, { ...options, requestId });
      hear(budget.binding, spent.remaining);
      if (isReplay(budget.wallet, spent)) {
        warnReplayedCharge(
          budget.toolName,
          requestId,
          `spend ${spent.charge.id} of an earlier run`,
        );
      }
      const charge = {
        walletId: spent.charge.walletId,
        credential: spent.credential,
        chargeId: spent.charge.id,
        requestId,
      };
      return { kind: "open", charge, settle: nothing, release: nothing };
    }
    const held = await openHold(budget, input, amount, base, options, signal);
    hear(budget.binding, budget.wallet.available);
    return hearingSettlement(budget, held);
  } catch (error) {
    if (error instanceof InsufficientCreditsError) {
      // A refusal about another wallet (a parent) says nothing about this one's balance.
      if (error.walletId === budget.wallet.id) hear(budget.binding, error.available);
      return { kind: "refused", refusal: refusalOf(budget, input, amount, error) };
    }
    if (error instanceof WalletClosedError) {
      hear(budget.binding, budget.wallet.available, true);
    }
    throw error;
  }
}

/** `held`, recording the balance the ledger answered its capture or void with. */
function hearingSettlement<I, R>(
  budget: ResolvedBudget<I, R, unknown>,
  held: OpenCharge<R>,
): OpenCharge<R> {
  // The handle's `available` is the `remaining` of the latest answer it got.
  const heard = () => hear(budget.binding, budget.wallet.available);
  return {
    ...held,
    async settle(result) {
      try {
        await held.settle(result);
      } finally {
        heard();
      }
    },
    async release() {
      await held.release();
      heard();
    },
  };
}

/**
 * SPEND lines this process was answered with, newest last, to recognise a replayed one. The
 * ledger does not mark a replay, so a replay of a spend made by another process (or before a
 * restart) is not recognised and not warned about. Bounded: a retry comes within minutes, not
 * after ten thousand other upfront calls.
 */
const spendsSeen = new Set<string>();
const spendsSeenMax = 10_000;

function isReplay(wallet: Wallet, spent: SpendResult): boolean {
  const key = `${wallet.rootId}\u0000${spent.charge.id}`;
  if (spendsSeen.has(key)) return true;
  spendsSeen.add(key);
  if (spendsSeen.size > spendsSeenMax) {
    for (const oldest of spendsSeen) {
      spendsSeen.delete(oldest);
      break;
    }
  }
  return false;
}
