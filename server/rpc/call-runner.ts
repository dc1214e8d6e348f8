import { performance } from "node:perf_hooks";
import { status } from "@grpc/grpc-js";
import { publicMethods } from "../auth/access-policy.js";
import type { Caller } from "../auth/caller.js";
import type { LedgerError } from "../ledger/ledger-error.js";
import type { Transport } from "../metrics/metrics.js";
import type { CallContext, RpcDependencies, ServerStreamBody, UnaryBody } from "./bodies.js";
import {
  type CallLine,
  type CallOutcome,
  codeName,
  elapsedMs,
  holdIdOf,
  logCall,
  walletIdOf,
} from "./call-log.js";
import { errorToRpcStatus, type RpcStatus } from "./error-status.js";
import { MalformedRequest, malformedRequest } from "./malformed-request.js";

/**
 * The life of one call, the same on every transport: authenticate, refuse an undecodable request,
 * run the body, map a failure to a `google.rpc.Status` ({@link errorToRpcStatus}), write one log
 * line and count it. Each transport only decodes before and renders after: grpc-js
 * (`unary-call.ts`, `server-stream-call.ts`) and the HTTP face (`server/http/connect-call.ts`).
 */

/** A call as a transport hands it over. */
export interface IncomingCall {
  /** As logged: `Spend`, `WatchEvents`, ... */
  method: string;
  transport: Transport;
  /** The decoded ts-proto request, or a {@link MalformedRequest} when its bytes did not decode. */
  request: unknown;
  /** The `authorization` header or metadata value, as received. */
  authorization: unknown;
  /** The call's request id (`requestIdOf`), which the transport echoes as `x-request-id`. */
  requestId: string;
}

/** How a unary call ended: its response, or the status to send. */
export type UnaryOutcome<Res> = { ok: true; response: Res } | { ok: false; failure: RpcStatus };

/**
 * Runs a unary call. Every failure, including the body's bugs, comes back as the status to send
 * (an unexpected error as INTERNAL "internal error", logged with its stack); it rejects only if
 * writing the log line itself failed.
 */
export async function runUnary<Req, Res>(
  deps: RpcDependencies,
  call: IncomingCall,
  body: UnaryBody<Req, Res>,
): Promise<UnaryOutcome<Res>> {
  const startedMs = performance.now();
  let project: string | undefined;
  let response: Res | undefined;
  let thrown: { error: unknown } | undefined;
  try {
    const caller = await authenticate(deps, call);
    project = caller.project;
    refuseMalformed(call.request);
    await deps.access.check(caller, call.method, call.request);
    response = await body(call.request as Req, {
      project,
      agent: caller.agent,
      requestId: call.requestId,
    });
  } catch (error) {
    thrown = { error };
  }
  if (thrown === undefined) {
    finish(deps, call, startedMs, project, { code: status.OK, reason: undefined }, response);
    return { ok: true, response: response as Res };
  }
  const failure = errorToRpcStatus(thrown.error);
  const outcome = { code: failure.status.code, reason: failure.reason, failure: thrown.error };
  finish(deps, call, startedMs, project, outcome, undefined);
  return { ok: false, failure };
}

/** What a server stream's transport provides: a way to send, and word of the client leaving. */
export interface StreamSink<Res> {
  /**
   * Sends one message. Returns nothing when the transport can take the next one at once, else a
   * promise that resolves when it can.
   */
  send(message: Res): Promise<void> | undefined;
  /** Aborted when the client cancels or goes away. */
  clientGone: AbortSignal;
}

/**
 * How a server stream ended: OK (`failure` undefined), with a status to send, or cancelled by its
 * client (nothing left to send).
 */
export interface StreamOutcome {
  failure: RpcStatus | undefined;
  cancelled: boolean;
}

/** How long a server stream's client may leave sent messages unread, and what it then gets. */
export interface StreamStallLimit<Res> {
  /**
   * How long a message may wait for the transport to take it (the client reads slower than the
   * body produces: grpc-js's buffer is full, or Connect has not finished writing the previous
   * one) before the stream ends with `tooSlow(lastSent)`, so the client resumes later instead of
   * holding the server's memory.
   */
  stallMs: number;
  /** The error the stream then ends with; `lastSent` is the message that waited (it was sent). */
  tooSlow: (lastSent: Res) => LedgerError;
}

/**
 * The status a server stream ends with when the server shuts down: UNAVAILABLE, so the client
 * reconnects (to another replica) and resumes by cursor after the last message it received.
 */
export const streamShutdownStatus: RpcStatus = {
  status: {
    code: status.UNAVAILABLE,
    message: "server shutting down; resume by cursor",
    details: [],
  },
  reason: undefined,
};

const stopped = Symbol("stopped");
const stalled = Symbol("stalled");

/**
 * Runs a server stream: opens it like a unary call, then sends the body's messages one at a time
 * (the next only once the transport took the previous one), until the body ends (OK), throws
 * (its status), the client leaves (cancelled), stops reading for longer than the stall limit
 * (the limit's error) or the server shuts down (UNAVAILABLE, {@link streamShutdownStatus}).
 * However it ends, the body's signal is aborted and its iterator returned; the stream does not
 * wait for a body that ignores them. One log line when the stream ends (with the number of
 * messages sent), counted in the metrics like a call; open streams are counted too. Rejects only
 * if writing the log line itself failed.
 */
