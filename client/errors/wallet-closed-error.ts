import { TollgateError, type TollgateErrorInit } from "./tollgate-error.js";

/** The wallet (or an ancestor) is closed and refuses every mutation (reason `WALLET_CLOSED`). */
export class WalletClosedError extends TollgateError {
  override name = "WalletClosedError";
  /**
   * The closed wallet: the ErrorInfo's `wallet_id` when the server sends one, else the wallet
   * the call named (the server's WALLET_CLOSED carries no metadata today); empty when the call
   * named only a hold.
   */
  readonly walletId: string;

  constructor(message: string, init: TollgateErrorInit & { walletId: string }) {
    super(message, init);
    this.walletId = init.walletId;
  }
}
