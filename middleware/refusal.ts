import type { InsufficientCreditsError, Wallet } from "../client/index.js";
import type { BudgetRefusal, ResolvedBudget } from "./options.js";

/** What the model is told a wallet is called: its name, or its id when it has none. */
export function walletLabel(wallet: Wallet): string {
  return wallet.name === "" ? wallet.id : wallet.name;
}

/** The refusal of one call, with the reference-style message the model is shown by default. */
export function refusalOf<I>(
  budget: Pick<ResolvedBudget<I, unknown, unknown>, "wallet" | "toolName">,
  input: I,
  price: bigint,
  error: InsufficientCreditsError,
): BudgetRefusal<I> {
  const wallet = walletLabel(budget.wallet);
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
