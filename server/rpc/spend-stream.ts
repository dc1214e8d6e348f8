import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import {
  type handleBidiStreamingCall,
  type Metadata,
  type ServerDuplexStream,
  status,
} from "@grpc/grpc-js";
import {
  SpendStreamRequest,
  type SpendStreamResponse,
  WalletServiceService,
} from "../../gen/ts-proto/tollgate/v1/wallet_service.js";
import type { Caller } from "../auth/caller.js";
import { invalidArgument } from "../ledger/ledger-error.js";
import type { RpcDependencies, UnaryBody } from "./bodies.js";
import {
  type CallLine,
  codeName,
  elapsedMs,
  holdIdOf,
  logCall,
  ownRequestIdOf,
  walletIdOf,
} from "./call-log.js";
import { errorToRpcStatus, errorToStatus } from "./error-status.js";
import { malformedRequest } from "./malformed-request.js";
import type { OpenStreams } from "./open-streams.js";
import type { SpendOperations } from "./spend-operations.js";

/**
 * Operations of one stream run at the same time at most (the contract promises 256). Beyond it
 * the stream stops reading, so HTTP/2 flow control pushes back on the client instead of the
 * server queueing unbounded work for one caller.
 */
export const maxInFlightOps = 256;

/**
 * SpendStream as registered with grpc-js: the generated method, except that its requests reach
 * the handler as the raw bytes, which {@link spendStreamCall} decodes itself. When the generated
 * decoder throws inside grpc-js, grpc-js ends the stream with INTERNAL "Error deserializing
 * request" and only tells the handler the call was cancelled, so the client would not learn the
 * fault is its own, nor would anything log why the stream ended.
 */
export const spendStreamMethod = {
  ...WalletServiceService.spendStream,
  requestDeserialize: (bytes: Buffer): Buffer => bytes,
} as const;

/**
 * The status a stream ends with when the server shuts down. UNAVAILABLE, because it is one: every
 * client treats it as "reconnect and resend what was not answered", which is exactly right, since
 * every operation the stream read was answered first and none it did not read was run.
 */
const shuttingDown = {
  code: status.UNAVAILABLE,
  details: "server shutting down; operations not answered on this stream were not run: resend them",
} as const;

type Call = ServerDuplexStream<Buffer, SpendStreamResponse>;
type OperationKey = "spend" | "authorize" | "capture" | "void";

/** The oneof cases, with the method name each one logs as. */
const operationKeys: ReadonlyArray<[OperationKey, string]> = [
  ["spend", "SpendStream.Spend"],
  ["authorize", "SpendStream.Authorize"],
  ["capture", "SpendStream.Capture"],
  ["void", "SpendStream.Void"],
];

/** The unary method each operation means, for the access policy (agent keys' scope). */
const operationMethods: Readonly<Record<OperationKey, string>> = {
  spend: "Spend",
  authorize: "Authorize",
  capture: "Capture",
  void: "Void",
};

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
 * Shutdown ({@link OpenStreams.windDownAll}): the stream stops reading at once, answers the
 * operations already running, then ends with UNAVAILABLE (OK if the client had half-closed, since
 * then every operation was read and answered). Operations the client sent but the stream had not
 * read are never run, so the client resends them, by request_id, to the next server: each sent
 * operation is either answered here or safe to resend. An UNAVAILABLE answer per operation would
 * do the same with more wire and more code, and would spend one of the client's retry attempts.
 *
 * A message with several operations set (ts-proto keeps every case it decodes, where protobuf
 * would keep the last one on the wire) is refused like one with none: INVALID_ARGUMENT on field
 * `operation`, and nothing runs. A message that does not decode at all (it has no correlation id
 * to answer under) ends the stream with INVALID_ARGUMENT and an ErrorInfo MALFORMED_REQUEST in the
 * trailer (see {@link spendStreamMethod}); operations already running are not answered.
 *
 * Logging: one `info` line when a stream opens and one when it closes (with its operation count
 * and code; `warn` with the cause when the server ended it with an error), one `debug` line per
 * operation (a busy stream would otherwise write thousands of lines a second) and when the stream
 * half-closes or waits for the client to read, and, as for unary calls, `warn` for an unavailable
 * store and `error` with the stack for an unexpected failure (the client only sees INTERNAL
 * "internal error").
 */
export function spendStreamCall(
  deps: RpcDependencies,
  operations: SpendOperations,
): handleBidiStreamingCall<Buffer, SpendStreamResponse> {
  return (call) => {
    // A bug in the stream's own bookkeeping must never escape into grpc-js. Messages the client
    // sends while an agent key is looked up wait in the call's buffer (nothing reads it yet).
    openStream(call, deps, operations).catch((error: unknown) => {
      deps.logger.error({ method: "SpendStream", err: error }, "stream handler failed");
      failStream(call, { code: status.INTERNAL, details: "internal error" });
    });
  };
}

