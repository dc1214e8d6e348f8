import { type ContextValues, createContextKey } from "@connectrpc/connect";
import type { MalformedRequest } from "../rpc/malformed-request.js";

/**
 * What the HTTP face's layers learn about one request before and while a handler runs, shared
 * through Connect's per-request context values: whether the request body decoded (else the marker
 * the call adapter refuses after auth, as grpc-js's `tolerantRequests` does), whether it was too
 * big, and whether a call adapter took it (else the request was refused by Connect itself, and
 * `request-refusals.ts` writes its log line).
 */
export interface HttpCall {
  /** Set when the body does not decode as the method's request message. */
  malformed: MalformedRequest | undefined;
  /** Set when the body was larger than the request size cap. */
  oversized: boolean;
  /** Set by the call adapter when it takes the call (it then logs and counts it). */
  handled: boolean;
}

const httpCallKey = createContextKey<HttpCall | undefined>(undefined, {
  description: "tollgate: the HTTP call record",
});

/** A fresh record for a request, stored in its context values. */
export function beginHttpCall(values: ContextValues): HttpCall {
  const call: HttpCall = { malformed: undefined, oversized: false, handled: false };
  values.set(httpCallKey, call);
  return call;
}

/** The request's record, if the HTTP face made one (undefined for a bare router, as in tests). */
export function httpCallOf(values: ContextValues | undefined): HttpCall | undefined {
  return values?.get(httpCallKey);
}
