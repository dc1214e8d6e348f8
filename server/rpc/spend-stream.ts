import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import {
  type handleBidiStreamingCall,
  type Metadata,
  type ServerDuplexStream,
  status,
} from "@grpc/grpc-js";
import type {
  SpendStreamRequest,
  SpendStreamResponse,
} from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import { invalidArgument } from "../ledger/ledger-error.js";
import {
  type CallLine,
  elapsedMs,
  holdIdOf,
  logCall,
  ownRequestIdOf,
  walletIdOf,
} from "./call-log.js";
import { errorToRpcStatus, errorToStatus } from "./error-status.js";
import type { SpendOperations } from "./spend-operations.js";
import type { RpcDependencies, UnaryBody } from "./unary-call.js";

/**
 * Operations of one stream run at the same time at most (the contract promises 256). Beyond it
 * the stream stops reading, so HTTP/2 flow control pushes back on the client instead of the
 * server queueing unbounded work for one caller.
 */
export const maxInFlightOps = 256;

type Call = ServerDuplexStream<SpendStreamRequest, SpendStreamResponse>;
type OperationKey = "spend" | "authorize" | "capture" | "void";

/** The oneof cases in wire-field order, with the method name each one logs as. */
const operationKeys: ReadonlyArray<[OperationKey, string]> = [
  ["spend", "SpendStream.Spend"],
  ["authorize", "SpendStream.Authorize"],
  ["capture", "SpendStream.Capture"],
  ["void", "SpendStream.Void"],
];

/**
 * The grpc-js handler of WalletService.SpendStream: many Spend, Authorize, Capture and Void
 * operations on one bidirectional stream, each answered once, in completion order, under its
 * correlation id. Each operation runs the unary RPC's own body ({@link SpendOperations}), so its
 * semantics, idempotency and errors are exactly the unary ones; a failure becomes that operation's
 * `google.rpc.Status` ({@link errorToRpcStatus}) and never ends the stream.
 *
 * The API key is checked once, when the stream opens; a refusal fails the whole stream with
 * UNAUTHENTICATED and the same trailer as a unary call. Flow control: at most
 * {@link maxInFlightOps} operations run at once, and while the client reads answers slower than
 * they come (`write()` returned false) nothing more is read until `drain`. When the client
 * half-closes, the running operations finish and then the stream ends OK. When it cancels,
 * running operations still complete in the ledger (a debit cannot be taken back half-way) but
 * their answers are dropped; the client resends them by request_id on a new stream.
 *
 * Logging: one `info` line when a stream opens and one when it closes (with its operation count),
 * one `debug` line per operation (a busy stream would otherwise write thousands of lines a
 * second), and, as for unary calls, `warn` for an unavailable store and `error` with the stack for
 * an unexpected failure (the client only sees INTERNAL "internal error").
 */
export function spendStreamCall(
  deps: RpcDependencies,
  operations: SpendOperations,
): handleBidiStreamingCall<SpendStreamRequest, SpendStreamResponse> {
  return (call) => {
    try {
      openStream(call, deps, operations);
    } catch (error) {
      // A bug in the stream's own bookkeeping; never let it escape into grpc-js.
      deps.logger.error({ method: "SpendStream", err: error }, "stream handler failed");
      failStream(call, { code: status.INTERNAL, details: "internal error" });
    }
  };
}