async function openStream(
  call: Call,
  deps: RpcDependencies,
  operations: SpendOperations,
): Promise<void> {
  const { logger } = deps;
  const openedMs = performance.now();
  // Names the stream in its log lines, and stands in for an operation's missing request_id.
  const streamId = randomUUID();
  let caller: Caller;
  try {
    caller = await deps.authenticator.authenticate(call.metadata);
  } catch (error) {
    const refused = errorToStatus(error);
    const latencyMs = elapsedMs(openedMs);
    logCall(
      logger,
      "info",
      {
        method: "SpendStream",
        transport: "grpc",
        requestId: streamId,
        project: undefined,
        walletId: undefined,
        holdId: undefined,
        latencyMs,
      },
      { code: refused.code, reason: refused.reason, failure: error },
    );
    deps.metrics.observeCall({
      method: "SpendStream",
      transport: "grpc",
      code: codeName(refused.code),
      reason: refused.reason,
      seconds: latencyMs / 1000,
      project: undefined,
      response: undefined,
    });
    failStream(call, refused);
    return;
  }
  const project = caller.project;
  logger.info({ method: "SpendStream", transport: "grpc", streamId, project }, "stream open");

  const logOps = logger.isLevelEnabled("debug");
  let ops = 0;
  let inFlight = 0;
  let halfClosed = false;
  let waitingForDrain = false;
  let windingDown = false;
  /** Messages grpc-js delivered after shutdown began, dropped unread (the rest stay buffered). */
  let unread = 0;
  let closed = false;
  let forget = () => {};

  const close = (code: status, failure?: unknown) => {
    if (closed) return;
    closed = true;
    forget();
    const entry = {
      method: "SpendStream",
      transport: "grpc",
      streamId,
      project,
      code: status[code],
      ops,
      latencyMs: elapsedMs(openedMs),
    };
    // The stream itself counts as one call when it closes; its operations counted one by one.
    deps.metrics.observeCall({
      method: "SpendStream",
      transport: "grpc",
      code: codeName(code),
      reason: undefined,
      seconds: entry.latencyMs / 1000,
      project,
      response: undefined,
    });
    // A client's own cancel, and a shutdown, are routine; a stream the server ended with an error
    // needs a look.
    if (windingDown) logger.info({ ...entry, shuttingDown: true, unread }, "stream closed");
    else if (code === status.OK || code === status.CANCELLED) logger.info(entry, "stream closed");
    else logger.warn({ ...entry, err: failure }, "stream closed");
  };
  const writable = () => !closed && !call.cancelled && !call.destroyed && !call.writableEnded;
  const resumeIfReady = () => {
    if (!closed && !windingDown && inFlight < maxInFlightOps && !waitingForDrain) call.resume();
  };
  const endIfDone = () => {
    if (!(halfClosed || windingDown) || inFlight > 0 || closed) return;
    // OK only when every message the client sent was read and answered.
    if (halfClosed && unread === 0) {
      if (writable()) call.end();
      close(status.OK);
      return;
    }
    close(shuttingDown.code);
    failStream(call, shuttingDown);
  };

  /** Every operation counts in the metrics like a unary call (method `SpendStream.Spend`, ...). */
  const observe = (line: CallLine, code: string, reason: string | undefined, response: unknown) =>
    deps.metrics.observeCall({
      method: line.method,
      transport: "grpc",
      code,
      reason,
      seconds: line.latencyMs / 1000,
      project,
      response,
    });

  const answer = async (message: SpendStreamRequest): Promise<SpendStreamResponse> => {
    const startedMs = performance.now();
    const correlationId = message.correlationId;
    const set = operationKeys.filter(([key]) => message[key] !== undefined);
    const found = set.length === 1 ? set[0] : undefined;
    const request: unknown = found === undefined ? undefined : message[found[0]];
    const line: CallLine = {
      method: found?.[1] ?? (set.length === 0 ? "SpendStream.Unset" : "SpendStream.Several"),
      transport: "grpc",
      requestId: ownRequestIdOf(request) ?? `${streamId}/${correlationId}`,
      project,
      walletId: undefined,
      holdId: holdIdOf(request),
      latencyMs: 0,
    };
    try {
      if (found === undefined) {
        throw invalidArgument(
          "operation",
          "exactly one of spend, authorize, capture or void must be set",
        );
      }
      const key = found[0];
      // Each key's body takes that key's request type; the oneof lookup above pairs them.
      const body = operations[key] as UnaryBody<unknown, unknown>;
      await deps.access.check(caller, operationMethods[key], request);
      const result = await body(request, {
        project,
        agent: caller.agent,
        requestId: line.requestId,
      });
      line.latencyMs = elapsedMs(startedMs);
      if (logOps) {
        line.walletId = walletIdOf(request, result);
        logCall(logger, "debug", line, { code: status.OK, reason: undefined });
      }
      observe(line, "OK", undefined, result);
      return { correlationId, [key]: result };
    } catch (failure) {
      const error = errorToRpcStatus(failure);
      line.walletId = walletIdOf(request, undefined);
      line.latencyMs = elapsedMs(startedMs);
      logCall(logger, "debug", line, { code: error.status.code, reason: error.reason, failure });
      observe(line, codeName(error.status.code), error.reason, undefined);
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
        logger.debug({ method: "SpendStream", streamId, inFlight }, "stream waiting for drain");
      }
    } finally {
      resumeIfReady();
      endIfDone();
    }
  };

  call.on("data", (bytes: Buffer) => {
    // Messages grpc-js had already read when the stream failed are not run; nor are those that
    // come after shutdown began (the client resends them, as they get no answer).
    if (closed) return;
    if (windingDown) {
      unread += 1;
      return;
    }
    let message: SpendStreamRequest;
    try {
      message = SpendStreamRequest.decode(bytes);
    } catch (error) {
      // No correlation id to answer under: the stream ends, naming the client's fault.
      const malformed = errorToStatus(malformedRequest("a SpendStream message", error));
      close(malformed.code, error);
      failStream(call, malformed);
      return;
    }
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
    logger.debug({ method: "SpendStream", streamId, inFlight }, "stream half-closed");
    endIfDone();
  });
  call.on("cancelled", () => close(status.CANCELLED));
  forget = deps.streams.add(() => {
    if (closed || windingDown) return;
    windingDown = true;
    call.pause();
    logger.debug({ method: "SpendStream", streamId, inFlight }, "stream winding down");
    endIfDone();
  });
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
