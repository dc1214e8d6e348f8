/** The bind failures {@link BindError} explains; anything else keeps grpc-js's own message. */
export type BindFailure = "EADDRINUSE" | "EACCES" | "EADDRNOTAVAIL" | "ENOTFOUND";

/** What each {@link BindFailure} means, after the address. */
const explained: Record<BindFailure, string> = {
  EADDRINUSE: "is already in use (EADDRINUSE)",
  EACCES: "may not be bound by this user (EACCES): ports below 1024 need privileges",
  EADDRNOTAVAIL: "is not an address of this machine (EADDRNOTAVAIL)",
  ENOTFOUND: "does not resolve: the host name is unknown (ENOTFOUND)",
};

/** Which listener failed: the gRPC port, the HTTP face's, or the paid-API gateway's. */
export type BindFace = "grpc" | "http" | "gateway";

/**
 * The server could not listen on one of its addresses. grpc-js reports this as one generic error whose
 * message lists each resolved address's failure (`No address added out of total 1 resolved
 * errors: [listen EADDRINUSE: ...]`); this names the failure (`failure`) and says it in one line,
 * so an operator reads "127.0.0.1:50051 is already in use (EADDRINUSE)", not grpc-js's internals.
 */
export class BindError extends Error {
  override readonly name = "BindError";

  constructor(
    /** The host:port the server was asked to listen on. */
    readonly address: string,
    /** Why, when known; undefined for a failure grpc-js describes in words only. */
    readonly failure: BindFailure | undefined,
    options: { cause: Error },
    /** The listener: the gRPC port (default), or the HTTP face's (Node's `listen` error). */
    readonly face: BindFace = "grpc",
  ) {
    super(
      failure === undefined
        ? `cannot bind ${address}: ${options.cause.message}`
        : `${address} ${explained[failure]}`,
      options,
    );
  }
}

/** A {@link BindError} from what grpc-js's `bindAsync` reported for `address`. */
export function bindError(address: string, error: Error): BindError {
  const code = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(error.message)?.[1] as
    | BindFailure
    | undefined;
  const unresolved = /^Name resolution failed\b/.test(error.message) ? "ENOTFOUND" : undefined;
  return new BindError(address, code ?? unresolved, { cause: error });
}
