import type { ReasonCode } from "./reasons.js";

/** Structured data a caller needs to act on an error (all values are strings on the wire). */
export type ErrorMetadata = Record<string, string>;

/**
 * The one error type of the ledger and its stores. Transport adapters map `reason` to a status
 * code; `metadata` goes to the client as-is, so never put internal detail in it.
 */
export class LedgerError extends Error {
  override readonly name = "LedgerError";

  constructor(
    readonly reason: ReasonCode,
    message: string,
    readonly metadata: ErrorMetadata = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The request field at fault, for INVALID_ARGUMENT and IDEMPOTENCY_KEY_REUSED. */
  get field(): string | undefined {
    return this.metadata.field;
  }
}

/** Shorthand for an INVALID_ARGUMENT error naming the field (snake_case, as in the proto). */
export function invalidArgument(field: string, message: string): LedgerError {
  return new LedgerError("INVALID_ARGUMENT", `${field}: ${message}`, { field });
}
