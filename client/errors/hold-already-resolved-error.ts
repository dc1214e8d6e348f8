import { TollgateError, type TollgateErrorInit } from "./tollgate-error.js";

/**
 * The hold was already captured or voided by another request id (`HOLD_ALREADY_RESOLVED`): a
 * hold resolves exactly once. Repeating the request id that resolved it is not this error; it
 * returns the first result.
 */
export class HoldAlreadyResolvedError extends TollgateError {
  override name = "HoldAlreadyResolvedError";
  /** The hold: ErrorInfo `hold_id` when sent, else the hold the call named. */
  readonly holdId: string;

  constructor(message: string, init: TollgateErrorInit & { holdId: string }) {
    super(message, init);
    this.holdId = init.holdId;
  }
}
