import type { Wallet } from "../client/index.js";
import { type WalletStopOptions, walletStop } from "./wallet-stop.js";

/**
 * A stop condition for an agent loop: true once `wallet` cannot pay for the cheapest budgeted
 * tool bound to it (or has fewer than `below` credits), so a run ends cleanly instead of looping
 * on refused calls: a wallet with 10 credits left cannot pay a 30-credit tool, though it is not
 * exhausted. `tools` limits the prices that count to the loop's own tools. What counts as a
 * price, and how little the check asks the server, is {@link walletStop}'s.
 *
 * Takes no arguments, so it fits ai@6 `stopWhen` as is, or a hand-written loop:
 * `while (!(await exhausted())) { ... }`.
 */
export function walletExhausted(
  wallet: Wallet,
  options: WalletStopOptions = {},
): () => Promise<boolean> {
  const stop = walletStop(wallet, options);
  return async () => (await stop()) !== undefined;
}
