import type { ServiceDefinition } from "@grpc/grpc-js";
import { LedgerError } from "../ledger/ledger-error.js";

/**
 * What a unary handler receives in place of its request when the request's bytes do not decode
 * (see {@link tolerantRequests}); `unaryCall` answers it with {@link malformedRequest}.
 */
export class MalformedRequest {
  constructor(
    /** The method's path, e.g. `/tollgate.v1.WalletService/Spend`. */
    readonly path: string,
    /** The decoder's error. */
    readonly cause: unknown,
  ) {}
}

/**
 * MALFORMED_REQUEST (INVALID_ARGUMENT): the bytes of `what` (e.g. "the request of
 * /tollgate.v1.WalletService/Spend") are not a protobuf encoding of its message. The decoder's
 * words ("invalid wire type 7 at offset 1") are about the client's own bytes, so they are kept.
 */
export function malformedRequest(what: string, cause: unknown): LedgerError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new LedgerError(
    "MALFORMED_REQUEST",
    `${what} does not decode as its protobuf message (${why})`,
    {},
    { cause },
  );
}

/**
 * `service` with the request decoder of every single-request method made tolerant: bytes that do
 * not decode give a {@link MalformedRequest} instead of a throw. When a decoder throws inside
 * grpc-js, grpc-js itself answers INTERNAL "Error deserializing request", with no ErrorInfo, and
 * the handler never runs, so neither the client (nothing says the fault is its own) nor the log
 * (nothing is logged) learns why. Handed the marker, `unaryCall` answers INVALID_ARGUMENT with an
 * ErrorInfo, after authenticating the call, and logs it like any other refusal. Methods with a
 * request stream (SpendStream) are left alone: SpendStream decodes its messages itself.
 *
 * The handlers' request type does not say it may be a marker: only `unaryCall` looks at the
 * request before the handler body does, and it never passes a marker on.
 */
export function tolerantRequests<S extends ServiceDefinition>(service: S): S {
  const methods = Object.entries(service).map(([name, method]) => {
    if (method.requestStream) return [name, method];
    const tolerant = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return method.requestDeserialize(bytes);
        } catch (error) {
          return new MalformedRequest(method.path, error);
        }
      },
    };
    return [name, tolerant];
  });
  return Object.fromEntries(methods) as S;
}
