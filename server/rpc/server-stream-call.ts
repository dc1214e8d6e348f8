import { performance } from "node:perf_hooks";
import {
  type handleServerStreamingCall,
  Metadata,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import type { LedgerError } from "../ledger/ledger-error.js";
import { type CallLine, elapsedMs, logCall, requestIdOf, walletIdOf } from "./call-log.js";
import { errorToStatus } from "./error-status.js";
import { MalformedRequest, malformedRequest } from "./malformed-request.js";
import type { CallContext, RpcDependencies } from "./unary-call.js";

/** A server-streaming handler body: decode -> feed -> encode, as an async iterable. */
export type StreamBody<Req, Res> = (
  request: Req,
  context: CallContext & { signal: AbortSignal },
) => AsyncIterable<Res>;

export interface ServerStreamOptions<Res> {
  /**
   * How long the client may leave written messages unread (grpc-js reports its buffer full)
   * before the stream ends with `tooSlow(lastWritten)`, so that it resumes by cursor instead of
   * holding the server's memory.
   */
  stallMs: number;
  tooSlow: (lastWritten: Res) => LedgerError;
}

/** The status of a stream the server's shutdown ended: UNAVAILABLE, so its client resumes. */
class WoundDown extends Error {}

/**
 * Wraps a streaming body into a grpc-js server-streaming handler that never throws: it
 * authenticates, pulls the body's messages only as fast as the client reads them (write, and on
 * a full buffer wait for 'drain'), ends the body when the client cancels or the server shuts
 * down (UNAVAILABLE, so the client resumes elsewhere), turns any failure into a status through {@link errorToStatus}, and writes one log line
 * when the call ends, as unary calls do.
 */
export function serverStreamCall<Req, Res>(
  method: string,
  deps: RpcDependencies,
  body: StreamBody<Req, Res>,
  options: ServerStreamOptions<Res>,
): handleServerStreamingCall<Req, Res> {
  return (call) => {
    const startedMs = performance.now();
    const request: unknown = call.request;
    const requestId = requestIdOf(request, call.metadata.get("x-request-id")[0]);
    const controller = new AbortController();
    let ending: Error | undefined;
    const end = (why: Error) => {
      ending ??= why;
      controller.abort();
    };
    call.on("cancelled", () => controller.abort());
    // grpc-js turns a stream error into the call's status; this only keeps a write racing a
    // cancel from becoming an unhandled 'error' event.
    call.on("error", () => {});
    const forget = deps.streams.add(() => end(new WoundDown()));
    let project: string | undefined;
    const run = async () => {
      project = deps.authenticator.authenticate(call.metadata);
      if (request instanceof MalformedRequest) {
        throw malformedRequest(`the request of ${request.path}`, request.cause);
      }
      for await (const message of body(call.request, {
        project,
        requestId,
        signal: controller.signal,
      })) {
        if (controller.signal.aborted) break;
        if (!call.write(message) && !(await drained(call, options.stallMs, controller.signal))) {
          if (!controller.signal.aborted) end(options.tooSlow(message));
          break;
        }
      }
      if (ending) throw ending;
    };
    run()
      .then(
        () => finish(undefined),
        (failure: unknown) => finish(failure),
      )
      .finally(forget);

    const finish = (failure: unknown) => {
      const line: CallLine = {
        method,
        requestId,
        project,
        walletId: walletIdOf(request, undefined),
        holdId: undefined,
        latencyMs: elapsedMs(startedMs),
      };
      if (call.cancelled) {
        logCall(deps.logger, "info", line, { code: status.CANCELLED, reason: undefined });
        return;
      }
      const trailer = new Metadata();
      trailer.set("x-request-id", requestId);
      try {
        if (failure === undefined) {
          logCall(deps.logger, "info", line, { code: status.OK, reason: undefined });
          call.end(trailer);
          return;
        }
        if (failure instanceof WoundDown) {
          logCall(deps.logger, "info", line, { code: status.UNAVAILABLE, reason: undefined });
          call.emit("error", {
            code: status.UNAVAILABLE,
            details: "server shutting down; resume by cursor",
            metadata: trailer,
          });
          return;
        }
        const error = errorToStatus(failure);
        error.metadata.merge(trailer);
        logCall(deps.logger, "info", line, { code: error.code, reason: error.reason, failure });
        call.emit("error", error);
      } catch (error) {
        deps.logger.error({ method, requestId, err: error }, "rpc stream failed after completion");
      }
    };
  };
}

/** Resolves true once the client has read the buffer, false after `stallMs` or an abort. */
function drained(
  call: ServerWritableStream<unknown, unknown>,
  stallMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      call.off("drain", onDrain);
      signal.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(false), stallMs);
    call.on("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
