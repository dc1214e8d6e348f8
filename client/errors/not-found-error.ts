import { TollgateError } from "./tollgate-error.js";

/**
 * No such wallet or hold (`WALLET_NOT_FOUND`, with metadata `wallet_id`; `HOLD_NOT_FOUND`, with
 * `hold_id`). The server answers alike for another project's wallet, so this never proves that an
 * id is unused.
 */
export class NotFoundError extends TollgateError {
  override name = "NotFoundError";
}
