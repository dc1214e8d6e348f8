import { TollgateError, type TollgateErrorInit } from "./tollgate-error.js";

/**
 * A hard cap would be crossed (reason `INSUFFICIENT_CREDITS`, FAILED_PRECONDITION): nothing was
 * charged. `walletId` names the wallet that lacked credits, which is the parent for a carve-out
 * (createChild, a child's addCredits), not necessarily the wallet the call named.
 */
export class InsufficientCreditsError extends TollgateError {
  override name = "InsufficientCreditsError";
  /** The wallet that lacked credits. */
  readonly walletId: string;
  /** Credits the call asked for. */
  readonly requested: bigint;
  /** Credits that wallet had available (negative for a soft-capped parent that overspent). */
  readonly available: bigint;

  constructor(message: string, init: TollgateErrorInit) {
    super(message, init);
    this.walletId = this.metadata.wallet_id ?? "";
    this.requested = integer(this.metadata.requested);
    this.available = integer(this.metadata.available);
  }
}

/** The decimal string the server sends; 0n if it is missing or malformed (never throws). */
function integer(text: string | undefined): bigint {
  return text !== undefined && /^-?\d+$/.test(text) ? BigInt(text) : 0n;
}
