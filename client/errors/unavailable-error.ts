import { TollgateError } from "./tollgate-error.js";

/**
 * The server or its store could not answer in time (UNAVAILABLE, or DEADLINE_EXCEEDED), after
 * the client's retries, or a SpendStream ended for good after the operation was sent (reason
 * `STREAM_ENDED`, the ending's own error as `cause`). No credential was granted, but a mutation
 * **may have been applied**: the only safe retry reuses `requestId`, which returns the first
 * result if it was.
 */
export class UnavailableError extends TollgateError {
  override name = "UnavailableError";
}
