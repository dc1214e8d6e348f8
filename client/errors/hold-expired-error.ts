import { TollgateError, type TollgateErrorInit } from "./tollgate-error.js";

/** The hold expired before it was captured or voided; its credits were released (`HOLD_EXPIRED`). */
export class HoldExpiredError extends TollgateError {
  override name = "HoldExpiredError";
  /** The expired hold: ErrorInfo `hold_id` when sent, else the hold the call named. */
  readonly holdId: string;

  constructor(message: string, init: TollgateErrorInit & { holdId: string }) {
    super(message, init);
    this.holdId = init.holdId;
  }
}