export async function runServerStream<Req, Res>(
  deps: RpcDependencies,
  call: IncomingCall,
  body: ServerStreamBody<Req, Res>,
  sink: StreamSink<Res>,
  stallLimit?: StreamStallLimit<Res>,
): Promise<StreamOutcome> {
  const startedMs = performance.now();
  let project: string | undefined;
  let caller: Caller;
  try {
    caller = await authenticate(deps, call);
    project = caller.project;
    refuseMalformed(call.request);
    await deps.access.check(caller, call.method, call.request);
  } catch (error) {
    const failure = errorToRpcStatus(error);
    const outcome = { code: failure.status.code, reason: failure.reason, failure: error };
    finish(deps, call, startedMs, project, outcome, undefined);
    return { failure, cancelled: false };
  }
  const context: CallContext = { project, agent: caller.agent, requestId: call.requestId };

  const controller = new AbortController();
  let why: "cancelled" | "shutdown" | undefined;
  const stop = (reason: "cancelled" | "shutdown") => {
    why ??= reason;
    controller.abort();
  };
  const onGone = () => stop("cancelled");
  sink.clientGone.addEventListener("abort", onGone, { once: true });
  if (sink.clientGone.aborted) stop("cancelled");
  const forget = deps.serverStreams.add(() => stop("shutdown"));
  const abortedNow = new Promise<typeof stopped>((resolve) => {
    if (controller.signal.aborted) resolve(stopped);
    controller.signal.addEventListener("abort", () => resolve(stopped), { once: true });
  });
  deps.metrics.serverStreamOpened(call.method, call.transport);

  let messages = 0;
  let thrown: { error: unknown } | undefined;
  let iterator: AsyncIterator<Res> | undefined;
  try {
    iterator = body(call.request as Req, { ...context, signal: controller.signal })[
      Symbol.asyncIterator
    ]();
    for (;;) {
      const pending = iterator.next();
      // Raced below: once the stream has stopped, a later rejection must not go unhandled.
      pending.catch(() => {});
      const next = await Promise.race([pending, abortedNow]);
      if (next === stopped || next.done) break;
      const sent = sink.send(next.value);
      if (sent !== undefined) {
        sent.catch(() => {});
        const timer = stallLimit && stallTimer(stallLimit.stallMs);
        const taken = await Promise.race(
          timer === undefined ? [sent, abortedNow] : [sent, abortedNow, timer.expired],
        );
        timer?.cancel();
        if (taken === stopped) break;
        if (taken === stalled && stallLimit !== undefined) {
          messages += 1;
          throw stallLimit.tooSlow(next.value);
        }
      }
      messages += 1;
    }
  } catch (error) {
    thrown = { error };
  } finally {
    sink.clientGone.removeEventListener("abort", onGone);
    forget();
    deps.metrics.serverStreamClosed(call.method, call.transport);
    // However the stream ended, the body is done: abort its signal and end its iterator (a no-op
    // when it finished by itself). It may be waiting for its next event, so this is not awaited.
    controller.abort();
    iterator?.return?.()?.catch(() => {});
  }

  let result: StreamOutcome;
  let outcome: CallOutcome;
  if (why === "cancelled") {
    result = { failure: undefined, cancelled: true };
    outcome = { code: status.CANCELLED, reason: undefined };
  } else if (why === "shutdown") {
    result = { failure: streamShutdownStatus, cancelled: false };
    outcome = { code: status.UNAVAILABLE, reason: undefined };
  } else if (thrown !== undefined) {
    const failure = errorToRpcStatus(thrown.error);
    result = { failure, cancelled: false };
    outcome = { code: failure.status.code, reason: failure.reason, failure: thrown.error };
  } else {
    result = { failure: undefined, cancelled: false };
    outcome = { code: status.OK, reason: undefined };
  }
  finish(deps, call, startedMs, context.project, outcome, undefined, { messages });
  return result;
}

/** A timer that resolves {@link stalled} after `ms`, unless cancelled first. */
function stallTimer(ms: number): { expired: Promise<typeof stalled>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof stalled>((resolve) => {
    timer = setTimeout(() => resolve(stalled), ms);
  });
  return { expired, cancel: () => clearTimeout(timer) };
}

/**
 * Refuses a request whose bytes did not decode: after authentication, so an unauthenticated
 * caller learns nothing, and as a refusal that names the client's fault (MALFORMED_REQUEST).
 */
function refuseMalformed(request: unknown): void {
  if (request instanceof MalformedRequest) {
    throw malformedRequest(`the request of ${request.path}`, request.cause);
  }
}

/** The call's one log line, and its count in the metrics. */
/** The caller of a call; public methods (`publicMethods`) have none to check. */
function authenticate(deps: RpcDependencies, call: IncomingCall): Caller | Promise<Caller> {
  if (publicMethods.has(call.method)) return { project: "", agent: undefined };
  return deps.authenticator.authenticateHeader(call.authorization);
}

function finish(
  deps: RpcDependencies,
  call: IncomingCall,
  startedMs: number,
  project: string | undefined,
  outcome: CallOutcome,
  response: unknown,
  extra: Pick<CallLine, "messages"> = {},
): void {
  const latencyMs = elapsedMs(startedMs);
  const line: CallLine = {
    method: call.method,
    transport: call.transport,
    requestId: call.requestId,
    project,
    walletId: walletIdOf(call.request, response),
    holdId: holdIdOf(call.request),
    latencyMs,
    ...extra,
  };
  logCall(deps.logger, "info", line, outcome);
  deps.metrics.observeCall({
    method: call.method,
    transport: call.transport,
    code: codeName(outcome.code),
    reason: outcome.reason,
    seconds: latencyMs / 1000,
    project,
    response,
  });
}
