import { TollgateError } from "./tollgate-error.js";

/** The call carried no valid API key (UNAUTHENTICATED). Never retried. */
export class UnauthenticatedError extends TollgateError {
  override name = "UnauthenticatedError";
}
