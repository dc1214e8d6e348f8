import type { InsufficientCreditsError } from "../client/index.js";
import type { BudgetRefusal, ResolvedBudget } from "./options.js";

/** The refusal of one call, with the reference-style message the model is shown by default. */
export function refusalOf<I>(
  budget: Pick<ResolvedBudget<I, unknown, unknown>, "wallet" | "toolName">,
  input: I,
  price: bigint,
  error: InsufficientCreditsError,
): BudgetRefusal<I> {
  const wallet = budget.wallet.name === "" ? budget.wallet.id : budget.wallet.name;
  return {
    wallet,
    walletId: budget.wallet.id,
    available: error.available,
    price,
    tool: budget.toolName,
    input,
    message: `PAYMENT_LIMIT_REACHED: ${wallet} has ${error.available} credits left; ${budget.toolName} costs ${price}`,
    error,
  };
}

/** What a refused call returns (or throws), per `onRefusal`. */
export async function refusedResult<I, X>(
  budget: Pick<ResolvedBudget<I, unknown, X>, "onRefusal">,
  refusal: BudgetRefusal<I>,
): Promise<X | string> {
  const { onRefusal } = budget;
  if (onRefusal === "throw") throw refusal.error;
  if (onRefusal === "message") return refusal.message;
  return onRefusal(refusal);
}
