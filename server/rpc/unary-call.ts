import { type handleUnaryCall, Metadata, status } from "@grpc/grpc-js";
import type { RpcDependencies, UnaryBody } from "./bodies.js";
import { requestIdOf } from "./call-log.js";
import { runUnary } from "./call-runner.js";
import { grpcStatusOf } from "./error-status.js";

export type { CallContext, RpcDependencies, UnaryBody } from "./bodies.js";

/**
 * Wraps a handler body into a grpc-js unary handler that can never throw or reject. The call runs
 * through {@link runUnary} (authenticate, refuse an undecodable request, run the body, map any
 * failure, one log line per call with `transport: "grpc"`, metrics); this adapter only renders:
 * the response, or the status with its `grpc-status-details-bin` trailer ({@link grpcStatusOf}),
 * and the request id in an `x-request-id` trailer. An unexpected error is logged with its stack
 * at `error`; the client only ever sees INTERNAL "internal error".
 */
export function unaryCall<Req, Res>(
  method: string,
  deps: RpcDependencies,
  body: UnaryBody<Req, Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const request: unknown = call.request;
    const requestId = requestIdOf(request, call.metadata.get("x-request-id")[0]);
    const finish = async () => {
      const outcome = await runUnary(
        deps,
        {
          method,
          transport: "grpc",
          request,
          authorization: call.metadata.get("authorization")[0],
          requestId,
        },
        body,
      );
      const trailer = new Metadata();
      trailer.set("x-request-id", requestId);
      if (outcome.ok) {
        callback(null, outcome.response, trailer);
        return;
      }
      const error = grpcStatusOf(outcome.failure);
      error.metadata.merge(trailer);
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
