import type { Amount, Wallet } from "../client/index.js";
import { toCredits } from "./options.js";
import { walletLabel } from "./refusal.js";
import {
  bindingOfTool,
  bindingsOf,
  type Heard,
  heardNow,
  latest,
  type ToolBinding,
} from "./wallet-bindings.js";

/** Options of a wallet stop check (`walletExhausted` and the adapters' stops). */
export interface WalletStopOptions {
  /**
   * Only these tools' prices count: the loop's own tools. Default: every budgeted tool of this
   * process bound to the wallet, whichever loop it belongs to. Tools that are not budgeted, or
   * are bound to another wallet, are ignored.
   */
  tools?: Iterable<unknown>;
  /** Stop once fewer than this many credits are left, whatever the tools cost. */
  below?: Amount;
}

/** Why a loop should stop: what the wallet has left and what it cannot pay. */
export interface WalletStop {
  /** The wallet's name, or its id when it has none. */
  wallet: string;
  walletId: string;
  /** Credits left, as re-read from the server when the stop was decided. */
  available: bigint;
  closed: boolean;
  /**
   * `PAYMENT_LIMIT_REACHED: <wallet> has <n> credits left; <cheapest tool> costs <price>` (or
   * `... is closed`, `... is exhausted`, `... fewer than <below>`), in the words of a refusal.
   */
  message: string;
}

/** The credits a loop needs to go on, and how to say so. */
interface Need {
  credits: bigint;
  /** What the stop message says after `<wallet> has <n> credits left`. */
  says: string;
}

/**
 * A check to run between the steps of an agent loop: undefined while `wallet` can pay for the
 * cheapest budgeted tool bound to it, else the {@link WalletStop}. What counts as a tool's price:
 * its fixed `price`, or its fixed `maxPrice` (the hold a call needs, whatever it then costs); a
 * price computed from the input counts as 1 credit, the least a paid call costs; a tool priced 0
 * never costs anything and is left out. With no priced tool bound to the wallet (its tools are
 * bound to its children, say), the check is the server's `exhausted` flag: nothing in the
 * wallet's subtree can spend any more.
 *
 * Cheap: while the balance the ledger last answered a charge with (or a refusal's `available`)
 * says the wallet can pay, the check asks the server nothing. A stop is confirmed with one
 * GetWallet, so a top-up made elsewhere is seen before the loop ends. A balance spent elsewhere
 * is seen at the next refusal, so such a loop runs at most one step of refused calls. Without a
 * known price, each check is one GetWallet.
 */
export function walletStop(
  wallet: Wallet,
  options: WalletStopOptions = {},
): () => Promise<WalletStop | undefined> {
  const below = options.below === undefined ? undefined : toCredits(options.below, "below");
  const tools = options.tools === undefined ? undefined : [...options.tools];
  // The latest re-read of this check, so a stale low answer is not re-read every step.
  let reread: Heard | undefined;
  return async () => {
    const need =
      below === undefined
        ? cheapest(wallet.id, tools)
        : { credits: below, says: `, fewer than ${below}` };
    if (need === undefined) {
      await wallet.refresh();
      if (!wallet.closed && !wallet.exhausted) return undefined;
      return stopOf(wallet, wallet.closed ? " is closed" : " is exhausted");
    }
    const hint = latest([...bindingsOf(wallet.id).map((b) => b.heard), reread]);
    // The handle itself may know better (its owner spent or refreshed through it): the lower wins.
    const available =
      hint === undefined || wallet.available < hint.available ? wallet.available : hint.available;
    if (!wallet.closed && hint?.closed !== true && available >= need.credits) return undefined;
    await wallet.refresh();
    reread = heardNow(wallet.available, wallet.closed);
    if (wallet.closed) return stopOf(wallet, " is closed");
    if (wallet.available >= need.credits) return undefined;
    return stopOf(wallet, ` has ${wallet.available} credits left${need.says}`);
  };
}

/** The cheapest call among the priced tools bound to `walletId` (of `tools`, when given). */
function cheapest(walletId: string, tools: unknown[] | undefined): Need | undefined {
  const bindings =
    tools === undefined
      ? bindingsOf(walletId)
      : tools.map(bindingOfTool).filter((b): b is ToolBinding => b?.walletId === walletId);
  let need: Need | undefined;
  for (const { toolName, price } of bindings) {
    if (price === 0n) continue;
    const credits = price ?? 1n;
    if (need !== undefined && need.credits <= credits) continue;
    need = {
      credits,
      says: price === undefined ? `; ${toolName} costs at least 1` : `; ${toolName} costs ${price}`,
    };
  }
  return need;
}

function stopOf(wallet: Wallet, what: string): WalletStop {
  const name = walletLabel(wallet);
  return {
    wallet: name,
    walletId: wallet.id,
    available: wallet.available,
    closed: wallet.closed,
    message: `PAYMENT_LIMIT_REACHED: ${name}${what}`,
  };
}
