import type { Amount, Wallet } from "../client/index.js";
import { toCredits } from "./options.js";

/**
 * A stop condition for an agent loop: re-reads `wallet` and answers true when it can pay for
 * nothing more, so a run ends cleanly instead of looping on refused tool calls (the reference's
 * `task_wallet.is_exhausted()` check). Takes no arguments, so it fits ai@6 `stopWhen` as is.
 *
 * `below`: also stop when fewer credits than this are left, e.g. the cheapest tool's price; a
 * wallet with 3 credits cannot pay a 5-credit tool, but it is not exhausted.
 * Each check is one GetWallet round trip.
 */
export function walletExhausted(
  wallet: Wallet,
  options: { below?: Amount } = {},
): () => Promise<boolean> {
  const below = options.below === undefined ? undefined : toCredits(options.below, "below");
  return async () => {
    if (below === undefined) return wallet.isExhausted();
    await wallet.refresh();
    return wallet.exhausted || wallet.available < below;
  };
}