function openStream(call: Call, deps: RpcDependencies, operations: SpendOperations): void {
  const { logger } = deps;
  const openedMs = performance.now();
  // Names the stream in its log lines, and stands in for an operation's missing request_id.
  const streamId = randomUUID();
  let project: string;
  try {
    project = deps.authenticator.authenticate(call.metadata);
  } catch (error) {
    const refused = errorToStatus(error);
    logCall(
      logger,
      "info",
      {
        method: "SpendStream",
        requestId: streamId,
        project: undefined,
        walletId: undefined,
        holdId: undefined,
        latencyMs: elapsedMs(openedMs),
      },
      { code: refused.code, reason: refused.reason, failure: error },
    );
    failStream(call, refused);
    return;
  }
  logger.info({ method: "SpendStream", streamId, project }, "stream open");

  const logOps = logger.isLevelEnabled("debug");
  let ops = 0;
  let inFlight = 0;
  let halfClosed = false;
  let waitingForDrain = false;
  let closed = false;

  const close = (code: "OK" | "CANCELLED") => {
    if (closed) return;
    closed = true;
    logger.info(
      { method: "SpendStream", streamId, project, code, ops, latencyMs: elapsedMs(openedMs) },
      "stream closed",
    );
  };
  const writable = () => !closed && !call.cancelled && !call.destroyed && !call.writableEnded;
  const resumeIfReady = () => {
    if (!closed && inFlight < maxInFlightOps && !waitingForDrain) call.resume();
  };
  const endIfDone = () => {
    if (!halfClosed || inFlight > 0 || closed) return;
    if (writable()) call.end();
    close("OK");
  };

  const answer = async (message: SpendStreamRequest): Promise<SpendStreamResponse> => {
    const startedMs = performance.now();
    const correlationId = message.correlationId;
    const found = operationKeys.find(([key]) => message[key] !== undefined);
    const request: unknown = found === undefined ? undefined : message[found[0]];
    const line: CallLine = {
      method: found?.[1] ?? "SpendStream.Unset",
      requestId: ownRequestIdOf(request) ?? `${streamId}/${correlationId}`,
      project,
      walletId: undefined,
      holdId: holdIdOf(request),
      latencyMs: 0,
    };
    try {
      if (found === undefined) {
        throw invalidArgument("operation", "set one of spend, authorize, capture or void");
      }
      const key = found[0];
      // Each key's body takes that key's request type; the oneof lookup above pairs them.
      const body = operations[key] as UnaryBody<unknown, unknown>;
      const result = await body(request, { project, requestId: line.requestId });
      if (logOps) {
        line.walletId = walletIdOf(request, result);
        line.latencyMs = elapsedMs(startedMs);
        logCall(logger, "debug", line, { code: status.OK, reason: undefined });
      }
      return { correlationId, [key]: result };
    } catch (failure) {
      const error = errorToRpcStatus(failure);
      line.walletId = walletIdOf(request, undefined);
      line.latencyMs = elapsedMs(startedMs);
      logCall(logger, "debug", line, { code: error.status.code, reason: error.reason, failure });
      return { correlationId, error: error.status };
    }
  };

  const run = async (message: SpendStreamRequest) => {
    let response: SpendStreamResponse | undefined;
    try {
      response = await answer(message);
    } finally {
      inFlight -= 1;
    }
    try {
      if (writable() && !call.write(response)) {
        waitingForDrain = true;
        call.pause();
      }
    } finally {
      resumeIfReady();
      endIfDone();
    }
  };

  call.on("data", (message: SpendStreamRequest) => {
    ops += 1;
    inFlight += 1;
    if (inFlight >= maxInFlightOps) call.pause();
    run(message).catch((error: unknown) => {
      // Only reachable if logging or writing itself threw; keep the stream's books straight.
      logger.error({ method: "SpendStream", streamId, err: error }, "stream operation failed");
    });
  });
  call.on("drain", () => {
    waitingForDrain = false;
    resumeIfReady();
  });
  call.on("end", () => {
    halfClosed = true;
    endIfDone();
  });
  call.on("cancelled", () => close("CANCELLED"));
  // grpc-js already turns a stream error into the call's status; this listener only keeps a write
  // racing a cancel from becoming an unhandled 'error' event.
  call.on("error", (error: unknown) => {
    logger.debug({ method: "SpendStream", streamId, err: error }, "stream error");
  });
}

/** Ends the stream with a status: grpc-js sends an emitted error as the call's status. */
function failStream(
  call: Call,
  failure: { code: status; details: string; metadata?: Metadata },
): void {
  try {
    call.emit("error", failure);
  } catch {
    // The call is already finished; nothing left to tell the client.
  }
}
