import { InvalidArgumentError } from "./invalid-argument-error.js";

/**
 * The request id was already used in this wallet tree with different parameters
 * (`IDEMPOTENCY_KEY_REUSED`, field `request_id`). Retrying can never succeed: use a new id.
 */
export class IdempotencyKeyReusedError extends InvalidArgumentError {
  override name = "IdempotencyKeyReusedError";
}
