import { performance } from "node:perf_hooks";
import { type handleUnaryCall, Metadata, status } from "@grpc/grpc-js";
import type { Authenticator } from "../auth/authenticator.js";
import type { Ledger } from "../ledger/ledger.js";
import type { Logger } from "../logger.js";
import {
  type CallLine,
  elapsedMs,
  holdIdOf,
  logCall,
  requestIdOf,
  walletIdOf,
} from "./call-log.js";
import { errorToStatus } from "./error-status.js";
import { MalformedRequest, malformedRequest } from "./malformed-request.js";
import type { OpenStreams } from "./open-streams.js";

/** What every handler needs: the ledger (all business rules), auth, and the call log. */
export interface RpcDependencies {
  ledger: Ledger;
  authenticator: Authenticator;
  logger: Logger;
  /**
   * Where each open SpendStream registers, so the server's shutdown can wind them down at once
   * instead of waiting for the grace deadline. Unary handlers do not use it.
   */
  streams: OpenStreams;
}

/** Per-call facts a handler may use. */
export interface CallContext {
  /** The caller's project, resolved from its API key before the handler runs. */
  project: string;
  requestId: string;
}

/** A handler body: decode -> ledger -> encode, nothing else. */
export type UnaryBody<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/**
 * Wraps a handler body into a grpc-js unary handler that can never throw or reject: it
 * authenticates, runs the body, turns any failure into a status through {@link errorToStatus},
 * echoes the request id in an `x-request-id` trailer, and writes exactly one log line per call
 * (method, request id, project, wallet and hold ids, code, reason, latencyMs). An unexpected error
 * is logged with its stack at `error`; the client only ever sees INTERNAL "internal error".
 */
export function unaryCall<Req, Res>(
  method: string,
  deps: RpcDependencies,
  body: UnaryBody<Req, Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const startedMs = performance.now();
    const request: unknown = call.request;
    const requestId = requestIdOf(request, call.metadata.get("x-request-id")[0]);
    let project: string | undefined;
    const finish = async () => {
      let response: Res | undefined;
      let failure: unknown;
      try {
        project = deps.authenticator.authenticate(call.metadata);
        if (request instanceof MalformedRequest) {
          throw malformedRequest(`the request of ${request.path}`, request.cause);
        }
        response = await body(call.request, { project, requestId });
      } catch (error) {
        failure = error;
      }
      const trailer = new Metadata();
      trailer.set("x-request-id", requestId);
      const line: CallLine = {
        method,
        requestId,
        project,
        walletId: walletIdOf(request, response),
        holdId: holdIdOf(request),
        latencyMs: 0,
      };
      if (failure === undefined) {
        line.latencyMs = elapsedMs(startedMs);
        logCall(deps.logger, "info", line, { code: status.OK, reason: undefined });
        callback(null, response, trailer);
        return;
      }
      const error = errorToStatus(failure);
      error.metadata.merge(trailer);
      line.latencyMs = elapsedMs(startedMs);
      logCall(deps.logger, "info", line, { code: error.code, reason: error.reason, failure });
      callback(error);
    };
    finish().catch((error: unknown) => {
      // Only reachable if logging or the callback itself threw; never let it take the process down.
      deps.logger.error({ method, requestId, err: error }, "rpc handler failed after completion");
      try {
        callback({ code: status.INTERNAL, details: "internal error" });
      } catch {
        // The call is already finished; nothing left to tell the client.
      }
    });
  };
}
