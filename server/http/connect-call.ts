import { type DescMethod, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { MethodDefinition } from "@grpc/grpc-js";
import type { RpcDependencies, ServerStreamBody, UnaryBody } from "../rpc/bodies.js";
import { requestIdOf } from "../rpc/call-log.js";
import {
  type IncomingCall,
  runServerStream,
  runUnary,
  type StreamOutcome,
  type StreamStallLimit,
} from "../rpc/call-runner.js";
import { MalformedRequest } from "../rpc/malformed-request.js";
import { connectErrorOf } from "./connect-error.js";
import { httpCallOf } from "./http-call.js";

/**
 * The ts-proto codecs of one method, as its grpc-js definition carries them: the same functions
 * grpc-js decodes and encodes with, so a body sees the same messages on both transports.
 */
export type MethodCodecs = Pick<
  MethodDefinition<unknown, unknown>,
  "requestDeserialize" | "responseSerialize"
>;

/**
 * A Connect unary handler running `body`. Connect has parsed the request (JSON or binary) into a
 * protobuf-es message; the bridge hands the body the ts-proto message it gets on grpc-js by
 * re-encoding those bytes (protobuf-es `toBinary` -> ts-proto decode), and turns its response
 * back the same way (ts-proto encode -> protobuf-es `fromBinary`), so bodies, the ledger and the
 * codec know one set of generated types (docs/architecture.md#two-generated-stacks says why a
 * bridge and what it costs). The call itself runs through `runUnary`, exactly as on grpc-js; the
 * failure is rendered as a Connect error with the same code, message and details
 * ({@link connectErrorOf}). The request id is echoed in an `x-request-id` response header.
 */
export function connectUnary(
  deps: RpcDependencies,
  method: DescMethod,
  codecs: MethodCodecs,
  body: UnaryBody<never, unknown>,
): (request: Message, context: HandlerContext) => Promise<Message> {
  return async (message, context) => {
    const incoming = incomingCall(method, codecs, message, context);
    context.responseHeader.set("x-request-id", incoming.requestId);
    const outcome = await runUnary(deps, incoming, body as UnaryBody<unknown, unknown>);
    if (!outcome.ok) {
      // The x-request-id is already a response header (an error's metadata would repeat it).
      throw connectErrorOf(outcome.failure);
    }
    return fromBinary(method.output, codecs.responseSerialize(outcome.response));
  };
}

/**
 * A Connect server-streaming handler running `body` through `runServerStream`, as grpc-js does.
 * Connect pulls messages from this generator and asks for the next one only once it has written
 * the previous one to the response, so a slow client holds back the body (backpressure) instead of
 * growing a buffer. The client leaving (Connect's signal, or Connect ending the generator) stops
 * the body; the stream's failure is thrown as a Connect error, which Connect sends in its end of
 * stream (Connect) or trailers (gRPC-Web).
 */
export function connectServerStream(
  deps: RpcDependencies,
  method: DescMethod,
  codecs: MethodCodecs,
  body: ServerStreamBody<never, unknown>,
  stallLimit?: StreamStallLimit<never>,
): (request: Message, context: HandlerContext) => AsyncIterable<Message> {
  return async function* (message, context) {
    const incoming = incomingCall(method, codecs, message, context);
    context.responseHeader.set("x-request-id", incoming.requestId);
    const gone = new AbortController();
    const onAbort = () => gone.abort();
    context.signal.addEventListener("abort", onAbort, { once: true });
    if (context.signal.aborted) gone.abort();

    // One message at a time: the runner's send() resolves once this generator was resumed
    // after yielding it, which Connect does after writing it.
    let slot: { message: unknown; taken: () => void } | undefined;
    let ended: { outcome: StreamOutcome } | { crash: unknown } | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      const resume = wake;
      wake = undefined;
      resume?.();
    };
    runServerStream(
      deps,
      incoming,
      body as ServerStreamBody<unknown, unknown>,
      {
        clientGone: gone.signal,
        send(next) {
          return new Promise<void>((resolve) => {
            slot = { message: next, taken: resolve };
            notify();
          });
        },
      },
      stallLimit as StreamStallLimit<unknown> | undefined,
    ).then(
      (outcome) => {
        ended = { outcome };
        notify();
      },
      (crash: unknown) => {
        ended = { crash };
        notify();
      },
    );

    try {
      for (;;) {
        if (slot !== undefined) {
          const { message: next, taken } = slot;
          slot = undefined;
          yield fromBinary(method.output, codecs.responseSerialize(next));
          taken();
          continue;
        }
        if (ended !== undefined) {
          if ("crash" in ended) {
            // Only reachable if logging itself threw; the runner's own failures come as outcomes.
            deps.logger.error({ method: method.name, err: ended.crash }, "stream handler failed");
            throw new ConnectError("internal error", Code.Internal);
          }
          const { failure } = ended.outcome;
          if (failure !== undefined) {
            throw connectErrorOf(failure);
          }
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      context.signal.removeEventListener("abort", onAbort);
      // Connect ended the generator early (the client left, a write failed): stop the body.
      gone.abort();
    }
  };
}

/**
 * The call as the runner takes it: the ts-proto request (or the marker of a body that did not
 * decode, left by tolerant-requests.ts), the authorization header, the request id.
 */
function incomingCall(
  method: DescMethod,
  codecs: MethodCodecs,
  message: Message,
  context: HandlerContext,
): IncomingCall {
  const record = httpCallOf(context.values);
  if (record !== undefined) record.handled = true;
  let request: unknown = record?.malformed;
  if (request === undefined) {
    try {
      const bytes = toBinary(method.input, message);
      request = codecs.requestDeserialize(
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      );
    } catch (error) {
      request = new MalformedRequest(`/${method.parent.typeName}/${method.name}`, error);
    }
  }
  return {
    method: method.name,
    transport: context.protocolName === "grpc-web" ? "grpc-web" : "connect",
    request,
    authorization: context.requestHeader.get("authorization") ?? undefined,
    requestId: requestIdOf(request, context.requestHeader.get("x-request-id") ?? undefined),
  };
}
