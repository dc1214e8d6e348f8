import { BindError, type BindFailure } from "../bind-error.js";
import { StartError } from "./start-error.js";

/** What to do about each bind failure, naming the setting. */
const hint: Record<BindFailure, string> = {
  EADDRINUSE: "set TOLLGATE_ADDRESS to a free host:port",
  EACCES: "set TOLLGATE_ADDRESS to a port from 1024 up, or run with the privilege to bind it",
  EADDRNOTAVAIL:
    "set TOLLGATE_ADDRESS to an address of this machine (127.0.0.1, or 0.0.0.0 for every interface)",
  ENOTFOUND: "set TOLLGATE_ADDRESS to a host name that resolves, or to an IP address",
};

/**
 * A failed server start as `main` reports it: a bind failure becomes a {@link StartError} naming
 * TOLLGATE_ADDRESS with what to do; any other error is returned as it is.
 */
export function addressStartError(error: unknown): unknown {
  if (!(error instanceof BindError)) return error;
  const message =
    error.failure === undefined
      ? `TOLLGATE_ADDRESS: ${error.message}`
      : `TOLLGATE_ADDRESS ${error.message}; ${hint[error.failure]}`;
  return new StartError(message, { cause: error });
}
