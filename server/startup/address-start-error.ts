import { BindError, type BindFace, type BindFailure } from "../bind-error.js";
import { StartError } from "./start-error.js";

/** The setting of each listener's address. */
const setting: Record<BindFace, string> = {
  grpc: "TOLLGATE_ADDRESS",
  http: "TOLLGATE_HTTP_ADDRESS",
  gateway: "TOLLGATE_GATEWAY_ADDRESS",
};

/** What to do about each bind failure, naming the setting. */
const hint: Record<BindFailure, (name: string) => string> = {
  EADDRINUSE: (name) => `set ${name} to a free host:port`,
  EACCES: (name) => `set ${name} to a port from 1024 up, or run with the privilege to bind it`,
  EADDRNOTAVAIL: (name) =>
    `set ${name} to an address of this machine (127.0.0.1, or 0.0.0.0 for every interface)`,
  ENOTFOUND: (name) => `set ${name} to a host name that resolves, or to an IP address`,
};

/**
 * A failed server start as `main` reports it: a bind failure becomes a {@link StartError} naming
 * the setting of the listener that failed (TOLLGATE_ADDRESS, TOLLGATE_HTTP_ADDRESS or
 * TOLLGATE_GATEWAY_ADDRESS) with what
 * to do; any other error is returned as it is.
 */
export function addressStartError(error: unknown): unknown {
  if (!(error instanceof BindError)) return error;
  const name = setting[error.face];
  const message =
    error.failure === undefined
      ? `${name}: ${error.message}`
      : `${name} ${error.message}; ${hint[error.failure](name)}`;
  return new StartError(message, { cause: error });
}
