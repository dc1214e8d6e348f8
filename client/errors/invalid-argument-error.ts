import { status } from "@grpc/grpc-js";
import { TollgateError, type TollgateErrorInit } from "./tollgate-error.js";

/**
 * A request field is malformed or out of its limits (INVALID_ARGUMENT). Raised by the server,
 * and by the client itself before any RPC for what it can check locally: amounts and counts,
 * every length and count limit of the ledger, and a request too large for the server to read
 * (field `request`).
 */
export class InvalidArgumentError extends TollgateError {
  override name = "InvalidArgumentError";
  /** The offending field in the proto's snake_case (`amount`, `budget`, `request_id`, ...). */
  readonly field: string;

  constructor(message: string, init: TollgateErrorInit & { field: string }) {
    super(message, init);
    this.field = init.field;
  }
}

/** The client's own refusal of `field`, raised before any RPC; the message is `field: problem`. */
export function invalidArgument(field: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(`${field}: ${problem}`, {
    code: status.INVALID_ARGUMENT,
    reason: "INVALID_ARGUMENT",
    metadata: { field },
    field,
  });
}
