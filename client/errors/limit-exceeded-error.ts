import { TollgateError, type TollgateErrorInit } from "./tollgate-error.js";

/**
 * A per-tree limit would be passed (RESOURCE_EXHAUSTED; reason `TOO_MANY_OPEN_HOLDS`,
 * `TOO_MANY_CHILDREN` or `TOO_MANY_BREAKDOWN_KEYS`): nothing changed. Retrying as is cannot
 * succeed: capture or void open holds, or use another tree. The limits are the server's
 * configuration (docs/limits.md).
 */
export class LimitExceededError extends TollgateError {
  override name = "LimitExceededError";
  /** The wallet the call named (the parent, for a carve-out). */
  readonly walletId: string;
  /** The limit that was reached. */
  readonly limit: bigint;
  /** For TOO_MANY_BREAKDOWN_KEYS: "service" or "agent"; else empty. */
  readonly dimension: string;

  constructor(message: string, init: TollgateErrorInit) {
    super(message, init);
    this.walletId = this.metadata.wallet_id ?? "";
    const limit = this.metadata.limit;
    this.limit = limit !== undefined && /^\d+$/.test(limit) ? BigInt(limit) : 0n;
    this.dimension = this.metadata.dimension ?? "";
  }
}
