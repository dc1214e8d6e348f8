import {
  type handleServerStreamingCall,
  Metadata,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import type { RpcDependencies, ServerStreamBody } from "./bodies.js";
import { requestIdOf } from "./call-log.js";
import { runServerStream, type StreamSink, type StreamStallLimit } from "./call-runner.js";
import { grpcStatusOf } from "./error-status.js";

/** A server-streaming handler body (see {@link ServerStreamBody}). */
export type StreamBody<Req, Res> = ServerStreamBody<Req, Res>;

/** How long a client may leave messages unread, and the error it then gets. */
export type ServerStreamOptions<Res> = StreamStallLimit<Res>;

/**
 * Wraps a server-streaming body into a grpc-js handler that can never throw or reject. The stream
 * runs through {@link runServerStream} (auth, malformed requests, the stall limit, shutdown, one
 * log line, metrics), exactly as on the HTTP face; this adapter only moves the messages:
 * `write()`, and when it returns false (the client reads slower than the body produces) the next
 * message waits for `drain`, so a slow watcher holds back its own body instead of growing a
 * buffer in the server, until `options.stallMs` ends it with `options.tooSlow`. A client's cancel
 * aborts the body's signal. The stream ends OK with an `x-request-id` trailer, or with the
 * failure's status (its `grpc-status-details-bin` trailer included), or UNAVAILABLE at shutdown
 * so the client resumes elsewhere.
 */
export function serverStreamCall<Req, Res>(
  method: string,
  deps: RpcDependencies,
  body: ServerStreamBody<Req, Res>,
  options?: ServerStreamOptions<Res>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const request: unknown = call.request;
    const requestId = requestIdOf(request, call.metadata.get("x-request-id")[0]);
    const gone = new AbortController();
    const onCancelled = () => gone.abort();
    call.on("cancelled", onCancelled);
    // grpc-js turns a write racing a cancel into an 'error' event; the cancel is already handled.
    call.on("error", () => {});
    const run = async () => {
      const outcome = await runServerStream(
        deps,
        {
          method,
          transport: "grpc",
          request,
          authorization: call.metadata.get("authorization")[0],
          requestId,
        },
        body,
        sinkOf(call, gone.signal),
        options,
      );
      call.off("cancelled", onCancelled);
      if (outcome.cancelled || call.cancelled) return;
      const trailer = new Metadata();
      trailer.set("x-request-id", requestId);
      if (outcome.failure === undefined) {
        call.end(trailer);
        return;
      }
      const error = grpcStatusOf(outcome.failure);
      error.metadata.merge(trailer);
      call.emit("error", error);
    };
    run().catch((error: unknown) => {
      // Only reachable if logging or ending the call threw; never let it take the process down.
      deps.logger.error(
        { method, requestId, err: error },
        "stream handler failed after completion",
      );
      try {
        call.emit("error", { code: status.INTERNAL, details: "internal error" });
      } catch {
        // The call is already finished; nothing left to tell the client.
      }
    });
  };
}

function sinkOf<Res>(
  call: ServerWritableStream<unknown, Res>,
  clientGone: AbortSignal,
): StreamSink<Res> {
  return {
    clientGone,
    send(message) {
      if (call.write(message)) return undefined;
      return new Promise((resolve) => {
        // No reject path: a cancel while waiting aborts `clientGone`, which the runner races.
        call.once("drain", () => resolve());
      });
    },
  };
}
